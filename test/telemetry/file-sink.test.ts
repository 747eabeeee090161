import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElectronLogFileSink } from '../../main/telemetry/file-sink.js';
import { Logger } from '../../main/telemetry/logger.js';
import { makeTempDir } from '../helpers/temp.js';

describe('log files', () => {
  it('are JSON lines, private to the user, and rotate past the size limit', () => {
    const temp = makeTempDir();
    try {
      const sink = new ElectronLogFileSink(`${temp.dir}/logs`, 'worker', 4096);
      const logger = Logger.create({ sink, bindings: { request_id: 'r-1' } });
      for (let index = 0; index < 100; index += 1) logger.info('line', { index, padding: 'x'.repeat(60) });

      const current = fs.readFileSync(sink.file, 'utf8').trim().split('\n');
      const archived = fs.readFileSync(`${temp.dir}/logs/worker.old.log`, 'utf8').trim().split('\n');
      for (const line of [...current, ...archived]) {
        expect(JSON.parse(line)).toMatchObject({ level: 'info', msg: 'line', request_id: 'r-1' });
      }
      expect(fs.statSync(sink.file).size).toBeLessThanOrEqual(4096 + 200);
      expect(JSON.parse(current.at(-1)!).index).toBe(99);
      expect(fs.statSync(sink.file).mode & 0o077).toBe(0);
    } finally {
      temp.remove();
    }
  });
});

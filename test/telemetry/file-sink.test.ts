import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ElectronLogFileSink } from '../../main/telemetry/file-sink.js';
import { Logger } from '../../main/telemetry/logger.js';
import { request } from '../helpers/http.js';
import { runCli } from '../helpers/serve.js';
import { listFiles, makeTempDir } from '../helpers/temp.js';

describe('log files', () => {
  it('are JSON lines, private to the user, and rotate past the size limit', async () => {
    const temp = makeTempDir();
    try {
      const sink = new ElectronLogFileSink(`${temp.dir}/logs`, 'worker', 4096);
      const logger = Logger.create({ sink, bindings: { request_id: 'r-1' } });
      // Lines arrive over many turns of the event loop, as requests do.
      for (let index = 0; index < 100; index += 1) {
        logger.info('line', { index, padding: 'x'.repeat(60) });
        await new Promise((resolve) => setImmediate(resolve));
      }
      sink.dispose();

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

  it('writes each line byte for byte, whatever it holds (format specifiers, style and template marks, escapes, non-ASCII)', () => {
    const temp = makeTempDir();
    try {
      const sink = new ElectronLogFileSink(`${temp.dir}/logs`, 'worker');
      const lines = [
        JSON.stringify({ msg: 'format marks', text: '100%% done %s %d %o %j %c {text} {level} {y}-{m}' }),
        JSON.stringify({ msg: 'escapes', text: '\u001b[31mred\u001b[0m "quoted" back\\slash' }),
        JSON.stringify({ msg: 'unicode', text: 'Grüße — 日本語 🚀' }),
      ];
      for (const line of lines) sink.write('info', line);
      sink.dispose();
      expect(fs.readFileSync(sink.file, 'utf8')).toBe(`${lines.join('\n')}\n`);
    } finally {
      temp.remove();
    }
  });

  it('lines of one burst are all written, and nothing pending is lost on dispose', () => {
    const temp = makeTempDir();
    try {
      const sink = new ElectronLogFileSink(`${temp.dir}/logs`, 'worker');
      const logger = Logger.create({ sink });
      for (let index = 0; index < 5000; index += 1) logger.info('burst', { index });
      sink.dispose();
      const lines = fs.readFileSync(sink.file, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(5000);
      expect(lines.map((line) => (JSON.parse(line) as { index: number }).index)).toEqual([...Array(5000).keys()]);
    } finally {
      temp.remove();
    }
  });

  it('are written by `agented serve` started from any directory (one with no package.json above it)', async () => {
    const temp = makeTempDir();
    const logDir = `${temp.dir}/logs`;
    const key = 'file-sink-test-key-0123456789abcdef';
    // The temp folder has no package.json, nor do its parents: electron-log found no app name there and wrote nothing.
    const cli = runCli({ cwd: temp.dir, env: { HOME: temp.dir, AGENTED_API_KEY: key, AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: logDir } });
    try {
      const { url } = await cli.ready;
      expect((await request(url, { path: '/health/ready', headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    } finally {
      expect(await cli.stop('SIGTERM')).toBe(0);
    }
    try {
      expect(listFiles(logDir).map((file) => file.slice(logDir.length + 1)).sort()).toEqual(['supervisor.log', 'worker.log']);
      const requests = fs.readFileSync(`${logDir}/worker.log`, 'utf8').split('\n').filter((line) => line.includes('"msg":"request"'));
      expect(requests.map((line) => JSON.parse(line) as { path: string })).toContainEqual(expect.objectContaining({ path: '/health/ready', status: 200 }));
    } finally {
      temp.remove();
    }
  });
});

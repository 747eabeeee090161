import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * What the worker does with a message from its supervisor that is not one of
 * the protocol's (a bug on the other side, a version mismatch): ignored, with
 * a log line saying so, and it goes on answering the ones it knows. The built
 * worker, forked as `agented serve` forks it.
 */
describe('messages from the supervisor', () => {
  it('a malformed one is ignored with a log line; the worker still stops when asked', async () => {
    const temp = makeTempDir();
    const logDir = path.join(temp.dir, 'logs');
    const worker = fork(path.join(repoRoot, 'dist', 'main', 'worker', 'main.js'), [], {
      env: { HOME: temp.dir, PATH: process.env.PATH ?? '/usr/bin:/bin', AGENTED_API_KEY: 'parent-messages-key-0123456789ab', AGENTED_DATA_DIR: path.join(temp.dir, 'data'), AGENTED_LOG_DIR: logDir, AGENTED_PORT: '0', AGENTED_LOG_STDOUT: '0' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    try {
      const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
      await new Promise<void>((resolve) => worker.on('message', (message: { type?: string }) => message.type === 'ready' && resolve()));
      worker.send({ type: 'bogus' });
      worker.send({ type: 'shutdown', policy: 'whenever' });
      worker.send({ type: 'shutdown' });
      expect(await exited).toBe(0);
      const lines = fs
        .readFileSync(path.join(logDir, 'worker.log'), 'utf8')
        .split('\n')
        .filter((line) => line.includes('malformed message from the supervisor'))
        .map((line) => JSON.parse(line) as { level: string; issues: string });
      expect(lines).toHaveLength(2);
      expect(lines.every((line) => line.level === 'warn' && line.issues.length > 0)).toBe(true);
    } finally {
      worker.kill('SIGKILL');
      temp.remove();
    }
  });
});

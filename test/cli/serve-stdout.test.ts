import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import { request } from '../helpers/http.js';
import { cliPath, groupGone, isAlive, type ReadyLine } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, untilTrue, within } from '../helpers/time.js';

const KEY = 'serve-stdout-test-key-0123456789abcdef';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `agented serve` (run by `argv`) in a home of its own, in a process group of its own that the test's end kills whole. */
function serve(argv: string[], home: string, stderr: 'pipe' | 'ignore') {
  const [command, ...args] = argv;
  const child = spawn(command!, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: path.join(home, 'data'), AGENTED_LOG_DIR: path.join(home, 'logs') },
    stdio: ['ignore', 'pipe', stderr],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    // Before the home is removed: the worker may outlive the leader for a moment, writing its log there.
    await exited;
    await groupGone(child.pid!);
  });
  return { child, exited };
}

describe('agented serve when its stdout goes away', () => {
  it('a reader that takes the ready line and closes the pipe ends neither the supervisor nor the worker', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const { child, exited } = serve(['node', cliPath, 'serve', '--port', '0'], temp.dir, 'pipe');
    const stderr: string[] = [];
    readline.createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
    const lines = readline.createInterface({ input: child.stdout! });
    const ready = await within(
      new Promise<ReadyLine>((resolve) => lines.on('line', (line) => line.startsWith('{"event":"ready"') && resolve(JSON.parse(line) as ReadyLine))),
      30_000,
      'the ready line',
    );
    // What `agented serve | head -n 1` does.
    lines.close();
    child.stdout!.destroy();
    const auth = { authorization: `Bearer ${KEY}` };
    const before = (await request(ready.url, { path: '/health/ready', headers: auth })).json<HealthReady>().pid;

    // Both processes log to stdout meanwhile (each request, the supervisor's own lines).
    for (let i = 0; i < 20; i += 1) {
      await request(ready.url, { path: '/health/ready', headers: auth }).catch(() => undefined);
      await sleep(50);
    }

    expect(isAlive(ready.pid), stderr.join('\n')).toBe(true);
    const after = await request(ready.url, { path: '/health/ready', headers: auth });
    expect(after.status).toBe(200);
    expect(after.json<HealthReady>().pid).toBe(before);
    process.kill(ready.pid, 'SIGTERM');
    expect(await within(exited, 20_000, 'agented serve exiting')).toBe(0);
  }, 60_000);

  it('with stderr on the same pipe (`agented serve 2>&1 | head -n 1`), the lines written after the reader left end neither process', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const logDir = path.join(temp.dir, 'logs');
    const { child, exited } = serve(['sh', '-c', `exec node "${cliPath}" serve --port 0 2>&1`], temp.dir, 'ignore');
    const lines = readline.createInterface({ input: child.stdout! });
    await within(new Promise((resolve) => lines.once('line', resolve)), 30_000, 'the first line');
    // What `head -n 1` does: it takes one line and goes, before the ready line and the login link on stderr.
    lines.close();
    child.stdout!.destroy();

    // Nobody reads the ready line now; the worker's log file says where it listens.
    const workerLog = path.join(logDir, 'worker.log');
    const listening = () => (fs.existsSync(workerLog) ? fs.readFileSync(workerLog, 'utf8').split('\n').find((line) => line.includes('"msg":"worker listening"')) : undefined);
    await untilTrue(() => listening() !== undefined, 'the worker listening', 30_000);
    const { url } = JSON.parse(listening()!) as { url: string };
    const auth = { authorization: `Bearer ${KEY}` };
    await untilTrue(async () => (await request(url, { path: '/health/ready', headers: auth }).catch(() => undefined))?.status === 200, 'the worker serving', 10_000);
    // Time for the login link to be written to the closed pipe.
    await sleep(1_000);

    expect(child.exitCode).toBe(null);
    expect((await request(url, { path: '/health/ready', headers: auth })).status).toBe(200);
    process.kill(child.pid!, 'SIGTERM');
    expect(await within(exited, 20_000, 'agented serve exiting')).toBe(0);
  }, 60_000);
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import { request } from '../helpers/http.js';
import { isAlive, linesWithMessage, runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { untilTrue, within } from '../helpers/time.js';

/*
 * `agented serve` prints its ready line (and the login link) once, when a
 * worker serves and has issued the link: not lost when the worker crashes
 * between saying it is ready and answering, and not printed again after a
 * restart.
 */
const KEY = 'serve-ready-line-test-key-0123456789';
const auth = { authorization: `Bearer ${KEY}` };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Loaded into both processes of `serve` (NODE_OPTIONS); in the worker, while
 * the switch file exists, it takes the worker down on the supervisor's
 * request for a login link, before the worker's own handler can answer.
 */
const crashOnLoginRequest = `
import fs from 'node:fs';
const switchFile = process.env.AGENTED_TEST_CRASH_SWITCH;
if (process.send && process.argv[1]?.endsWith('/worker/main.js')) {
  process.on('message', (message) => {
    if (message?.type !== 'issue-login-url' || !fs.existsSync(switchFile)) return;
    fs.rmSync(switchFile);
    process.exit(70);
  });
}
`;

async function workerPid(url: string): Promise<number | undefined> {
  const response = await request(url, { path: '/health/ready', headers: auth }).catch(() => undefined);
  return response?.status === 200 ? response.json<HealthReady>().pid : undefined;
}

describe('agented serve: the ready line', () => {
  it('comes from the restarted worker when the first crashed before it issued the login link, and only once', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const preload = path.join(temp.dir, 'crash-on-login-request.mjs');
    fs.writeFileSync(preload, crashOnLoginRequest);
    const crashSwitch = path.join(temp.dir, 'crash-on-login-request');
    fs.writeFileSync(crashSwitch, '');
    const server = runCli({
      env: {
        HOME: temp.dir,
        AGENTED_API_KEY: KEY,
        AGENTED_DATA_DIR: path.join(temp.dir, 'data'),
        AGENTED_LOG_DIR: path.join(temp.dir, 'logs'),
        NODE_OPTIONS: `--import=${preload}`,
        AGENTED_TEST_CRASH_SWITCH: crashSwitch,
      },
    });
    cleanups.push(() => server.killGroup('SIGKILL'));

    const ready = await within(server.ready, 20_000, 'the ready line');
    expect(fs.existsSync(crashSwitch)).toBe(false);
    expect(linesWithMessage(server, 'worker crashed; restarting')).toBe(1);
    // The link printed is the serving worker's: it logs the browser in.
    const link = new URL(ready.loginUrl);
    const login = await request(ready.url, { path: link.pathname + link.search });
    expect(login.status, login.body).toBe(303);
    await untilTrue(() => server.stderr.some((line) => line.startsWith('Open this one-time login link')), 'the login link on stderr', 5_000);

    // A later crash restarts the worker; the ready line is not printed again.
    const first = (await workerPid(ready.url))!;
    process.kill(first, 'SIGKILL');
    await untilTrue(async () => ((await workerPid(ready.url)) ?? first) !== first, 'a new worker serving', 10_000);
    expect(server.stdout.filter((line) => line.startsWith('{"event":"ready"'))).toHaveLength(1);
    expect(server.stderr.filter((line) => line.startsWith('Open this one-time login link'))).toHaveLength(1);

    expect(await within(server.stop('SIGTERM'), 15_000, 'serve stopping')).toBe(0);
    expect(isAlive(first)).toBe(false);
  }, 60_000);
});

import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { runCli, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { untilTrue, within } from '../helpers/time.js';

/* The login link `agented serve` prints says how long it is valid: the lifetime the worker gives its tokens, a stored one included. */

const KEY = 'serve-login-link-test-key-0123456789';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function serve(env: Record<string, string>): ServeProcess {
  const server = runCli({ env });
  cleanups.push(() => server.killGroup('SIGKILL'));
  return server;
}

/** The line above the link on stderr, written just after the ready line on stdout. */
async function validity(server: ServeProcess): Promise<string | undefined> {
  await server.ready;
  const line = () => server.stderr.find((text) => text.startsWith('Open this one-time login link'));
  await untilTrue(() => line() !== undefined, 'the login link on stderr', 5_000);
  return line();
}

describe('agented serve: the printed validity of the login link', () => {
  it('is the stored AGENTED_LOGIN_TOKEN_TTL_S after a restart, and the environment’s when it sets one', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const env = { HOME: temp.dir, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: path.join(temp.dir, 'data'), AGENTED_LOG_DIR: path.join(temp.dir, 'logs') };

    const first = serve(env);
    const ready = await first.ready;
    expect(await validity(first)).toBe('Open this one-time login link (valid for 300 s):');
    const patched = await request(ready.url, {
      method: 'PATCH',
      path: '/api/settings',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ loginTokenTtlSeconds: 10 }),
    });
    expect(patched.status, patched.body).toBe(200);
    expect(await within(first.stop('SIGTERM'), 15_000, 'the first serve stopping')).toBe(0);

    const second = serve(env);
    await second.ready;
    expect(await validity(second)).toBe('Open this one-time login link (valid for 10 s):');
    expect(await within(second.stop('SIGTERM'), 15_000, 'the second serve stopping')).toBe(0);

    const third = serve({ ...env, AGENTED_LOGIN_TOKEN_TTL_S: '42' });
    await third.ready;
    expect(await validity(third)).toBe('Open this one-time login link (valid for 42 s):');
  }, 60_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import type { KeyRotated } from '../../common/api.js';
import type { AuditEntry } from '../../common/audit.js';
import type { ErrorBody } from '../../common/errors.js';
import { request, type RawResponse } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { keychainHome, keyShowIn, lockKeyring, logFolderText, serveWithKeychain, type KeychainHome } from '../helpers/keychain-serve.js';
import type { ServeProcess } from '../helpers/serve.js';
import { untilTrue } from '../helpers/time.js';

/**
 * POST /api/key/rotate against `agented serve` with its key in a real Secret
 * Service (gnome-keyring): the new key applies at once, the old one is
 * refused, every session cookie signed before is refused but the browser
 * that asked gets a fresh one, and the new key reaches no log.
 */
const cleanups: (() => void | Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const home = (): KeychainHome => keychainHome(cleanups);

async function serve(keychain: KeychainHome): Promise<{ server: ServeProcess; url: string }> {
  const server = serveWithKeychain(keychain);
  // dbus-run-session wraps the CLI: end the whole group.
  cleanups.push(() => server.killGroup('SIGKILL'));
  const { url } = await server.ready;
  return { server, url };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const ready = (url: string, key: string) => request(url, { path: '/health/ready', headers: bearer(key) });

/** A browser session, as the login page gets one: the key once, the cookie back. */
async function sessionCookie(url: string, key: string): Promise<string> {
  const response = await request(url, { method: 'POST', path: '/api/session', headers: bearer(key) });
  expect(response.status).toBe(201);
  const cookie = (response.headers['set-cookie'] ?? [])[0];
  expect(cookie).toBeDefined();
  return cookie!.split(';')[0]!;
}

const rotate = (url: string, headers: Record<string, string>, body = '{}'): Promise<RawResponse> =>
  request(url, { method: 'POST', path: '/api/key/rotate', headers: { 'content-type': 'application/json', ...headers }, body });

describe('POST /api/key/rotate with the key in a real Secret Service (gnome-keyring)', () => {
  it('applies at once: the old key and the old cookies get 401, the new key (agented key show) works, the browser that asked stays signed in, the audit has it, no log has the new key', async () => {
    const keychain = home();
    const oldKey = await keyShowIn(keychain);
    const { server, url } = await serve(keychain);
    const cookie = await sessionCookie(url, oldKey);
    const otherBrowser = await sessionCookie(url, oldKey);

    // The page's own request: the session cookie and the page's Origin.
    const rotated = await rotate(url, { cookie, origin: url, 'x-request-id': 'rotate-from-settings' });
    expect(rotated.status, rotated.body).toBe(200);
    const answer = rotated.json<KeyRotated>();
    expect(answer).toEqual({ rotated: true, rotatedAt: expect.any(String) });
    expect(Date.parse(answer.rotatedAt)).not.toBeNaN();
    expect(rotated.body).not.toMatch(/agt_/);

    expect((await ready(url, oldKey)).status).toBe(401);
    const newKey = await keyShowIn(keychain);
    expect(newKey).toMatch(/^agt_[A-Za-z0-9_-]{43}$/);
    expect(newKey).not.toBe(oldKey);
    expect((await ready(url, newKey)).status).toBe(200);
    expect((await request(url, { path: '/api/triggers', headers: { 'x-api-key': newKey } })).status).toBe(200);

    // Cookies are signed with a key that follows the API key: every session ended, but the
    // browser that asked got a fresh cookie with its answer and is still signed in.
    expect((await request(url, { path: '/api/session', headers: { cookie: otherBrowser } })).status).toBe(401);
    expect((await request(url, { path: '/api/session', headers: { cookie } })).status).toBe(401);
    const fresh = (rotated.headers['set-cookie'] ?? [])[0]?.split(';')[0];
    expect(fresh).toMatch(/^agented_session_\d+=v2\./);
    expect((await request(url, { path: '/api/session', headers: { cookie: fresh! } })).status).toBe(200);

    const audit = await request(url, { path: '/api/audit', headers: bearer(newKey) });
    const entry = audit.json<{ items: AuditEntry[] }>().items.find((item) => item.action === 'key.rotated');
    expect(entry).toMatchObject({ action: 'key.rotated', actor: 'cookie', requestId: 'rotate-from-settings', targetId: null });
    expect(audit.body).not.toContain(newKey);

    // A request path that holds the new key is logged (every request is): the redactor must mask it.
    expect((await request(url, { path: `/api/no-such-${newKey}`, headers: bearer(newKey) })).status).toBe(404);
    await untilTrue(() => logFolderText(keychain.logDir).includes('/api/no-such-[REDACTED]'), 'the masked request line in the log folder', 10_000);
    const logs = logFolderText(keychain.logDir);
    expect(logs).toContain('API key rotated');
    expect(logs).not.toContain(newKey);
    expect(logs).not.toContain(oldKey);
    expect(server.stdout.join('\n')).not.toContain(newKey);
    expect(server.stderr.join('\n')).not.toContain(newKey);
  });

  it('refuses a cookie-authenticated rotation from another origin, and the key stays', async () => {
    const keychain = home();
    const key = await keyShowIn(keychain);
    const { url } = await serve(keychain);
    const cookie = await sessionCookie(url, key);

    for (const headers of <Record<string, string>[]>[{ cookie, origin: 'http://evil.example' }, { cookie }, { cookie, origin: url, 'sec-fetch-site': 'cross-site' }]) {
      const refused = await rotate(url, headers);
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(refused.json<ErrorBody>().error.code).toBe('ERR_ORIGIN_NOT_ALLOWED');
    }
    expect((await ready(url, key)).status).toBe(200);
    expect(await keyShowIn(keychain)).toBe(key);
  });

  it('with the keyring locked answers 503 ERR_KEYCHAIN_UNAVAILABLE and the old key stays in effect', async () => {
    const keychain = home();
    const key = await keyShowIn(keychain);
    const { url } = await serve(keychain);
    await lockKeyring(keychain);

    const refused = await rotate(url, bearer(key));
    expect(refused.status, refused.body).toBe(503);
    const error = refused.json<ErrorBody>().error;
    expect(error.code).toBe('ERR_KEYCHAIN_UNAVAILABLE');
    expect(error.message).toMatch(/unlock/);
    expect((await ready(url, key)).status).not.toBe(401);
    const audit = await request(url, { path: '/api/audit', headers: bearer(key) });
    expect(audit.json<{ items: AuditEntry[] }>().items.filter((item) => item.action === 'key.rotated')).toEqual([]);
    // The keyring itself (read again, unlocked, in a new session) still holds the old key.
    expect(await keyShowIn(keychain)).toBe(key);
  });
});

describe('POST /api/key/rotate with the key from AGENTED_API_KEY', () => {
  it('answers 409 ERR_KEY_FROM_ENVIRONMENT, says to change the variable, and the key keeps working', async () => {
    const server = await startInProcess();
    cleanups.push(() => server.close());
    const refused = await rotate(server.url, bearer(server.key));
    expect(refused.status).toBe(409);
    const error = refused.json<ErrorBody>().error;
    expect(error.code).toBe('ERR_KEY_FROM_ENVIRONMENT');
    expect(error.message).toMatch(/AGENTED_API_KEY/);
    expect((await ready(server.url, server.key)).status).toBe(200);
  });

  it('validates the body: an empty object or none; anything else is a 400', async () => {
    const server = await startInProcess();
    cleanups.push(() => server.close());
    expect((await request(server.url, { method: 'POST', path: '/api/key/rotate', headers: bearer(server.key) })).status).toBe(409);
    const invalid = await rotate(server.url, bearer(server.key), '{"apiKey":"agt_mine"}');
    expect(invalid.status).toBe(400);
    expect(invalid.json<ErrorBody>().error.code).toBe('ERR_VALIDATION');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoginTokens, SessionCookies } from '../../main/server/session.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server.close());

function cookieFrom(setCookie: string[] | undefined): string {
  const first = setCookie?.[0];
  if (!first) throw new Error('no Set-Cookie');
  return first.split(';')[0]!;
}

describe('one-time login link', () => {
  it('sets an HttpOnly SameSite=Strict cookie once, and the same token fails the second time', async () => {
    const loginUrl = new URL(server.worker.issueLoginUrl());
    const first = await request(server.url, { path: loginUrl.pathname + loginUrl.search });
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(new RegExp(`^agented_session_${server.port}=`));
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);

    const ready = await request(server.url, { path: '/health/ready', headers: { cookie: cookieFrom(first.headers['set-cookie']) } });
    expect(ready.status).toBe(200);

    const second = await request(server.url, { path: loginUrl.pathname + loginUrl.search, headers: { accept: 'application/json' } });
    expect(second.status).toBe(401);
    expect(second.json<{ error: { code: string } }>().error.code).toBe('ERR_LOGIN_TOKEN_INVALID');
  });

  it('a made-up token is refused', async () => {
    const response = await request(server.url, { path: '/auth/login?token=not-a-real-token', headers: { accept: 'application/json' } });
    expect(response.status).toBe(401);
  });

  it('tokens expire', () => {
    let now = 1_000_000;
    const tokens = new LoginTokens(60_000, () => now);
    const token = tokens.issue();
    now += 60_001;
    expect(tokens.consume(token)).toBe(false);
    const fresh = tokens.issue();
    expect(tokens.consume(fresh)).toBe(true);
    expect(tokens.consume(fresh)).toBe(false);
  });

  it('session cookies expire and are bound to the secret that signed them', () => {
    let now = 1_000_000_000_000;
    const secretA = Buffer.alloc(32, 1);
    const cookies = new SessionCookies(() => secretA, 3600, undefined, () => now);
    const { value } = cookies.create();
    expect(cookies.verify(value)).not.toBeNull();
    expect(new SessionCookies(() => Buffer.alloc(32, 2), 3600, undefined, () => now).verify(value)).toBeNull();
    now += 3600_001;
    expect(cookies.verify(value)).toBeNull();
  });
});

describe('cookie-authenticated changes need our own Origin', () => {
  async function sessionCookie(): Promise<string> {
    const response = await request(server.url, { method: 'POST', path: '/api/session', headers: { authorization: `Bearer ${server.key}` } });
    expect(response.status).toBe(201);
    return cookieFrom(response.headers['set-cookie']);
  }

  it('refuses a foreign or missing Origin and accepts the page origin', async () => {
    const cookie = await sessionCookie();
    const patch = (headers: Record<string, string>) =>
      request(server.url, { method: 'PATCH', path: '/api/settings', body: '{"logLevel":"info"}', headers: { cookie, 'content-type': 'application/json', ...headers } });

    const foreign = await patch({ origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.json<{ error: { code: string } }>().error.code).toBe('ERR_ORIGIN_NOT_ALLOWED');
    expect((await patch({})).status).toBe(403);
    expect((await patch({ origin: server.url, 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await patch({ origin: server.url, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });

  it('reads with a cookie need no Origin', async () => {
    const cookie = await sessionCookie();
    expect((await request(server.url, { path: '/api/settings', headers: { cookie } })).status).toBe(200);
  });

  it('logging out clears the cookie', async () => {
    const cookie = await sessionCookie();
    const response = await request(server.url, { method: 'DELETE', path: '/api/session', headers: { cookie, origin: server.url } });
    expect(response.status).toBe(204);
    expect(response.headers['set-cookie']?.[0]).toMatch(/Expires=Thu, 01 Jan 1970/);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { makeTempDir } from '../helpers/temp.js';
import { mountedRoutes, samplePath } from './routes-under-test.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server.close());

const isExempt = (auth: string) => auth === 'public' || auth === 'signature';

describe('auth matrix', () => {
  it('the route list is exactly what Express mounted, so no route escapes the matrix', () => {
    const listed = server.worker.app.routes.map((route) => `${route.method.toUpperCase()} ${route.path}`).sort();
    expect(mountedRoutes(server.worker.app.express)).toEqual(listed);
    expect(listed.length).toBeGreaterThanOrEqual(8);
  });

  it('only GET /health/live and /hooks/* are exempt from the key; only the UI\'s two routes serve part of their paths without it', () => {
    const shell = server.worker.app.routes.filter((route) => route.auth === 'shell');
    expect(shell.map((route) => `${route.method.toUpperCase()} ${route.path}`).sort()).toEqual(['GET /assets/{*file}', 'GET /{*path}']);
    for (const route of shell) expect(route.publicRequest, route.path).toBeTypeOf('function');

    const exempt = server.worker.app.routes.filter((route) => isExempt(route.auth));
    for (const route of exempt) {
      const allowed = (route.method === 'get' && route.path === '/health/live') || route.path.startsWith('/hooks/');
      expect(allowed, `${route.method} ${route.path} must not be public`).toBe(true);
    }
    expect(exempt.map((route) => route.path)).toContain('/health/live');
  });

  it('every keyed route answers 401 without a key, with a wrong key, and not 401 with the right key', async () => {
    const keyed = server.worker.app.routes.filter((route) => !isExempt(route.auth));
    for (const route of keyed) {
      const method = route.method.toUpperCase();
      const path = samplePath(route);
      const label = `${method} ${path}`;
      const body = route.body ? '{}' : undefined;
      // The UI routes serve HTML navigations without a key (the app shell, tested below): ask them for JSON here.
      const jsonHeaders: Record<string, string> = { ...(body ? { 'content-type': 'application/json' } : {}), ...(route.auth === 'shell' ? { accept: 'application/json' } : {}) };

      const none = await request(server.url, { method, path, body, headers: { ...jsonHeaders, accept: 'application/json' } });
      expect(none.status, `${label} without a key`).toBe(401);
      expect(none.json<{ error: { code: string } }>().error.code, label).toMatch(/^ERR_(UNAUTHORIZED|LOGIN_TOKEN_INVALID)$/);

      // Two different keys (one of them right) are a wrong key too: neither is silently ignored.
      const twoKeys = [{ authorization: `Bearer ${server.key}`, 'x-api-key': `${server.key}x` }, { authorization: 'Bearer wrong-key-0123456789abcdefghijkl', 'x-api-key': server.key }];
      for (const wrong of <Record<string, string>[]>[{ authorization: 'Bearer wrong-key-0123456789abcdefghijkl' }, { 'x-api-key': `${server.key}x` }, { authorization: 'Bearer ' }, ...twoKeys]) {
        const response = await request(server.url, { method, path, body, headers: { ...jsonHeaders, ...wrong } });
        expect(response.status, `${label} with ${JSON.stringify(wrong)}`).toBe(401);
      }

      for (const right of <Record<string, string>[]>[{ authorization: `Bearer ${server.key}` }, { 'x-api-key': server.key }]) {
        const response = await request(server.url, { method, path, body, headers: { ...jsonHeaders, ...right } });
        expect(response.status, `${label} with the right key`).not.toBe(401);
        expect(response.status, `${label} with the right key`).toBeLessThan(500);
      }
    }
  });

  it('the public liveness route says ok and nothing else', async () => {
    const response = await request(server.url, { path: '/health/live' });
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('a tampered session cookie is refused', async () => {
    const cookieName = `agented_session_${server.port}`;
    const response = await request(server.url, { path: '/health/ready', headers: { cookie: `${cookieName}=v1.9999999999.AAAAAAAAAAAAAAAA.${'A'.repeat(43)}` } });
    expect(response.status).toBe(401);
  });
});

/**
 * The app shell is public so that a browser without a session (a cold start,
 * an expired cookie) gets the app's own login page, which takes the one-time
 * link or a pasted key. Public, exactly: index.html for a browser opening a
 * page of the app (Accept prefers HTML, outside /api/, /health/, /hooks/,
 * /auth/), and the files of the build's assets/ folder that carry Vite's
 * content hash in their name. Neither holds data: what the app shows comes
 * from /api/*, which stays keyed. Not public: source maps, any other file of
 * the build, anything asked for as JSON.
 */
describe('auth matrix: the public app shell', () => {
  const INDEX = '<!doctype html><title>shell</title><script type="module" src="/assets/index-AbCd_123.js"></script>';
  const SCRIPT = 'console.log("app");';
  const rendererDir = makeTempDir('agented-renderer-');
  let ui: InProcessServer;
  const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  const key = () => ({ authorization: `Bearer ${ui.key}` });

  beforeAll(async () => {
    fs.mkdirSync(path.join(rendererDir.dir, 'assets'));
    fs.writeFileSync(path.join(rendererDir.dir, 'index.html'), INDEX);
    fs.writeFileSync(path.join(rendererDir.dir, 'assets', 'index-AbCd_123.js'), SCRIPT);
    fs.writeFileSync(path.join(rendererDir.dir, 'assets', 'index-Zz9-Yy8x.css'), 'body{}');
    fs.writeFileSync(path.join(rendererDir.dir, 'assets', 'index-AbCd_123.js.map'), '{"sources":["main.ts"]}');
    fs.writeFileSync(path.join(rendererDir.dir, 'assets', 'notes.txt'), 'not hashed');
    fs.writeFileSync(path.join(rendererDir.dir, 'robots.txt'), 'a file of the build');
    ui = await startInProcess({}, { rendererDir: rendererDir.dir });
  });
  afterAll(async () => {
    await ui.close();
    rendererDir.remove();
  });

  it('index.html is served without a key for every page of the app, with the security headers', async () => {
    const cookieName = `agented_session_${ui.port}`;
    for (const [path, headers] of <[string, Record<string, string>][]>[
      ['/', html],
      ['/login', html],
      ['/executions/01JD0000000000000000000000?x=1', html],
      ['/index.html', html],
      // A file of the build asked for as a page: the shell, never the file, without a key.
      ['/robots.txt', html],
      // A cookie from an ended session must not keep the login page from loading.
      ['/', { ...html, cookie: `${cookieName}=v1.1.AAAAAAAAAAAAAAAA.${'A'.repeat(43)}` }],
    ]) {
      const response = await request(ui.url, { path, headers });
      expect(response.status, path).toBe(200);
      expect(response.body, path).toBe(INDEX);
      expect(response.headers['content-type'], path).toMatch(/^text\/html/);
      expect(response.headers['cache-control'], path).toBe('no-cache');
      expect(response.headers['content-security-policy'], path).toContain("script-src 'self'");
      expect(response.headers['x-content-type-options'], path).toBe('nosniff');
      expect(response.headers['x-frame-options'], path).toBe('SAMEORIGIN');
      expect(response.headers['cross-origin-resource-policy'], path).toBe('same-origin');
    }
  });

  it('hashed assets are served without a key, cacheable for good', async () => {
    const script = await request(ui.url, { path: '/assets/index-AbCd_123.js' });
    expect(script.status).toBe(200);
    expect(script.body).toBe(SCRIPT);
    expect(script.headers['cache-control']).toContain('immutable');
    expect(script.headers['content-security-policy']).toContain("default-src 'self'");
    const style = await request(ui.url, { path: '/assets/index-Zz9-Yy8x.css' });
    expect(style.status).toBe(200);
    expect(style.headers['content-type']).toMatch(/^text\/css/);
    // A hashed name that is not in the build: nothing to hide, a plain 404.
    const missing = await request(ui.url, { path: '/assets/other-AbCd_123.js' });
    expect(missing.status).toBe(404);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('ERR_NOT_FOUND');
  });

  it('everything else needs the key: source maps, unhashed files, JSON requests, the API as a page', async () => {
    const keyed: [string, Record<string, string>, number][] = [
      ['/assets/index-AbCd_123.js.map', {}, 200],
      ['/assets/notes.txt', {}, 200],
      ['/assets/notes.txt', html, 200],
      ['/robots.txt', { accept: 'application/json' }, 200],
      ['/robots.txt', { accept: 'text/plain' }, 200],
      ['/some/page', { accept: 'application/json' }, 404],
      ['/api/session', html, 200],
      ['/api/no-such-route', html, 404],
      ['/health/ready', html, 200],
    ];
    for (const [path, headers, withKey] of keyed) {
      const none = await request(ui.url, { path, headers });
      expect(none.status, `${path} ${JSON.stringify(headers)} without a key`).toBe(401);
      expect(none.body, path).not.toContain('shell');
      const right = await request(ui.url, { path, headers: { ...headers, ...key() } });
      expect(right.status, `${path} ${JSON.stringify(headers)} with the key`).toBe(withKey);
    }
    // With the key, the build's other files are served as themselves.
    expect((await request(ui.url, { path: '/robots.txt', headers: { accept: 'text/plain', ...key() } })).body).toBe('a file of the build');
  });

  it('the Host allowlist still guards the shell (DNS rebinding)', async () => {
    for (const path of ['/', '/assets/index-AbCd_123.js']) {
      const response = await request(ui.url, { path, headers: { ...html, host: `evil.example:${ui.port}` } });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.body, path).not.toContain('shell');
      expect(response.body, path).not.toContain(SCRIPT);
    }
  });

  it('a 401 page for a browser points to the app\'s sign-in page', async () => {
    const response = await request(ui.url, { path: '/api/triggers', headers: html });
    expect(response.status).toBe(401);
    expect(response.body).toContain('href="/login"');
  });
});

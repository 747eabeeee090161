import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
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

  it('only GET /health/live and /hooks/* are exempt from the key', () => {
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
      const jsonHeaders: Record<string, string> = body ? { 'content-type': 'application/json' } : {};

      const none = await request(server.url, { method, path, body, headers: { ...jsonHeaders, accept: 'application/json' } });
      expect(none.status, `${label} without a key`).toBe(401);
      expect(none.json<{ error: { code: string } }>().error.code, label).toMatch(/^ERR_(UNAUTHORIZED|LOGIN_TOKEN_INVALID)$/);

      for (const wrong of <Record<string, string>[]>[{ authorization: 'Bearer wrong-key-0123456789abcdefghijkl' }, { 'x-api-key': `${server.key}x` }, { authorization: 'Bearer ' }]) {
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

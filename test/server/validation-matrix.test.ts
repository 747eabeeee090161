import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, type RawResponse } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { samplePath } from './routes-under-test.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server.close());

const GARBAGE_BODIES = ['[]', '{}', 'null', '42', '{"unexpected":true}', '{"__proto__":{"polluted":true}}', `{"name":"${'x'.repeat(5000)}"}`, '{"a":'];
const GARBAGE_QUERY = `?limit=-5&cursor=${'z'.repeat(300)}&period=decade&status=sleeping&refresh=maybe&after=-1&trigger=%00`;

function expectClientError(response: RawResponse, label: string): void {
  expect(response.status, label).toBeGreaterThanOrEqual(200);
  expect(response.status, `${label}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
  if (response.status >= 400) {
    expect(response.headers['content-type'], label).toMatch(/^application\/json/);
    expect(response.json<{ error: { code: string } }>().error.code, label).toMatch(/^ERR_/);
  }
}

/**
 * Every keyed route, enumerated from the route list like the auth matrix:
 * malformed bodies, parameters and queries get a 4xx JSON error (or a normal
 * answer), never a 5xx, and the worker keeps serving.
 */
describe('validation matrix', () => {
  it('every route answers garbage with a 4xx JSON error, never a 5xx', async () => {
    const routes = server.worker.app.routes.filter((route) => route.auth === 'key' || route.auth === 'login' || route.auth === 'shell');
    expect(routes.length).toBeGreaterThan(20);
    const headers = { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' };
    // Real ids, so bodies reach their validation instead of stopping at a malformed id.
    const post = async (path: string, body: unknown) => (await request(server.url, { method: 'POST', path, headers, body: JSON.stringify(body) })).json<Record<string, string>>();
    const trigger = (await post('/api/triggers', { name: 'matrix', kind: 'manual', promptTemplate: 'hello' })).id!;
    const ids: Record<string, string> = {
      '/api/triggers/': trigger,
      '/api/executions/': (await post(`/api/triggers/${trigger}/run`, { params: {} })).executionId!,
      '/api/accounts/': (await post('/api/accounts', { backend: 'codex', name: 'matrix', apiKey: 'sk-matrix-0123456789' })).id!,
      '/api/budgets/': (await post('/api/budgets', { scope: 'global', period: 'day', limitUsd: 1000 })).id!,
    };
    const realPath = (path: string) => {
      const prefix = Object.keys(ids).find((candidate) => path.startsWith(candidate));
      return prefix ? path.replace(':id', ids[prefix]!) : samplePath({ path } as Parameters<typeof samplePath>[0]);
    };
    for (const route of routes) {
      const method = route.method.toUpperCase();
      // DELETE keeps the malformed sample id: the objects are needed by the routes after it.
      const path = method === 'DELETE' ? samplePath(route) : realPath(route.path);
      expectClientError(await request(server.url, { method, path: path + GARBAGE_QUERY, headers, body: method === 'GET' ? undefined : '{}' }), `${method} ${path} with a garbage query`);
      if (route.params) {
        const invalid = await request(server.url, { method, path: samplePath(route), headers, body: method === 'GET' ? undefined : '{}' });
        expect(invalid.status, `${method} ${path}: a malformed id`).toBe(400);
      }
      if (!route.body) continue;
      for (const body of GARBAGE_BODIES) {
        expectClientError(await request(server.url, { method, path, headers, body }), `${method} ${path} with ${body.slice(0, 40)}`);
      }
    }
    expect((await request(server.url, { path: '/health/live' })).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

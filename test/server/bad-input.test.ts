import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, type RawResponse } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess({ AGENTED_MAX_BODY_BYTES: '4096' });
});
afterAll(() => server.close());

function expectJsonError(response: RawResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json<{ error: { code: string; message: string } }>();
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
}

const auth = () => ({ authorization: `Bearer ${server.key}` });
const patchSettings = (body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  request(server.url, { method: 'PATCH', path: '/api/settings', body, headers: { ...auth(), ...headers } });

describe('bad input gets a 4xx JSON error, never a 5xx', () => {
  it('an oversize body → 413', async () => {
    expectJsonError(await patchSettings(JSON.stringify({ corsOrigins: ['x'.repeat(8000)] })), 413, 'ERR_BODY_TOO_LARGE');
  });

  it('invalid JSON → 400', async () => {
    expectJsonError(await patchSettings('{"logLevel": '), 400, 'ERR_BAD_JSON');
    expectJsonError(await patchSettings('"just a string"'), 400, 'ERR_BAD_JSON');
  });

  it('a key named __proto__, at any depth → 400, and nothing is changed (a schema never sees such a key: it was dropped, and the price table emptied)', async () => {
    const prices = { claude: { inputPerMTok: 3, outputPerMTok: 15 } };
    expect((await patchSettings(JSON.stringify({ prices }))).status).toBe(200);
    expectJsonError(await patchSettings('{"prices":{"__proto__":{"inputPerMTok":1,"outputPerMTok":2}}}'), 400, 'ERR_BAD_JSON');
    expectJsonError(await patchSettings('{"__proto__":{"logLevel":"debug"}}'), 400, 'ERR_BAD_JSON');
    const stored = await request(server.url, { path: '/api/settings', headers: auth() });
    expect(stored.json<{ settings: { prices: { value: unknown } } }>().settings.prices.value).toEqual(prices);
  });

  it('a wrong content type → 415', async () => {
    expectJsonError(await patchSettings('logLevel=debug', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
    expectJsonError(await patchSettings('{"logLevel":"debug"}', { 'content-type': 'text/plain' }), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('invalid UTF-8 → 400', async () => {
    const body = Buffer.concat([Buffer.from('{"logLevel":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
    expectJsonError(await patchSettings(body), 400, 'ERR_BAD_ENCODING');
  });

  it('a schema violation → 400 naming the field, and nothing is stored', async () => {
    const response = await patchSettings(JSON.stringify({ maxConcurrent: 0, corsOrigins: ['not an origin'] }));
    expectJsonError(response, 400, 'ERR_VALIDATION');
    const paths = response.json<{ error: { issues: { path: string }[] } }>().error.issues.map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['body.maxConcurrent', 'body.corsOrigins']));
    expectJsonError(await patchSettings(JSON.stringify({ unknownSetting: 1 })), 400, 'ERR_VALIDATION');
    const settings = await request(server.url, { path: '/api/settings', headers: auth() });
    expect(settings.json<{ settings: Record<string, { source: string }> }>().settings.maxConcurrent?.source).toBe('default');
  });

  it('10 KB header values → 4xx or a normal answer, never 5xx', async () => {
    const big = 'a'.repeat(10 * 1024);
    const cases: Record<string, string>[] = [
      { authorization: `Bearer ${big}` },
      { 'x-api-key': big },
      { cookie: `agented_session_${server.port}=${big}` },
      { 'x-request-id': big, ...auth() },
      { origin: `http://${big}`, ...auth() },
      { host: big },
      { 'x-custom': big, ...auth() },
      { accept: big, ...auth() },
    ];
    for (const headers of cases) {
      const response = await request(server.url, { path: '/health/ready', headers });
      expect(response.status, Object.keys(headers).join(',')).toBeLessThan(500);
      expect(response.headers['content-type']).toMatch(/json/);
    }
  });

  it('an unknown route → 404 JSON (with the key)', async () => {
    expectJsonError(await request(server.url, { path: '/api/no-such-thing', headers: auth() }), 404, 'ERR_NOT_FOUND');
    expectJsonError(await request(server.url, { method: 'POST', path: '/health/live' }), 401, 'ERR_UNAUTHORIZED');
    expectJsonError(await request(server.url, { method: 'POST', path: '/health/live', headers: auth() }), 404, 'ERR_NOT_FOUND');
  });

  it('a body that never finishes is dropped without hurting the server', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`PATCH /api/settings HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${server.key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"log`);
    socket.destroy();
    const after = await request(server.url, { path: '/health/live' });
    expect(after.status).toBe(200);
  });

  it('a malformed request line gets a 400 from Node, and the server keeps serving', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(server.port, '127.0.0.1', () => socket.write('GARBAGE \x00\x01 HTTP/9\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect((await request(server.url, { path: '/health/live' })).status).toBe(200);
  });
});

describe('filters and methods', () => {
  it('an instant past year 9999 in UTC is refused (stored times compare as text, and `+010000-…` sorts before every 2026 time: such an until matched nothing, such a since everything)', async () => {
    const farFuture = encodeURIComponent('9999-12-31T23:59:59-05:00');
    for (const path of [`/api/executions?until=${farFuture}`, `/api/executions/summary?until=${farFuture}`, `/api/audit?since=${farFuture}`]) {
      const response = await request(server.url, { path, headers: auth() });
      expectJsonError(response, 400, 'ERR_VALIDATION');
      expect(response.json<{ error: { issues: { path: string }[] } }>().error.issues[0]?.path, path).toMatch(/^query\.(since|until)$/);
    }
    const latest = await request(server.url, { path: `/api/executions?until=${encodeURIComponent('9999-12-31T23:59:59Z')}`, headers: auth() });
    expect(latest.status).toBe(200);
  });

  it('a HEAD of an event stream is answered at once (Node sends no headers for a HEAD before its end, which a stream never reaches: the request hung)', async () => {
    const answer = await Promise.race([
      request(server.url, { method: 'HEAD', path: '/api/events', headers: auth() }),
      new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error('no answer to HEAD /api/events within 3 s')), 3_000)),
    ]);
    expect(answer.status).toBe(404);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect((await request(server.url, { method: 'HEAD', path: '/api/events' })).status).toBe(401);
    expect((await request(server.url, { path: '/health/live' })).status).toBe(200);
  });
});

describe('request ids', () => {
  it('a sane X-Request-Id is echoed; an unsafe one is replaced', async () => {
    const sane = await request(server.url, { path: '/health/live', headers: { 'x-request-id': 'abc-123.DEF_4:5' } });
    expect(sane.headers['x-request-id']).toBe('abc-123.DEF_4:5');
    for (const unsafe of ['has space', 'x'.repeat(200), '<script>', 'a/b"c', '']) {
      const response = await request(server.url, { path: '/health/live', headers: { 'x-request-id': unsafe } });
      expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    const generated = await request(server.url, { path: '/health/live' });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('errors carry the request id', async () => {
    const response = await request(server.url, { path: '/health/ready', headers: { 'x-request-id': 'trace-42' } });
    expect(response.json<{ error: { requestId: string } }>().error.requestId).toBe('trace-42');
  });
});

describe('stored settings', () => {
  it('a valid patch is stored and shown with its source; environment still wins', async () => {
    const response = await patchSettings(JSON.stringify({ maxConcurrent: 4, corsOrigins: ['https://a.example'] }));
    expect(response.status).toBe(200);
    const settings = response.json<{ settings: Record<string, { value: unknown; source: string; restartRequired: boolean; env: string }> }>().settings;
    expect(settings.maxConcurrent).toMatchObject({ source: 'stored', restartRequired: true, env: 'AGENTED_MAX_CONCURRENT', value: 2 });
    expect(settings.maxBodyBytes).toMatchObject({ source: 'environment', value: 4096 });
    expect(settings.apiKey).toBeUndefined();
    const audit = await request(server.url, { path: '/api/audit', headers: auth() });
    expect(audit.json<{ items: { action: string; detail: Record<string, unknown> }[] }>().items[0]).toMatchObject({
      action: 'settings.updated',
      detail: { settings: { maxConcurrent: 4, corsOrigins: ['https://a.example'] } },
    });
  });
});

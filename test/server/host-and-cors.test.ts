import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { samplePath } from './routes-under-test.js';

const LISTED_ORIGIN = 'https://dashboard.example';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess({ AGENTED_CORS_ORIGINS: LISTED_ORIGIN });
});
afterAll(() => server.close());

/** The status line of the answer to a request written byte for byte (http.request sends one Host and an origin-form path). */
function rawStatusLine(port: number, requestText: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(requestText));
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('close', () => resolve(data.split('\r\n')[0]!));
    socket.on('error', reject);
  });
}

describe('DNS rebinding defence', () => {
  it('a foreign Host header gets 403 on every route, with or without the key', async () => {
    for (const route of server.worker.app.routes) {
      const method = route.method.toUpperCase();
      for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1.evil.example:${server.port}`]) {
        for (const headers of <Record<string, string>[]>[{ host }, { host, authorization: `Bearer ${server.key}` }]) {
          const response = await request(server.url, { method, path: samplePath(route), headers });
          expect(response.status, `${method} ${route.path} Host: ${host}`).toBe(403);
          expect(response.json<{ error: { code: string } }>().error.code).toBe('ERR_HOST_NOT_ALLOWED');
        }
      }
    }
  });

  // RFC 9112 §3.2: more than one Host is a bad request; a proxy in front may go by the other one.
  it('a request with two Host headers is refused, whichever comes first', async () => {
    for (const path of ['/health/live', '/hooks/trg_none']) {
      for (const hosts of [['127.0.0.1', 'evil.example'], ['evil.example', '127.0.0.1'], ['127.0.0.1', '127.0.0.1']]) {
        const lines = hosts.map((host) => `Host: ${host}:${server.port}\r\n`).join('');
        const method = path.startsWith('/hooks/') ? 'POST' : 'GET';
        const statusLine = await rawStatusLine(server.port, `${method} ${path} HTTP/1.1\r\n${lines}Content-Length: 0\r\nConnection: close\r\n\r\n`);
        expect(statusLine, `${method} ${path} ${hosts.join(' + ')}`).toBe('HTTP/1.1 403 Forbidden');
      }
    }
  });

  // RFC 9112 §3.2.2: a server goes by the authority of an absolute-form request target, not by Host.
  it('an absolute-form request target is checked by its authority as well as by the Host header', async () => {
    const send = (target: string, host = `127.0.0.1:${server.port}`) =>
      rawStatusLine(server.port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${server.key}\r\nConnection: close\r\n\r\n`);
    for (const authority of ['evil.example', `evil.example:${server.port}`, `127.0.0.1@evil.example:${server.port}`]) {
      expect(await send(`http://${authority}/health/ready`), authority).toBe('HTTP/1.1 403 Forbidden');
    }
    expect(await send(`http://127.0.0.1:${server.port}/health/ready`, 'evil.example')).toBe('HTTP/1.1 403 Forbidden');
    expect(await send(`http://localhost:${server.port}/health/ready`)).toBe('HTTP/1.1 200 OK');
  });

  it('loopback names are accepted', async () => {
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `LOCALHOST:${server.port}`, `[::1]:${server.port}`]) {
      const response = await request(server.url, { path: '/health/live', headers: { host } });
      expect(response.status, host).toBe(200);
    }
  });
});

describe('CORS fails closed', () => {
  const preflight = (origin: string) =>
    request(server.url, {
      method: 'OPTIONS',
      path: '/api/settings',
      headers: { origin, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' },
    });

  it('a preflight from an unlisted origin gets no allow header', async () => {
    const response = await preflight('https://attacker.example');
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['access-control-allow-methods']).toBeUndefined();
    expect(response.status).toBe(403);
  });

  it('a preflight from a listed origin is allowed for that origin only', async () => {
    const response = await preflight(LISTED_ORIGIN);
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(LISTED_ORIGIN);
    expect(response.headers['access-control-allow-headers']).toMatch(/authorization/i);
    expect(response.headers.vary).toMatch(/origin/i);
  });

  it('simple requests carry the allow header only for listed origins', async () => {
    const headers = { authorization: `Bearer ${server.key}` };
    const unlisted = await request(server.url, { path: '/health/ready', headers: { ...headers, origin: 'https://attacker.example' } });
    expect(unlisted.headers['access-control-allow-origin']).toBeUndefined();
    const listed = await request(server.url, { path: '/health/ready', headers: { ...headers, origin: LISTED_ORIGIN } });
    expect(listed.headers['access-control-allow-origin']).toBe(LISTED_ORIGIN);
  });

  it('a webhook delivery gets the same CORS headers on the fast path as through Express', async () => {
    const created = await request(server.url, {
      method: 'POST',
      path: '/api/triggers',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'cors', kind: 'webhook', promptTemplate: 'x', signature: { scheme: 'hmac-sha256', header: 'X-Signature' } }),
    });
    const { id } = created.json<{ id: string }>();
    const corsHeaders = (headers: Record<string, unknown>) => Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith('access-control-') || name === 'vary'));
    for (const origin of [LISTED_ORIGIN, 'https://attacker.example']) {
      // A query string sends a delivery through Express (the fast path takes only the plain path).
      const [fast, viaExpress] = await Promise.all(
        [`/hooks/${id}`, `/hooks/${id}?via=express`].map((path) =>
          request(server.url, { method: 'POST', path, headers: { origin, 'content-type': 'application/json', 'x-signature': 'sha256=00' }, body: '{}' }),
        ),
      );
      expect([fast!.status, viaExpress!.status]).toEqual([401, 401]);
      expect(corsHeaders(fast!.headers), origin).toEqual(corsHeaders(viaExpress!.headers));
      expect(fast!.headers['access-control-allow-origin'], origin).toBe(origin === LISTED_ORIGIN ? LISTED_ORIGIN : undefined);
    }
  });

  it('with no origins configured, even a preflight from the page itself gets no allow header', async () => {
    const plain = await startInProcess();
    try {
      const response = await request(plain.url, {
        method: 'OPTIONS',
        path: '/health/ready',
        headers: { origin: plain.url, 'access-control-request-method': 'GET' },
      });
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await plain.close();
    }
  });
});

describe('OPTIONS that is not a preflight', () => {
  it('says nothing about which paths and methods exist: 401 without the key, a JSON 404 with it, never an Allow list', async () => {
    for (const route of server.worker.app.routes) {
      for (const headers of <Record<string, string>[]>[{}, { authorization: `Bearer ${server.key}` }]) {
        const response = await request(server.url, { method: 'OPTIONS', path: samplePath(route), headers });
        const label = `OPTIONS ${route.path} ${headers.authorization ? 'with' : 'without'} the key`;
        expect(response.status, label).toBe(headers.authorization ? 404 : 401);
        expect(response.headers.allow, label).toBeUndefined();
        expect(response.json<{ error: { code: string } }>().error.code, label).toBe(headers.authorization ? 'ERR_NOT_FOUND' : 'ERR_UNAUTHORIZED');
      }
    }
  });
});

describe('security headers', () => {
  it('helmet headers and a strict CSP are on every response', async () => {
    const response = await request(server.url, { path: '/health/live' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(response.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(response.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response.headers['x-powered-by']).toBeUndefined();
  });

  it('a webhook answered on the fast path carries the same headers as one answered through Express', async () => {
    const created = await request(server.url, {
      method: 'POST',
      path: '/api/triggers',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'headers', kind: 'webhook', promptTemplate: 'x', signature: { scheme: 'hmac-sha256', header: 'X-Signature' } }),
    });
    const { id } = created.json<{ id: string }>();
    const deliver = (path: string, requestId: string) =>
      request(server.url, { method: 'POST', path, headers: { 'content-type': 'application/json', 'x-signature': 'sha256=00', 'x-request-id': requestId }, body: '{}' });
    // A query string sends a delivery through Express (the fast path takes only the plain path).
    const [fast, viaExpress] = [await deliver(`/hooks/${id}`, 'fast-1'), await deliver(`/hooks/${id}?via=express`, 'express-1')];
    expect([fast.status, viaExpress.status]).toEqual([401, 401]);
    const comparable = (headers: Record<string, unknown>) => {
      const { date: _date, 'x-request-id': _id, 'content-length': _length, ...rest } = headers;
      return rest;
    };
    expect(comparable(fast.headers)).toEqual(comparable(viaExpress.headers));
    expect(fast.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(fast.headers['x-content-type-options']).toBe('nosniff');
    expect([fast.headers['x-request-id'], viaExpress.headers['x-request-id']]).toEqual(['fast-1', 'express-1']);
    // A foreign Host on the fast path: refused, and the refusal has the headers too.
    const foreign = await request(server.url, { method: 'POST', path: `/hooks/${id}`, headers: { host: 'evil.example', 'content-type': 'application/json' }, body: '{}' });
    expect(foreign.status).toBe(403);
    expect(comparable(foreign.headers)).toEqual(comparable(viaExpress.headers));
  });
});

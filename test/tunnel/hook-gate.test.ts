import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery, TriggerCreated } from '../../common/triggers.js';
import type { RelayedRequest } from '../../main/tunnel/hook-forwarding.js';
import { HookGate } from '../../main/tunnel/hook-gate.js';
import { githubExample, githubHeaders } from '../helpers/github-deliveries.js';
import { request, type RawResponse } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

/*
 * The gate ngrok forwards to: whatever ngrok is asked for arrives here as raw
 * HTTP with the public Host, and only POST /hooks/<trigger> goes on, bytes
 * unchanged. (ngrok itself cannot run here; this is everything after it.)
 */

let server: InProcessServer;
let gate: HookGate;
let trigger: TriggerCreated;
const refused: { request: RelayedRequest; reason: string }[] = [];
const publicHost = 'agented-test.ngrok-free.app';

function api(method: string, urlPath: string, body?: unknown): Promise<RawResponse> {
  return request(server.url, {
    method,
    path: urlPath,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${server.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
}

/** A request as ngrok hands it on: the public Host, and X-Forwarded-* headers. */
function viaTunnel(method: string, urlPath: string, body?: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  return request(gate.url, { method, path: urlPath, body, headers: { host: publicHost, 'x-forwarded-for': '140.82.115.1', 'x-forwarded-proto': 'https', ...headers } });
}

beforeAll(async () => {
  server = await startInProcess({ AGENTED_MAX_HOOK_BODY_BYTES: String(64 * 1024) });
  gate = await HookGate.start({ provider: 'ngrok', target: server.url, maxBodyBytes: server.worker.config.maxHookBodyBytes, logger: server.worker.logger, onRefused: (request, reason) => refused.push({ request, reason }) });
  trigger = (await api('POST', '/api/triggers', { name: 'review', kind: 'github', promptTemplate: 'Review {{payload.pull_request.title}}', github: { events: ['pull_request.opened'] } })).json<TriggerCreated>();
});
afterAll(async () => {
  await gate.dispose();
  await server.close();
});

describe('hook gate (the upstream of ngrok)', () => {
  it('passes a delivery on with its bytes unchanged: an indented, signed body verifies', async () => {
    const body = JSON.stringify(githubExample('pull_request', 'opened'), null, 2);
    const headers = { ...githubHeaders({ secret: trigger.secret!, event: 'pull_request', body }), 'content-length': String(Buffer.byteLength(body)) };
    const response = await viaTunnel('POST', `/hooks/${trigger.id}`, body, headers);
    expect(response.status, response.body).toBe(202);
    expect(response.json<{ executionId: string }>().executionId).toMatch(/^exe_/);
    expect(response.headers['x-request-id']).toBeDefined();
    const [delivery] = (await api('GET', `/api/triggers/${trigger.id}/deliveries`)).json<{ items: Delivery[] }>().items;
    expect(delivery).toMatchObject({ verified: true, outcome: 'execution' });
    expect(delivery!.headers['x-forwarded-for']).toBe('140.82.115.1');
  });

  it('passes the worker’s refusals back (a wrong signature is 401)', async () => {
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    const response = await viaTunnel('POST', `/hooks/${trigger.id}`, body, githubHeaders({ secret: 'not-the-secret', event: 'pull_request', body }));
    expect(response.status).toBe(401);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('ERR_SIGNATURE_INVALID');
  });

  it.each([
    ['GET', '/api/triggers'],
    ['POST', '/api/triggers'],
    ['GET', '/health/ready'],
    ['GET', '/'],
    ['GET', '/hooks/trg_x'],
    ['POST', '/hooks/../api/triggers'],
    ['POST', '/hooks/a/b'],
    ['POST', '/auth/login?token=x'],
  ])('refuses %s %s with 404, the key notwithstanding', async (method, urlPath) => {
    const before = (await api('GET', '/api/triggers')).json<{ items: unknown[] }>().items.length;
    const body = method === 'POST' ? JSON.stringify({ name: 'planted', kind: 'manual', promptTemplate: 'x' }) : undefined;
    const response = await viaTunnel(method, urlPath, body, { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' });
    expect(response.status).toBe(404);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('ERR_NOT_FOUND');
    expect(refused.at(-1)?.request.method).toBe(method);
    expect((await api('GET', '/api/triggers')).json<{ items: unknown[] }>().items).toHaveLength(before);
  });

  it('answers a body over the worker’s limit 413, as the worker does, with or without a Content-Length', async () => {
    const body = JSON.stringify({ padding: 'x'.repeat(1024 * 1024) });
    const declared = await viaTunnel('POST', `/hooks/${trigger.id}`, body, { 'content-type': 'application/json', 'content-length': String(body.length) });
    expect(declared.status, declared.body).toBe(413);
    expect(declared.json<{ error: { code: string } }>().error.code).toBe('ERR_BODY_TOO_LARGE');

    // Chunked, in pieces, as a proxy streams it on.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${gate.url}/hooks/${trigger.id}`, { method: 'POST', headers: { host: publicHost, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      for (let offset = 0; offset < body.length; offset += 16 * 1024) req.write(body.slice(offset, offset + 16 * 1024));
      req.end();
    });
    expect(streamed.status, streamed.body).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject({ error: { code: 'ERR_BODY_TOO_LARGE' } });
  });

  it('never passes the local API key on, even to /hooks/*', async () => {
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    await viaTunnel('POST', `/hooks/${trigger.id}`, body, { ...githubHeaders({ secret: trigger.secret!, event: 'pull_request', body }), 'x-api-key': server.key, cookie: 'a=b' });
    const [delivery] = (await api('GET', `/api/triggers/${trigger.id}/deliveries`)).json<{ items: Delivery[] }>().items;
    expect(Object.keys(delivery!.headers)).not.toContain('x-api-key');
    expect(Object.keys(delivery!.headers)).not.toContain('cookie');
  });
});

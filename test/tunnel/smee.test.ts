import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionSummary } from '../../common/executions.js';
import { publicWebhookUrl, type TunnelView } from '../../common/tunnel.js';
import type { Delivery, TriggerCreated } from '../../common/triggers.js';
import { githubExample, githubHeaders } from '../helpers/github-deliveries.js';
import { request, type RawResponse } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { startSmeeRelay, type SmeeRelay } from '../helpers/stand-ins/smee-relay.js';
import { makeTempDir, listFiles } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

/*
 * The smee tunnel end to end: the real smee-client in the real worker (real
 * SQLite, real HTTP), against a local relay speaking smee.io's protocol
 * (test/helpers/stand-ins/smee-relay.ts) — the one part that cannot run here.
 * The relay is chosen the way a self-hosted smee server would be: PUT
 * /api/tunnel {"provider":"smee","server":…}.
 */

let relay: SmeeRelay;
let data: { dir: string; remove: () => void };
let server: InProcessServer;
let trigger: TriggerCreated;

function api(method: string, urlPath: string, body?: unknown, target = server): Promise<RawResponse> {
  return request(target.url, {
    method,
    path: urlPath,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${target.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
}

async function tunnel(target = server): Promise<TunnelView> {
  const response = await api('GET', '/api/tunnel', undefined, target);
  expect(response.status, response.body).toBe(200);
  return response.json<TunnelView>();
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await sleep(25);
  }
}

async function deliveries(): Promise<Delivery[]> {
  const response = await api('GET', `/api/triggers/${trigger.id}/deliveries?limit=200`);
  expect(response.status).toBe(200);
  return response.json<{ items: Delivery[] }>().items;
}

async function executions(): Promise<ExecutionSummary[]> {
  const response = await api('GET', `/api/executions?trigger=${trigger.id}&limit=200`);
  expect(response.status).toBe(200);
  return response.json<{ items: ExecutionSummary[] }>().items;
}

/** What GitHub does: POST the signed delivery to the webhook URL, which is the smee channel. */
async function sendThroughRelay(url: string, body: string, headers: Record<string, string>): Promise<RawResponse> {
  const target = new URL(url);
  return request(target.origin, { method: 'POST', path: target.pathname + target.search, body, headers });
}

function startWorker(env: Record<string, string> = {}): Promise<InProcessServer> {
  return startInProcess({ AGENTED_DATA_DIR: path.join(data.dir, 'data'), AGENTED_LOG_DIR: path.join(data.dir, 'logs'), ...env });
}

beforeAll(async () => {
  relay = await startSmeeRelay();
  data = makeTempDir();
  server = await startWorker();
  const created = await api('POST', '/api/triggers', { name: 'review pull requests', kind: 'github', promptTemplate: 'Review {{payload.pull_request.title}}', github: { events: ['pull_request.opened'] } });
  expect(created.status, created.body).toBe(201);
  trigger = created.json<TriggerCreated>();
});

afterAll(async () => {
  await server?.close();
  await relay?.close();
  data?.remove();
});

describe('smee tunnel', () => {
  let channel: string;
  let webhookUrl: string;

  it('creates a channel on first use, stores it, and comes up', async () => {
    const response = await api('PUT', '/api/tunnel', { provider: 'smee', server: relay.url });
    expect(response.status, response.body).toBe(200);
    const view = response.json<TunnelView>();
    expect(view).toMatchObject({ provider: 'smee', status: 'up', error: null });
    expect(relay.created).toHaveLength(1);
    channel = `${relay.url}/${relay.created[0]}`;
    expect(view.publicUrl).toBe(channel);
    expect(view.settings.smeeUrl).toBe(channel);
    expect(view.notes.join('\n')).toMatch(/lost/);
    expect(view.notes.join('\n')).toMatch(/re-serialises/);
    expect(relay.listeners(relay.created[0]!)).toBe(1);

    webhookUrl = publicWebhookUrl(view, trigger.webhookPath)!;
    expect(webhookUrl).toBe(`${channel}?path=/hooks/${trigger.id}`);

    const settings = (await api('GET', '/api/settings')).json<{ settings: Record<string, { value: unknown; source: string; restartRequired: boolean }> }>().settings;
    expect(settings.tunnel).toMatchObject({ value: 'smee', source: 'stored', restartRequired: false });
    expect(settings.smeeUrl).toMatchObject({ value: channel, source: 'stored', restartRequired: false });

    const audit = (await api('GET', '/api/audit?limit=5')).json<{ items: { action: string; detail: Record<string, unknown> }[] }>().items;
    expect(audit[0]).toMatchObject({ action: 'settings.updated', detail: { tunnel: { tunnel: 'smee', smeeServer: relay.url } } });
  });

  it('relays a signed GitHub delivery to /hooks/…, where it is verified; the same delivery twice starts one execution', async () => {
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    const headers = githubHeaders({ secret: trigger.secret!, event: 'pull_request', body, deliveryId: crypto.randomUUID() });

    expect((await sendThroughRelay(webhookUrl, body, headers)).status).toBe(200);
    const [first] = await eventually('the first relayed delivery', async () => ((await deliveries()).length === 1 ? deliveries() : undefined));
    expect(first).toMatchObject({ verified: true, outcome: 'execution' });
    expect(first!.executionId).toMatch(/^exe_/);

    expect((await sendThroughRelay(webhookUrl, body, headers)).status).toBe(200);
    const both = await eventually('the second relayed delivery', async () => {
      const items = await deliveries();
      return items.length === 2 ? items : undefined;
    });
    expect(both[0]).toMatchObject({ verified: true, outcome: 'duplicate', executionId: null });
    expect(await executions()).toHaveLength(1);
    expect((await tunnel()).lastRelayedFailure).toBeNull();
  });

  it('refuses a relayed request for anything but POST /hooks/<trigger>, and says so', async () => {
    const before = (await api('GET', '/api/triggers')).json<{ items: unknown[] }>().items.length;
    const attack = JSON.stringify({ name: 'planted', kind: 'manual', promptTemplate: 'rm -rf ~' });
    for (const asked of ['/api/triggers', '/hooks/../api/triggers', '/api/settings']) {
      const url = `${channel}?path=${asked}`;
      expect((await sendThroughRelay(url, attack, { 'content-type': 'application/json', authorization: `Bearer ${server.key}` })).status).toBe(200);
      const failure = await eventually(`the refusal of ${asked}`, async () => {
        const last = (await tunnel()).lastRelayedFailure;
        return last?.path === asked ? last : undefined;
      });
      expect(failure).toMatchObject({ kind: 'path-refused', provider: 'smee', method: 'POST', triggerId: null });
    }
    // No ?path= at all.
    expect((await sendThroughRelay(channel, attack, { 'content-type': 'application/json' })).status).toBe(200);
    await eventually('the refusal of a request without ?path=', async () => ((await tunnel()).lastRelayedFailure?.path === '' ? true : undefined));

    expect((await api('GET', '/api/triggers')).json<{ items: unknown[] }>().items).toHaveLength(before);
    const log = listFiles(path.join(data.dir, 'logs'))
      .map((file) => fs.readFileSync(file, 'utf8'))
      .join('\n');
    expect(log).toMatch(/"msg":"tunnel request refused".*"path":"\/api\/triggers"/);
  });

  it('explains a signature failure caused by the relay re-serialising the JSON body', async () => {
    // Signed over the bytes as sent (indented); smee parses them and smee-client sends JSON.stringify of the result.
    const body = JSON.stringify(githubExample('pull_request', 'opened'), null, 2);
    const deliveryId = crypto.randomUUID();
    const headers = githubHeaders({ secret: trigger.secret!, event: 'pull_request', body, deliveryId });
    expect((await sendThroughRelay(webhookUrl, body, headers)).status).toBe(200);

    const failure = await eventually('the explained signature failure', async () => {
      const last = (await tunnel()).lastRelayedFailure;
      return last?.kind === 'signature-mismatch' ? last : undefined;
    });
    expect(failure).toMatchObject({ provider: 'smee', path: `/hooks/${trigger.id}`, triggerId: trigger.id, deliveryId });
    expect(failure.explanation).toContain("The relay re-serialised the JSON body; GitHub's signature no longer matches — use ngrok or a custom tunnel for signed webhooks");
    const rejected = (await deliveries())[0]!;
    expect(rejected).toMatchObject({ outcome: 'rejected', verified: false, reason: 'X-Hub-Signature-256 does not match the body' });
    expect(await executions()).toHaveLength(1);
  });

  it('reconnects when the relay drops the stream', async () => {
    relay.dropConnections();
    await relay.waitForListeners(relay.created[0]!, 1, 15_000);
    await eventually('the tunnel up again', async () => ((await tunnel()).status === 'up' ? true : undefined), 15_000);
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    const headers = githubHeaders({ secret: trigger.secret!, event: 'pull_request', body });
    const count = (await deliveries()).length;
    await sendThroughRelay(webhookUrl, body, headers);
    await eventually('a delivery after the reconnect', async () => ((await deliveries()).length === count + 1 ? true : undefined));
    expect((await deliveries())[0]).toMatchObject({ outcome: 'execution' });
  });

  it('keeps the channel across a restart; deliveries sent while the worker is down are lost', async () => {
    const before = (await deliveries()).length;
    await server.close();
    await eventually('the listener gone', async () => (relay.listeners(relay.created[0]!) === 0 ? true : undefined));
    // Sent while nobody listens: the relay still answers 200, as smee.io does, and keeps nothing.
    const missed = JSON.stringify(githubExample('pull_request', 'opened'));
    expect((await sendThroughRelay(webhookUrl, missed, githubHeaders({ secret: trigger.secret!, event: 'pull_request', body: missed }))).status).toBe(200);

    server = await startWorker();
    const view = await eventually('the tunnel up after the restart', async () => {
      const current = await tunnel();
      return current.status === 'up' ? current : undefined;
    });
    expect(view.publicUrl).toBe(channel);
    expect(relay.created).toHaveLength(1);
    expect(publicWebhookUrl(view, trigger.webhookPath)).toBe(webhookUrl);
    await sleep(300);
    expect(await deliveries()).toHaveLength(before);

    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    await sendThroughRelay(webhookUrl, body, githubHeaders({ secret: trigger.secret!, event: 'pull_request', body }));
    await eventually('a delivery after the restart', async () => ((await deliveries()).length === before + 1 ? true : undefined));
  });

  it('says so when the worker refused a relayed delivery as too large: the sender only saw the relay\'s 200', async () => {
    await server.close();
    server = await startWorker({ AGENTED_MAX_HOOK_BODY_BYTES: '2048' });
    await eventually('the tunnel up after the restart', async () => ((await tunnel()).status === 'up' ? true : undefined));
    const before = (await deliveries()).length;
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    expect(Buffer.byteLength(body)).toBeGreaterThan(2048);
    const deliveryId = crypto.randomUUID();
    expect((await sendThroughRelay(webhookUrl, body, githubHeaders({ secret: trigger.secret!, event: 'pull_request', body, deliveryId }))).status).toBe(200);

    const failure = await eventually('the explained refusal', async () => {
      const last = (await tunnel()).lastRelayedFailure;
      return last?.kind === 'body-too-large' ? last : undefined;
    });
    expect(failure).toMatchObject({ provider: 'smee', path: `/hooks/${trigger.id}`, triggerId: trigger.id, deliveryId });
    expect(failure.explanation).toContain('AGENTED_MAX_HOOK_BODY_BYTES');
    expect(await deliveries()).toHaveLength(before);
  });

  it('stops listening when switched off', async () => {
    const response = await api('PUT', '/api/tunnel', { provider: 'off' });
    expect(response.status).toBe(200);
    expect(response.json<TunnelView>()).toMatchObject({ provider: 'off', status: 'off', webhookUrlTemplate: null });
    await eventually('the listener gone', async () => (relay.listeners(relay.created[0]!) === 0 ? true : undefined));
    expect((await tunnel()).settings.smeeUrl).toBe(channel);
  });
});

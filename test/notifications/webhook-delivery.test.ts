import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import type { AuditEntry } from '../../common/audit.js';
import type { NotificationMessage, NotificationSettings, NotificationTestResult } from '../../common/notifications.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { request } from '../helpers/http.js';
import { startInProcess, workerLogRecords, type InProcessServer } from '../helpers/in-process.js';
import { startReceiver, startSlackStandIn, type ReceivedRequest, type Receiver } from '../helpers/stand-ins/notification-receivers.js';
import type { AnthropicReply } from '../helpers/stand-ins/anthropic.js';
import type { RecordedRequest } from '../helpers/stand-ins/server.js';
import { listFiles, makeTempDir } from '../helpers/temp.js';
import { sleep, untilTrue } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const newSecret = () => `whsec_${crypto.randomBytes(32).toString('base64')}`;

async function receiverFor(respond: Parameters<typeof startReceiver>[0], port?: number): Promise<Receiver> {
  const receiver = await startReceiver(respond, port);
  cleanups.push(() => receiver.close());
  return receiver;
}

async function engineWith(respond?: (recorded: RecordedRequest) => AnthropicReply): Promise<Engine> {
  const engine = await startEngine({}, respond ? { respond } : {});
  cleanups.push(() => engine.close());
  return engine;
}

function verified(secret: string, received: ReceivedRequest): NotificationMessage {
  const headers = { 'webhook-id': String(received.headers['webhook-id']), 'webhook-timestamp': String(received.headers['webhook-timestamp']), 'webhook-signature': String(received.headers['webhook-signature']) };
  return new Webhook(secret).verify(received.rawBody, headers) as NotificationMessage;
}

describe('webhook notifications (the real claude CLI against the Anthropic stand-in, a local receiver)', () => {
  it('a receiver that fails twice (500) gets each notification on the third try; failures are logged; the execution never waited', async () => {
    const secret = newSecret();
    const tries = new Map<string, number>();
    const receiver = await receiverFor((received) => {
      const id = String(received.headers['webhook-id']);
      tries.set(id, (tries.get(id) ?? 0) + 1);
      // Slow and failing: an execution that waited for it would end after the first answer.
      return tries.get(id)! <= 2 ? { status: 500, body: 'receiver down', delayMs: 3_000 } : { status: 200, body: 'thanks' };
    });
    const engine = await engineWith();
    const configured = await engine.api<NotificationSettings>('PUT', '/api/notifications', { webhookUrl: `${receiver.url}/agented/notifications`, webhookSecret: secret });
    expect(configured.status).toBe(200);
    expect(configured.body.channels.webhook).toEqual({ configured: true, host: new URL(receiver.url).host, signed: true });

    // One token is a budget any run crosses, at 80 % and 100 % at once: two notifications.
    expect((await engine.api('POST', '/api/budgets', { scope: 'global', period: 'day', limitTokens: 1, hard: false })).status).toBe(201);
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
    expect(done.state, done.reason ?? '').toBe('succeeded');

    await untilTrue(async () => {
      const recent = (await engine.api<NotificationSettings>('GET', '/api/notifications')).body.recent;
      return recent.length === 2 && recent.every((entry) => entry.status === 'delivered');
    }, 'both notifications delivered');

    const recent = (await engine.api<NotificationSettings>('GET', '/api/notifications')).body.recent;
    expect(recent.map((entry) => [entry.channel, entry.kind, entry.attempts, entry.lastError])).toEqual([
      ['webhook', 'budget', 3, null],
      ['webhook', 'budget', 3, null],
    ]);
    expect(receiver.requests).toHaveLength(6);
    expect([...tries.values()]).toEqual([3, 3]);
    // The execution ended before the receiver had even answered the first try.
    const firstAnswer = Math.min(...receiver.requests.map((received) => received.answeredAt!));
    expect(Date.parse(done.endedAt!)).toBeLessThan(firstAnswer);

    // Every try, retries included, carries a valid Standard Webhooks signature over the notification JSON.
    for (const received of receiver.requests) {
      const message = verified(secret, received);
      expect(Object.keys(message).sort()).toEqual(['at', 'body', 'data', 'kind', 'title']);
      expect(message.kind).toBe('budget');
    }
    const titles = receiver.requests.filter((received) => received.status === 200).map((received) => verified(secret, received).title);
    expect(titles.sort()).toEqual(['The daily soft budget at 100%', 'The daily soft budget at 80%']);
    const tampered = { ...receiver.requests[0]!, rawBody: receiver.requests[0]!.rawBody.replace('"kind":"budget"', '"kind":"cooldown"') };
    expect(tampered.rawBody).not.toBe(receiver.requests[0]!.rawBody);
    expect(() => verified(secret, tampered)).toThrow();

    const failures = workerLogRecords(engine.server).filter((line) => line.msg === 'notification delivery failed; will retry');
    expect(failures).toHaveLength(4);
    for (const line of failures) expect(line).toMatchObject({ level: 'warn', channel: 'webhook', reason: 'HTTP 500: receiver down' });
    expect(failures.map((line) => line.retry_in_ms).sort()).toEqual([1_000, 1_000, 2_000, 2_000]);
  }, 90_000);

  it('an execution that fails notifies once, with its id (the desktop notification opens it)', async () => {
    const receiver = await receiverFor(() => ({ status: 204 }));
    const engine = await engineWith((recorded) => (JSON.stringify(recorded.body).includes('BREAK') ? { status: 400 } : { text: 'Fine.' }));
    expect((await engine.api('PUT', '/api/notifications', { webhookUrl: `${receiver.url}/hook` })).status).toBe(200);
    const fine = await engine.createTrigger({ name: 'daily summary', promptTemplate: 'Say hello' });
    const ok = await engine.waitForState(await engine.run(fine), ['succeeded', 'failed']);
    expect(ok.state, ok.reason ?? '').toBe('succeeded');
    const trigger = await engine.createTrigger({ name: 'nightly triage', promptTemplate: 'BREAK the build' });
    const failed = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
    expect(failed.state).toBe('failed');

    await untilTrue(() => receiver.requests.length >= 1, 'the failure notification');
    await sleep(500);
    expect(receiver.requests).toHaveLength(1);
    const message = JSON.parse(receiver.requests[0]!.rawBody) as NotificationMessage;
    expect(message).toMatchObject({ kind: 'execution_failed', title: 'Execution of "nightly triage" failed', data: { executionId: failed.id, triggerId: trigger, state: 'failed' } });
    expect(message.body).toBe(failed.reason);
    // Unsigned without a secret, but still identified.
    expect(receiver.requests[0]!.headers['webhook-signature']).toBeUndefined();
    expect(receiver.requests[0]!.headers['webhook-id']).toMatch(/^ntf_/);
  }, 90_000);
});

describe('notification settings API', () => {
  it('keeps the Slack URL and the webhook secret out of every response and every log file', async () => {
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const receiver = await receiverFor(() => ({ status: 200 }));
    const server = await startInProcess();
    cleanups.push(() => server.close());
    const secret = newSecret();
    const webhookUrl = `${receiver.url}/hooks/agented?token=webhookQueryToken0123456789`;
    const api = async <T>(method: string, urlPath: string, body?: unknown) => {
      const response = await request(server.url, { method, path: urlPath, headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: response.status, text: response.body, body: response.body === '' ? (undefined as T) : response.json<T>() };
    };

    // Validation: clear text only to this machine, a Standard Webhooks secret, no secret without its URL.
    expect((await api('PUT', '/api/notifications', { slackUrl: 'http://hooks.example.com/services/T/B/x' })).status).toBe(400);
    expect((await api('PUT', '/api/notifications', { webhookUrl: 'https://user:pass@example.com/hook' })).status).toBe(400);
    expect((await api('PUT', '/api/notifications', { webhookUrl: 'https://example.com/hook', webhookSecret: 'not-a-secret' })).status).toBe(400);
    expect((await api('PUT', '/api/notifications', { webhookSecret: secret })).status).toBe(400);
    const none = await api<{ error: { code: string } }>('POST', '/api/notifications/test');
    expect(none.status).toBe(409);
    expect(none.body.error.code).toBe('ERR_NO_NOTIFICATION_CHANNEL');

    const put = await api<NotificationSettings>('PUT', '/api/notifications', { slackUrl: slack.hookUrl, webhookUrl, webhookSecret: secret, desktop: false });
    expect(put.status).toBe(200);
    expect(put.body.channels).toEqual({
      slack: { configured: true },
      webhook: { configured: true, host: new URL(receiver.url).host, signed: true },
      // In process there is no supervisor, so no desktop to show anything on.
      desktop: { enabled: false, available: false },
    });

    const test = await api<NotificationTestResult>('POST', '/api/notifications/test');
    expect(test.status).toBe(202);
    expect(test.body.channels).toEqual(['slack', 'webhook']);
    await untilTrue(async () => (await api<NotificationSettings>('GET', '/api/notifications')).body.recent.every((entry) => entry.status === 'delivered'), 'the test notification delivered');
    expect(slack.texts()).toEqual(['*Test notification from Agented*\nNotifications reach this channel.']);
    expect(verified(secret, receiver.requests[0]!)).toMatchObject({ kind: 'test', title: 'Test notification from Agented' });

    const audit = await api<{ items: AuditEntry[] }>('GET', '/api/audit');
    expect(audit.body.items.find((entry) => entry.action === 'notifications.updated')?.detail).toEqual({ slackUrl: 'set', webhookUrl: 'set', webhookHost: new URL(receiver.url).host, webhookSecret: 'set', desktop: false });

    // A receiver that refuses: its answer is kept as the reason, never its URL.
    expect((await api('PUT', '/api/notifications', { slackUrl: `${slack.url}/services/T0/B0/revokedRevokedRevoked0123` })).status).toBe(200);
    await api('POST', '/api/notifications/test');
    await untilTrue(
      async () => (await api<NotificationSettings>('GET', '/api/notifications')).body.recent.some((entry) => entry.channel === 'slack' && entry.status === 'failed' && entry.lastError === 'HTTP 404: no_service'),
      'the refused delivery given up',
    );

    const responses = [
      (await api('GET', '/api/notifications')).text,
      (await api('GET', '/api/settings')).text,
      (await api('GET', '/api/audit')).text,
      put.text,
      test.text,
    ].join('\n');
    const logs = listFiles(server.logDir).map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    expect(logs).toContain('notification delivered');
    expect(logs).toContain('HTTP 404: no_service');
    const slackToken = slack.hookUrl.split('/').at(-1)!;
    for (const leak of [slack.hookUrl, slackToken, 'revokedRevokedRevoked0123', webhookUrl, 'webhookQueryToken0123456789', secret, secret.slice('whsec_'.length)]) {
      expect(responses, leak).not.toContain(leak);
      expect(logs, leak).not.toContain(leak);
    }

    // Clearing the URL clears its secret too.
    const off = await api<NotificationSettings>('PUT', '/api/notifications', { webhookUrl: null });
    expect(off.body.channels.webhook).toEqual({ configured: false, host: null, signed: false });
    const again = await api<NotificationSettings>('PUT', '/api/notifications', { webhookUrl });
    expect(again.body.channels.webhook).toMatchObject({ configured: true, signed: false });
  }, 60_000);

  it('a receiver whose error page echoes the request path (as Express answers 404) does not put the URL\'s token into lastError', async () => {
    const token = 'pathToken0123456789abcdef';
    // Express's default 404 (finalhandler): the method and path of the request, inside <pre>.
    const receiver = await receiverFor((received) => ({ status: 404, body: `<pre>Cannot POST ${received.path}</pre>`, headers: { 'content-type': 'text/html; charset=utf-8' } }));
    const server = await startInProcess();
    cleanups.push(() => server.close());
    const headers = { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' };
    expect((await request(server.url, { method: 'PUT', path: '/api/notifications', headers, body: JSON.stringify({ webhookUrl: `${receiver.url}/hooks/${token}` }) })).status).toBe(200);
    expect((await request(server.url, { method: 'POST', path: '/api/notifications/test', headers })).status).toBe(202);
    const outbox = async () => (await request(server.url, { path: '/api/notifications', headers })).json<NotificationSettings>().recent;
    await untilTrue(async () => (await outbox())[0]?.status === 'failed', 'the refused delivery given up');
    expect(receiver.requests[0]!.path).toBe(`/hooks/${token}`);

    const [entry] = await outbox();
    expect(entry!.lastError).toMatch(/^HTTP 404: <pre>Cannot POST /);
    expect(entry!.lastError).not.toContain(token);
    const logs = listFiles(server.logDir).map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    expect(logs).toContain('HTTP 404: <pre>Cannot POST ');
    expect(logs).not.toContain(token);
  }, 60_000);

  it('pending notifications survive a worker restart: the next worker on the same data folder delivers them', async () => {
    let receiverUp = false;
    const receiver = await receiverFor(() => (receiverUp ? { status: 200 } : { status: 503, body: 'maintenance' }));
    const temp = makeTempDir('agented-restart-');
    cleanups.push(temp.remove);
    const env = { AGENTED_DATA_DIR: path.join(temp.dir, 'data'), AGENTED_LOG_DIR: path.join(temp.dir, 'logs') };
    const auth = (server: InProcessServer) => ({ authorization: `Bearer ${server.key}`, 'content-type': 'application/json' });
    const outboxOf = async (server: InProcessServer) => (await request(server.url, { path: '/api/notifications', headers: auth(server) })).json<NotificationSettings>().recent;

    const first = await startInProcess(env);
    const secret = newSecret();
    await request(first.url, { method: 'PUT', path: '/api/notifications', headers: auth(first), body: JSON.stringify({ webhookUrl: `${receiver.url}/hook`, webhookSecret: secret }) });
    const queued = (await request(first.url, { method: 'POST', path: '/api/notifications/test', headers: auth(first) })).json<NotificationTestResult>();
    await untilTrue(async () => ((await outboxOf(first))[0]?.attempts ?? 0) >= 1, 'the first failed try');
    await first.close();
    // Usually one try; a second is due a second later, which a slow close can let through.
    const triesBefore = receiver.requests.length;
    expect(triesBefore).toBeGreaterThanOrEqual(1);

    receiverUp = true;
    const second = await startInProcess(env);
    cleanups.push(() => second.close());
    await untilTrue(async () => (await outboxOf(second))[0]?.status === 'delivered', 'delivery by the next worker');
    const [entry] = await outboxOf(second);
    expect(entry).toMatchObject({ notificationId: queued.notificationId, channel: 'webhook', kind: 'test', attempts: triesBefore + 1, lastError: null });
    expect(receiver.requests).toHaveLength(triesBefore + 1);
    // The same message: same webhook-id, signed with the secret the first worker stored.
    const delivered = receiver.requests[triesBefore]!;
    expect(delivered.headers['webhook-id']).toBe(queued.notificationId);
    expect(verified(secret, delivered).kind).toBe('test');
  }, 60_000);
});

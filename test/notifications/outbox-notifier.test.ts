import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesktopNotification } from '../../common/notifications.js';
import { NotificationChannelSettings } from '../../main/notifications/channel-settings.js';
import { OutboxNotifier, type RetryPolicy } from '../../main/notifications/outbox-notifier.js';
import { SealedSecretStore } from '../../main/secrets/sealed-store.js';
import { AuditRepository } from '../../main/storage/audit-repository.js';
import { openDatabase } from '../../main/storage/database.js';
import { NotificationOutbox } from '../../main/storage/notification-outbox.js';
import { SettingsRepository } from '../../main/storage/settings-repository.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { startReceiver, startSlackStandIn, type Receiver, type ReceiverAnswer } from '../helpers/stand-ins/notification-receivers.js';
import { fillDisk, smallDisk } from '../helpers/small-disk.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const actor = { actor: 'key', requestId: null };
const FAST: Partial<RetryPolicy> = { firstDelayMs: 100, maxDelayMs: 400, timeoutMs: 2_000 };

/** The notifier's real parts on a real SQLite file: outbox, channel settings, sealed secret store, a logger kept in memory. */
async function notifierOn(file: string, options: { retry?: Partial<RetryPolicy>; desktop?: (notification: DesktopNotification) => void } = {}) {
  const db = openDatabase({ file });
  const sink = new MemorySink();
  const logger = Logger.create({ sink, level: 'debug' });
  const channels = new NotificationChannelSettings({
    secrets: new SealedSecretStore(db, 'test-key-0123456789abcdefghijklmnop'),
    settings: new SettingsRepository(db),
    audit: new AuditRepository(db),
    logger,
    desktopAvailable: options.desktop !== undefined,
  });
  await channels.load();
  const outbox = new NotificationOutbox(db);
  const notifier = new OutboxNotifier({ outbox, channels, logger, desktop: options.desktop, retry: options.retry ?? FAST });
  notifier.start();
  const close = async () => {
    await notifier.dispose();
    db.close();
  };
  cleanups.push(close);
  return { db, sink, channels, outbox, notifier, close, logged: () => sink.lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function tempDatabase(): string {
  const temp = makeTempDir('agented-notify-');
  cleanups.push(temp.remove);
  return path.join(temp.dir, 'agented.db');
}

async function receiver(respond: (index: number) => ReceiverAnswer): Promise<Receiver> {
  const started = await startReceiver((_request, index) => respond(index));
  cleanups.push(() => started.close());
  return started;
}

/** A receiver on 127.0.0.1:0 built from a request handler (an Express app, or an answer that streams). */
async function serverOf(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function until<T>(probe: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

const budgetNotification = { kind: 'budget' as const, title: 'The daily soft budget at 80%', body: '80 of 100 tokens this day.', data: { budgetId: 'bud_x', threshold: 80 } };

describe('OutboxNotifier', () => {
  it('notify returns at once and writes one row per configured channel, even while the receiver hangs', async () => {
    const hanging = await receiver(() => ({ status: 200, delayMs: 5_000 }));
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const shown: DesktopNotification[] = [];
    const { notifier, outbox, channels } = await notifierOn(tempDatabase(), { desktop: (notification) => shown.push(notification) });
    await channels.update({ slackUrl: slack.hookUrl, webhookUrl: `${hanging.url}/hook` }, actor);

    const queued = notifier.send(budgetNotification);
    // Returned, not promised: nothing of the send waits for a receiver.
    expect(queued).not.toBeInstanceOf(Promise);
    expect(queued.channels).toEqual(['slack', 'webhook', 'desktop']);
    expect(outbox.recent(10).map((entry) => [entry.channel, entry.notificationId])).toEqual([
      ['desktop', queued.notificationId],
      ['webhook', queued.notificationId],
      ['slack', queued.notificationId],
    ]);

    // Slack and the desktop get it while the webhook is still waiting for its answer.
    await until(() => slack.texts().length === 1 && shown.length === 1);
    expect(slack.texts()).toEqual(['*The daily soft budget at 80%*\n80 of 100 tokens this day.']);
    expect(shown[0]).toEqual({ id: queued.notificationId, kind: 'budget', title: budgetNotification.title, body: budgetNotification.body, link: '/budgets' });
    expect(outbox.recent(10).find((entry) => entry.channel === 'webhook')!.status).toBe('pending');
  });

  it('a receiver that hangs holds up only its own deliveries: a later notification reaches Slack and the desktop at once', async () => {
    const hanging = await receiver(() => ({ status: 200, delayMs: 3_000 }));
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const shown: DesktopNotification[] = [];
    const { notifier, outbox, channels } = await notifierOn(tempDatabase(), { retry: { ...FAST, timeoutMs: 5_000 }, desktop: (notification) => shown.push(notification) });
    await channels.update({ slackUrl: slack.hookUrl, webhookUrl: `${hanging.url}/hook` }, actor);
    notifier.notify(budgetNotification);
    await until(() => hanging.requests.length === 1 && slack.texts().length === 1);

    const later = notifier.send({ ...budgetNotification, title: 'The daily soft budget at 100%' });
    await until(() => slack.texts().length === 2 && shown.length === 2);
    // Before the webhook answered the first one (it answers after 3 s): the later notification did not wait behind it.
    expect(outbox.recent(10).find((entry) => entry.channel === 'webhook' && entry.notificationId !== later.notificationId)!.status).toBe('pending');
    expect(shown[1]!.id).toBe(later.notificationId);
    // The webhook is still answering the first one; the second does not wait for it either.
    await until(() => hanging.requests.length === 2, 1_000);
    expect(outbox.recent(10).filter((entry) => entry.channel === 'webhook').map((entry) => entry.status)).toEqual(['pending', 'pending']);
  });

  it('a backlog held by a receiver that hangs hides no other channel: a burst of 45 reaches Slack and the desktop while the webhook still hangs', async () => {
    // Answers only after the test is over: every webhook delivery stays under way (20 at once) or waits.
    const hanging = await receiver(() => ({ status: 200, delayMs: 20_000 }));
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const shown: DesktopNotification[] = [];
    const { notifier, channels } = await notifierOn(tempDatabase(), { retry: { ...FAST, timeoutMs: 25_000 }, desktop: (notification) => shown.push(notification) });
    await channels.update({ slackUrl: slack.hookUrl, webhookUrl: `${hanging.url}/hook` }, actor);
    for (let index = 0; index < 45; index += 1) notifier.notify({ ...budgetNotification, title: `burst ${index}` });
    // The page of due rows once held the webhook's 20 under way and its 25 waiting: nothing else until they ended.
    await until(() => slack.texts().length === 45 && shown.length === 45, 5_000);
    expect(hanging.requests.length).toBe(20);
  }, 30_000);

  it('never throws at its caller: a notification that cannot be stored is logged instead', async () => {
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const { notifier, channels, logged } = await notifierOn(tempDatabase());
    await channels.update({ slackUrl: slack.hookUrl }, actor);
    expect(() => notifier.notify({ ...budgetNotification, data: { huge: 10n } })).not.toThrow();
    expect(logged().some((line) => line.msg === 'a notification could not be queued')).toBe(true);
  });

  it('Slack: 404 no_service is permanent (given up at once); 500 rollup_error and 429 are retried, 429 after its Retry-After', async () => {
    const gone = await startReceiver(() => ({ status: 404, body: 'no_service' }));
    cleanups.push(() => gone.close());
    const { notifier, outbox, channels, logged } = await notifierOn(tempDatabase());
    await channels.update({ slackUrl: `${gone.url}/services/T0/B0/revokedTokenRevokedToken` }, actor);
    notifier.notify(budgetNotification);
    const failed = await until(() => outbox.recent(1).find((entry) => entry.status === 'failed'));
    expect(failed).toMatchObject({ attempts: 1, lastError: 'HTTP 404: no_service' });
    await sleep(300);
    expect(gone.requests).toHaveLength(1);
    expect(logged().find((line) => line.msg === 'notification not delivered; giving up (the receiver refused it)')).toMatchObject({ channel: 'slack', reason: 'HTTP 404: no_service' });

    const slack = await startSlackStandIn({ failFirst: [{ status: 500, body: 'rollup_error' }, { status: 429, body: 'rate_limited', headers: { 'retry-after': '1' } }] });
    cleanups.push(() => slack.close());
    await channels.update({ slackUrl: slack.hookUrl }, actor);
    notifier.notify(budgetNotification);
    const delivered = await until(() => outbox.recent(1).find((entry) => entry.status === 'delivered'));
    expect(delivered.attempts).toBe(3);
    const [first, second, third] = slack.requests;
    // 100 ms after the 500; the 429's Retry-After (1 s) wins over the 200 ms backoff.
    expect(second!.receivedAt - first!.receivedAt).toBeGreaterThanOrEqual(90);
    expect(third!.receivedAt - second!.receivedAt).toBeGreaterThanOrEqual(950);
    const retries = logged().filter((line) => line.msg === 'notification delivery failed; will retry');
    expect(retries.map((line) => line.reason)).toEqual(['HTTP 500: rollup_error', 'HTTP 429: rate_limited']);
  });

  it('gives up after the last attempt, and logs each failure with its reason', async () => {
    const down = await receiver(() => ({ status: 503, body: 'maintenance' }));
    const { notifier, outbox, channels, logged } = await notifierOn(tempDatabase(), { retry: { ...FAST, maxAttempts: 3 } });
    await channels.update({ webhookUrl: `${down.url}/hook` }, actor);
    notifier.notify(budgetNotification);
    const failed = await until(() => outbox.recent(1).find((entry) => entry.status === 'failed'));
    expect(failed).toMatchObject({ attempts: 3, lastError: 'HTTP 503: maintenance', nextAttemptAt: null });
    expect(down.requests).toHaveLength(3);
    expect(logged().filter((line) => line.msg === 'notification delivery failed; will retry')).toHaveLength(2);
    expect(logged().find((line) => line.msg === 'notification not delivered; giving up after 3 attempts')).toMatchObject({ channel: 'webhook', reason: 'HTTP 503: maintenance' });
  });

  it('a refused connection is retried like a 5xx', async () => {
    const closed = await startReceiver(() => ({ status: 200 }));
    const url = `${closed.url}/hook`;
    await closed.close();
    const { notifier, outbox, channels } = await notifierOn(tempDatabase());
    await channels.update({ webhookUrl: url }, actor);
    notifier.notify(budgetNotification);
    const retried = await until(() => outbox.recent(1).find((entry) => entry.attempts >= 1));
    expect(retried).toMatchObject({ status: 'pending', lastError: 'network error: ECONNREFUSED' });
  });

  it('a channel cleared after a notification was queued gives its pending delivery up', async () => {
    const down = await receiver(() => ({ status: 500 }));
    const { notifier, outbox, channels } = await notifierOn(tempDatabase(), { retry: { ...FAST, firstDelayMs: 300 } });
    await channels.update({ webhookUrl: `${down.url}/hook` }, actor);
    notifier.notify(budgetNotification);
    await until(() => down.requests.length === 1);
    await channels.update({ webhookUrl: null }, actor);
    const failed = await until(() => outbox.recent(1).find((entry) => entry.status === 'failed'));
    expect(failed.lastError).toBe('the webhook channel is no longer configured');
  });

  it('an error page longer than the excerpt that quotes the URL\'s token (Express\'s 404 for a long path) keeps all of the token out of lastError and the log', async () => {
    const token = 'Tk0123456789abcdefghijklmnopqrstuvwxyzAB';
    // An Express app without this route: its default 404 page (finalhandler) quotes the path, here where the excerpt is cut.
    const receiverUrl = await serverOf(express());
    const { notifier, outbox, channels, sink } = await notifierOn(tempDatabase());
    await channels.update({ webhookUrl: `${receiverUrl}/api/v1/webhooks/incoming/agented-notifications/${token}` }, actor);
    notifier.notify(budgetNotification);
    const failed = await until(() => outbox.recent(1).find((entry) => entry.status === 'failed'));
    expect(failed.lastError).toMatch(/^HTTP 404: <!DOCTYPE html>.*Cannot POST /);
    expect(failed.lastError).not.toContain(token.slice(0, 12));
    expect(sink.lines.join('\n')).toContain('Cannot POST ');
    expect(sink.lines.join('\n')).not.toContain(token.slice(0, 12));
  });

  it('a receiver that never answers is given up on after the timeout, also when a garbage collection runs meanwhile', async () => {
    const silent = await receiver(() => ({ status: 200, delayMs: 30_000 }));
    const { notifier, outbox, channels } = await notifierOn(tempDatabase(), { retry: { ...FAST, timeoutMs: 500, firstDelayMs: 10_000 } });
    await channels.update({ webhookUrl: `${silent.url}/hook` }, actor);
    notifier.notify(budgetNotification);
    await until(() => silent.requests.length === 1);
    // A long-running worker collects garbage while it waits; here a collection is made to happen now.
    v8.setFlagsFromString('--expose-gc');
    (vm.runInNewContext('gc') as () => void)();
    const retried = await until(() => outbox.recent(1).find((entry) => entry.attempts === 1), 3_000);
    expect(retried).toMatchObject({ status: 'pending', lastError: 'no answer in time' });
  });

  it('a receiver whose answer never ends: only its start is read, the attempt ends at once and the connection is dropped', async () => {
    let written = 0;
    let droppedAt: number | undefined;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const endless = await serverOf((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        const timer = setInterval(() => {
          res.write(chunk);
          written += chunk.length;
        }, 5);
        res.on('close', () => {
          clearInterval(timer);
          droppedAt = Date.now();
        });
      });
    });
    // The attempt's own timeout is past the test's: only stopping at the start of the answer ends the attempt in time.
    const { notifier, outbox, channels } = await notifierOn(tempDatabase(), { retry: { ...FAST, timeoutMs: 60_000, firstDelayMs: 10_000 } });
    await channels.update({ webhookUrl: `${endless}/hook` }, actor);
    notifier.notify(budgetNotification);
    const retried = await until(() => outbox.recent(1).find((entry) => entry.attempts === 1), 8_000);
    expect(retried.lastError).toBe(`HTTP 500: ${'x'.repeat(200)}…`);
    await until(() => droppedAt !== undefined, 1_000);
    expect(written).toBeLessThan(4 * 1024 * 1024);
  }, 15_000);

  it('a full disk: a delivery whose outcome cannot be stored is not sent again in a loop, and is stored once there is room', async (context) => {
    // Unmounted last, once the database on it is closed.
    const disk = smallDisk((step) => cleanups.unshift(step));
    if (disk === undefined) return context.skip('mounting a tmpfs needs root');
    // Answers the first request late, so that the disk is full when the answer comes.
    const slack = await startSlackStandIn({ failFirst: [{ status: 200, body: 'ok', delayMs: 500 }] });
    cleanups.push(() => slack.close());
    const { notifier, outbox, channels } = await notifierOn(path.join(disk, 'agented.db'));
    await channels.update({ slackUrl: slack.hookUrl }, actor);
    notifier.notify(budgetNotification);
    await until(() => slack.requests.length === 1);
    const filler = fillDisk(disk);
    await sleep(1_500);
    // Delivered once; the database could not record it, which is no reason to post it to Slack again.
    expect(slack.requests).toHaveLength(1);

    fs.rmSync(filler);
    const delivered = await until(() => outbox.recent(1).find((entry) => entry.status === 'delivered'));
    expect(delivered.attempts).toBe(1);
    expect(slack.requests).toHaveLength(1);
  });

  it('rows left pending by a closed notifier are sent by the next one on the same database', async () => {
    let up = false;
    const flaky = await receiver(() => (up ? { status: 204 } : { status: 502 }));
    const file = tempDatabase();
    const first = await notifierOn(file);
    await first.channels.update({ webhookUrl: `${flaky.url}/hook` }, actor);
    first.notifier.notify(budgetNotification);
    await until(() => first.outbox.recent(1).find((entry) => entry.attempts === 1));
    await first.close();
    up = true;

    const second = await notifierOn(file);
    const delivered = await until(() => second.outbox.recent(1).find((entry) => entry.status === 'delivered'));
    expect(delivered.attempts).toBe(2);
    expect(new Set(flaky.requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
  });
});

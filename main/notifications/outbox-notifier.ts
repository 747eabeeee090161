import { notificationLink, type DesktopNotification, type NotificationChannel, type NotificationMessage } from '../../common/notifications.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { NotificationOutbox, PendingDelivery } from '../storage/notification-outbox.js';
import type { Logger } from '../telemetry/logger.js';
import { newId } from '../triggers/ids.js';
import { networkReason, postToSlack, postToWebhook, type DeliveryOutcome } from './channel-delivery.js';
import type { NotificationChannelSettings } from './channel-settings.js';
import type { Notification, Notifier } from './notifier.js';

/** When a failed delivery is tried again, and when it is given up. */
export interface RetryPolicy {
  /** Delay after the first failure; it doubles after each further one. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** How long one HTTP attempt may take. */
  timeoutMs: number;
}

/** 1 s, 2 s, 4 s … capped at 10 min: fifteen attempts span about an hour (1023 s of doubling, then 4 × 10 min). */
export const DEFAULT_RETRY: RetryPolicy = { firstDelayMs: 1_000, maxDelayMs: 10 * 60_000, maxAttempts: 15, timeoutMs: 10_000 };

/** A Retry-After longer than this is not waited for in full. */
const MAX_RETRY_AFTER_MS = 60 * 60_000;
/** Deliveries under way at once, per channel. */
const BATCH = 20;

export interface OutboxNotifierDependencies {
  outbox: NotificationOutbox;
  channels: NotificationChannelSettings;
  logger: Logger;
  /** Hands a notification to the desktop shell (over the supervisor link); absent when nothing would show it. */
  desktop?: ((notification: DesktopNotification) => void) | undefined;
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  now?: () => number;
}

/**
 * Notifications through an outbox: `notify` writes one row per configured
 * channel (a synchronous SQLite insert, nothing else) and wakes the sender,
 * which delivers due rows in the background, retries failures with doubling
 * delays and gives up after the last attempt. Rows outlive the worker, so a
 * restart resends what was pending. Delivery is at least once: a worker that
 * dies between a receiver's answer and recording it sends that row again (the
 * webhook's `webhook-id` lets a receiver drop the duplicate).
 */
export class OutboxNotifier implements Notifier, Disposable {
  private readonly log: Logger;
  private readonly retry: RetryPolicy;
  private readonly now: () => number;
  private readonly fetch: typeof fetch;
  private readonly shutdown = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  /** Deliveries under way, by outbox row. Each is awaited on its own, so a receiver that hangs holds up no other row. */
  private readonly inFlight = new Map<number, { channel: NotificationChannel; done: Promise<void> }>();
  /**
   * Outcomes the database could not store yet (a full disk), by outbox row. They are stored before anything more is
   * sent: their rows are still pending there, and would be sent again at once, over and over.
   */
  private readonly unstored = new Map<number, { delivery: PendingDelivery; outcome: DeliveryOutcome }>();
  private disposed = false;

  constructor(private readonly deps: OutboxNotifierDependencies) {
    this.log = deps.logger.child({ component: 'notifications' });
    this.retry = { ...DEFAULT_RETRY, ...deps.retry };
    this.now = deps.now ?? Date.now;
    this.fetch = deps.fetch ?? fetch;
  }

  notify(notification: Notification): void {
    this.send(notification);
  }

  /** Queues the notification on every configured channel; says on which. Never throws: a notification never fails its caller. */
  send(notification: Notification): { notificationId: string; channels: NotificationChannel[] } {
    const notificationId = newId('ntf');
    try {
      const channels = this.deps.channels.enabled();
      const now = this.now();
      const message: NotificationMessage = { kind: notification.kind, title: notification.title, body: notification.body, data: notification.data, at: new Date(now).toISOString() };
      // Every notification is in the log too, configured channels or not.
      this.log.warn(`notification: ${notification.title}`, { notification_id: notificationId, notification_kind: notification.kind, body: notification.body, data: notification.data, channels });
      if (channels.length === 0) return { notificationId, channels };
      this.deps.outbox.enqueue(notificationId, channels, message, now);
      // Not sent from here: the caller may be inside a repository's transaction.
      this.schedule(0);
      return { notificationId, channels };
    } catch (error) {
      this.log.error('a notification could not be queued', { notification_id: notificationId, notification_kind: notification.kind, err: error });
      return { notificationId, channels: [] };
    }
  }

  /** Starts sending: what an earlier worker left pending goes out now (or when its retry is due). */
  start(): void {
    const pruned = this.deps.outbox.prune();
    if (pruned > 0) this.log.debug('old notification deliveries pruned', { rows: pruned });
    this.schedule(0);
  }

  /** Stops the sender; an attempt in flight is abandoned and left pending for the next worker. */
  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.timer);
    this.shutdown.abort();
    await Promise.all([...this.inFlight.values()].map((sending) => sending.done));
  }

  private schedule(delayMs: number): void {
    if (this.disposed) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pass(), Math.min(Math.max(0, delayMs), this.retry.maxDelayMs));
    this.timer.unref();
  }

  /** Starts every due delivery not already under way; each one, when it ends, looks again. */
  private pass(): void {
    if (this.disposed) return;
    try {
      this.storeOutcomes();
      // Rows under way are still due: ask for enough rows to find BATCH more. A channel with BATCH under way is left out in
      // SQL: a backlog of a receiver that hangs would otherwise fill the page and hide every other channel's rows.
      const full = [...new Set([...this.inFlight.values()].map((sending) => sending.channel))].filter((channel) => this.underWay(channel) >= BATCH);
      for (const delivery of this.deps.outbox.due(this.now(), this.inFlight.size + BATCH, full)) {
        if (this.inFlight.has(delivery.id) || this.underWay(delivery.channel) >= BATCH) continue;
        const done = this.deliver(delivery)
          .catch((error: unknown) => this.log.error('the notification sender failed; it tries again shortly', { err: error }))
          .finally(() => {
            this.inFlight.delete(delivery.id);
            this.schedule(0);
          });
        this.inFlight.set(delivery.id, { channel: delivery.channel, done });
      }
      const next = this.deps.outbox.nextDueAt();
      if (next === null) return;
      // While a row is under way, it is the one due first, so when the next other row is due is unknown: look again after the shortest retry delay.
      this.schedule(this.inFlight.size > 0 ? Math.max(next - this.now(), this.retry.firstDelayMs) : next - this.now());
    } catch (error) {
      // The database refused a read or a write (a full disk): look again later, not in a loop.
      this.log.error('the notification sender failed; it tries again shortly', { err: error });
      this.schedule(this.retry.firstDelayMs);
    }
  }

  private underWay(channel: NotificationChannel): number {
    let count = 0;
    for (const sending of this.inFlight.values()) if (sending.channel === channel) count += 1;
    return count;
  }

  private async deliver(delivery: PendingDelivery): Promise<void> {
    const outcome = await this.attempt(delivery).catch((error: unknown): DeliveryOutcome => ({ ok: false, permanent: false, reason: networkReason(error) }));
    // Cut short by shutdown: not an attempt; the next worker sends it.
    if (this.disposed && !outcome.ok) return;
    this.unstored.set(delivery.id, { delivery, outcome });
    this.storeOutcomes();
  }

  /** Stores the outcomes not stored yet; throws while the database refuses them. */
  private storeOutcomes(): void {
    for (const [id, { delivery, outcome }] of this.unstored) {
      this.record(delivery, outcome);
      this.unstored.delete(id);
    }
  }

  private record(delivery: PendingDelivery, outcome: DeliveryOutcome): void {
    const fields = { channel: delivery.channel, notification_id: delivery.notificationId, notification_kind: delivery.message.kind, attempt: delivery.attempts + 1 };
    if (outcome.ok) {
      this.deps.outbox.markDelivered(delivery.id, new Date(this.now()));
      this.log.info('notification delivered', fields);
      return;
    }
    const attempt = delivery.attempts + 1;
    // The outbox, shown by the API, keeps reasons masked as the log does (answers are masked as they are read; this covers the others).
    const reason = this.log.redactor.scrub(outcome.reason);
    if (outcome.permanent || attempt >= this.retry.maxAttempts) {
      this.deps.outbox.markFailed(delivery.id, reason, new Date(this.now()));
      this.log.error(`notification not delivered; giving up ${outcome.permanent ? '(the receiver refused it)' : `after ${attempt} attempts`}`, { ...fields, reason });
      return;
    }
    const backoff = Math.min(this.retry.firstDelayMs * 2 ** (attempt - 1), this.retry.maxDelayMs);
    const delayMs = Math.max(backoff, Math.min(outcome.retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
    this.deps.outbox.markRetry(delivery.id, reason, this.now() + delayMs);
    this.log.warn('notification delivery failed; will retry', { ...fields, reason, retry_in_ms: delayMs });
  }

  private async attempt(delivery: PendingDelivery): Promise<DeliveryOutcome> {
    const { slackUrl, webhookUrl, webhookSecret, desktop } = this.deps.channels.config;
    // A timer of our own, not AbortSignal.timeout: AbortSignal.any holds its sources weakly, so a garbage collection
    // during the attempt could drop that timeout, and a receiver that never answers would hold its delivery for good.
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new DOMException('no answer in time', 'TimeoutError')), this.retry.timeoutMs);
    const signal = AbortSignal.any([this.shutdown.signal, timeout.signal]);
    // An error page may quote the request, the URL's token with it (Express's 404 does).
    const mask = (text: string) => this.log.redactor.scrub(text);
    const { message } = delivery;
    try {
      switch (delivery.channel) {
        case 'slack':
          if (slackUrl === null) return notConfigured('slack');
          return await postToSlack(slackUrl, message, { fetch: this.fetch, signal, mask });
        case 'webhook':
          if (webhookUrl === null) return notConfigured('webhook');
          return await postToWebhook(webhookUrl, webhookSecret, delivery.notificationId, message, { fetch: this.fetch, signal, mask });
        case 'desktop':
          if (!this.deps.desktop || !desktop) return notConfigured('desktop');
          this.deps.desktop({ id: delivery.notificationId, kind: message.kind, title: message.title, body: message.body, link: notificationLink(message.kind, message.data) });
          return { ok: true };
        default:
          return delivery.channel satisfies never;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

function notConfigured(channel: NotificationChannel): DeliveryOutcome {
  return { ok: false, permanent: true, reason: `the ${channel} channel is no longer configured` };
}

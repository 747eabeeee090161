import type Database from 'better-sqlite3';
import type { NotificationChannel, NotificationMessage, OutboxEntry } from '../../common/notifications.js';

interface Row {
  id: number;
  notification_id: string;
  channel: NotificationChannel;
  payload: string;
  created_at: string;
  attempts: number;
  next_at: number;
  last_error: string | null;
  delivered_at: string | null;
  failed_at: string | null;
}

/** A delivery still to make: one notification to one channel. */
export interface PendingDelivery {
  id: number;
  notificationId: string;
  channel: NotificationChannel;
  message: NotificationMessage;
  /** Attempts made so far. */
  attempts: number;
}

/** How many finished (delivered or given-up) deliveries are kept for the settings page. */
const FINISHED_KEPT = 500;

/**
 * The notification outbox: one row per notification and channel, written in
 * the same synchronous call that raises the notification, and worked off by
 * the sender. A row is pending until it is delivered or given up, so a worker
 * that dies leaves its pending rows to the next one.
 */
export class NotificationOutbox {
  private readonly statements;
  private readonly enqueueAll: (rows: readonly { notificationId: string; channel: NotificationChannel; message: NotificationMessage; now: number }[]) => void;

  constructor(db: Database.Database) {
    this.statements = {
      insert: db.prepare<[string, string, string, string, number]>(
        'INSERT INTO notifications (notification_id, channel, payload, created_at, attempts, next_at) VALUES (?, ?, ?, ?, 0, ?)',
      ),
      due: db.prepare<[number, string, number], Row>(
        'SELECT * FROM notifications WHERE delivered_at IS NULL AND failed_at IS NULL AND next_at <= ? AND channel NOT IN (SELECT value FROM json_each(?)) ORDER BY next_at, id LIMIT ?',
      ),
      nextDue: db.prepare<[], { next: number | null }>('SELECT min(next_at) AS next FROM notifications WHERE delivered_at IS NULL AND failed_at IS NULL'),
      delivered: db.prepare<[string, number]>('UPDATE notifications SET delivered_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?'),
      retry: db.prepare<[string, number, number]>('UPDATE notifications SET attempts = attempts + 1, last_error = ?, next_at = ? WHERE id = ?'),
      failed: db.prepare<[string, string, number]>('UPDATE notifications SET attempts = attempts + 1, last_error = ?, failed_at = ? WHERE id = ?'),
      recent: db.prepare<[number], Row>('SELECT * FROM notifications ORDER BY id DESC LIMIT ?'),
      prune: db.prepare<[number]>(
        `DELETE FROM notifications
          WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL)
            AND id < (SELECT id FROM notifications ORDER BY id DESC LIMIT 1 OFFSET ?)`,
      ),
    };
    this.enqueueAll = db.transaction((rows) => {
      for (const row of rows) this.statements.insert.run(row.notificationId, row.channel, JSON.stringify(row.message), row.message.at, row.now);
    });
  }

  /** One pending row per channel, all or none, due at once. */
  enqueue(notificationId: string, channels: readonly NotificationChannel[], message: NotificationMessage, now: number): void {
    this.enqueueAll(channels.map((channel) => ({ notificationId, channel, message, now })));
  }

  /** Pending deliveries whose time has come, the longest-waiting first, leaving out the channels in `skip`. */
  due(now: number, limit: number, skip: readonly NotificationChannel[] = []): PendingDelivery[] {
    return this.statements.due.all(now, JSON.stringify(skip), limit).map((row) => ({
      id: row.id,
      notificationId: row.notification_id,
      channel: row.channel,
      message: JSON.parse(row.payload) as NotificationMessage,
      attempts: row.attempts,
    }));
  }

  /** When the next pending delivery is due (epoch ms), or null when nothing is pending. */
  nextDueAt(): number | null {
    return this.statements.nextDue.get()?.next ?? null;
  }

  markDelivered(id: number, at: Date): void {
    this.statements.delivered.run(at.toISOString(), id);
  }

  /** Counts the failed attempt and schedules the next one. */
  markRetry(id: number, reason: string, nextAt: number): void {
    this.statements.retry.run(reason, nextAt, id);
  }

  /** Counts the failed attempt and gives up. */
  markFailed(id: number, reason: string, at: Date): void {
    this.statements.failed.run(reason, at.toISOString(), id);
  }

  /** Newest first. */
  recent(limit: number): OutboxEntry[] {
    return this.statements.recent.all(limit).map(toEntry);
  }

  /** Forgets finished deliveries beyond the newest FINISHED_KEPT rows; pending ones always stay. */
  prune(): number {
    return this.statements.prune.run(FINISHED_KEPT - 1).changes;
  }
}

function toEntry(row: Row): OutboxEntry {
  const message = JSON.parse(row.payload) as NotificationMessage;
  const status = row.delivered_at !== null ? 'delivered' : row.failed_at !== null ? 'failed' : 'pending';
  return {
    id: row.id,
    notificationId: row.notification_id,
    channel: row.channel,
    kind: message.kind,
    title: message.title,
    status,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: row.created_at,
    nextAttemptAt: status === 'pending' ? new Date(row.next_at).toISOString() : null,
    deliveredAt: row.delivered_at,
  };
}

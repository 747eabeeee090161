import type { Migration } from './migration.js';

/**
 * The notification outbox (0006) gets the id a notification shares across its
 * channels (the Standard Webhooks `webhook-id`, the same on every retry) and
 * the time a delivery was given up: a permanent error, or its retries used up.
 */
export const migration0007: Migration = {
  version: 7,
  name: 'notification_outcome',
  up: (db) => {
    db.exec(`
      ALTER TABLE notifications ADD COLUMN notification_id TEXT NOT NULL DEFAULT '';
      ALTER TABLE notifications ADD COLUMN failed_at TEXT;
    `);
  },
};

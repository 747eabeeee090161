import type { Migration } from './migration.js';

/**
 * Dedup keys move from `dedup_keys` (WITHOUT ROWID, keyed by the key) to an
 * append-only log. Provider delivery ids are GUIDs (X-GitHub-Delivery), so
 * each claim inserted into a random page of the key's b-tree: a group commit
 * of ~20 deliveries wrote ~20 more WAL frames for the checkpoint to copy
 * again, about 20 µs more a delivery and a fifth of the throughput, worse as
 * the table grew. A row's seq only grows and its expiry grows with time, so
 * both of its b-trees take it at or near their end; the worker looks keys up
 * in memory instead (DedupRepository). Old rows are copied in the order they
 * were claimed.
 */
export const migration0023: Migration = {
  version: 23,
  name: 'dedup_log',
  up: (db) => {
    db.exec(`
      CREATE TABLE dedup_log (
        seq         INTEGER PRIMARY KEY,
        key         TEXT NOT NULL,
        trigger_id  TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX dedup_log_by_expiry ON dedup_log (expires_at);
      INSERT INTO dedup_log (key, trigger_id, expires_at, created_at)
        SELECT key, trigger_id, expires_at, created_at FROM dedup_keys ORDER BY created_at;
      DROP TABLE dedup_keys;
    `);
  },
};

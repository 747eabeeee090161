import type { Migration } from './migration.js';

/**
 * `deliveries` rebuilt without the unique index on `id` and without
 * AUTOINCREMENT. No query looks a delivery up by id (the inspector pages a
 * trigger's by seq), yet every delivery paid an entry in that index, and
 * another delete when it was pruned; AUTOINCREMENT updated sqlite_sequence
 * on every insert. The ids stay unique by construction (a millisecond prefix
 * and 80 random bits, ids.ts). Without AUTOINCREMENT a new seq is one past
 * the largest, and the newest deliveries are never pruned, so seq still only
 * grows while a trigger has deliveries. The table holds only what the
 * inspector keeps (50 a trigger by default), so the copy is usually quick;
 * with AGENTED_DELIVERIES_KEPT raised and large bodies it is a one-time copy
 * of that much data (in one transaction: the WAL holds it until the next
 * checkpoint).
 */
export const migration0013: Migration = {
  version: 13,
  name: 'deliveries_plain_rowid',
  up: (db) => {
    db.exec(`
      CREATE TABLE deliveries_rebuilt (
        seq           INTEGER PRIMARY KEY,
        id            TEXT NOT NULL,
        trigger_id    TEXT NOT NULL,
        received_at   TEXT NOT NULL,
        headers       TEXT NOT NULL,
        body          BLOB NOT NULL,
        body_bytes    INTEGER NOT NULL,
        truncated     INTEGER NOT NULL,
        verified      INTEGER NOT NULL,
        outcome       TEXT NOT NULL,
        reason        TEXT,
        execution_id  TEXT,
        dedup_key     TEXT
      ) STRICT;
      INSERT INTO deliveries_rebuilt (seq, id, trigger_id, received_at, headers, body, body_bytes, truncated, verified, outcome, reason, execution_id, dedup_key)
        SELECT seq, id, trigger_id, received_at, headers, body, body_bytes, truncated, verified, outcome, reason, execution_id, dedup_key FROM deliveries;
      DROP TABLE deliveries;
      ALTER TABLE deliveries_rebuilt RENAME TO deliveries;
      CREATE INDEX deliveries_by_trigger ON deliveries (trigger_id, seq);
    `);
  },
};

import type { Migration } from './migration.js';

/**
 * execution_logs as an ordinary (rowid) table. As a WITHOUT ROWID table its
 * rows lived in the primary-key b-tree, where a row keeps at most ~1,000
 * bytes in its page (a quarter of a 4 KB page) and spills the rest into an
 * overflow page of its own: a line of ~700 characters or more took a whole
 * extra page, about 4.7 KB on disk, written twice (WAL and checkpoint) —
 * 2× the CPU of the insert. A rowid table keeps rows up to ~4 KB in place
 * (1.1–1.4 KB a line of 700–800 characters). Same columns, same key, so the
 * numbering and every read by (execution_id, seq) are unchanged.
 */
export const migration0008: Migration = {
  version: 8,
  name: 'execution_logs_rowid',
  up: (db) => {
    db.exec(`
      CREATE TABLE execution_logs_rowid (
        execution_id  TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        stream        TEXT NOT NULL,
        text          TEXT NOT NULL,
        ts            TEXT NOT NULL,
        event         TEXT,
        PRIMARY KEY (execution_id, seq)
      ) STRICT;
      INSERT INTO execution_logs_rowid (execution_id, seq, stream, text, ts, event)
        SELECT execution_id, seq, stream, text, ts, event FROM execution_logs ORDER BY execution_id, seq;
      DROP TABLE execution_logs;
      ALTER TABLE execution_logs_rowid RENAME TO execution_logs;
    `);
  },
};

import type { Migration } from './migration.js';

/** Every output line of every execution, numbered per execution (the number is the SSE event id). */
export const migration0004: Migration = {
  version: 4,
  name: 'execution_logs',
  up: (db) => {
    db.exec(`
      CREATE TABLE execution_logs (
        execution_id  TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        stream        TEXT NOT NULL,
        text          TEXT NOT NULL,
        ts            TEXT NOT NULL,
        event         TEXT,
        PRIMARY KEY (execution_id, seq)
      ) STRICT, WITHOUT ROWID;
    `);
  },
};

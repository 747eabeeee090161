import type { Migration } from './migration.js';

/**
 * What each attempt of an execution spent, on its own backend and account.
 * executions.backend and account_id name only the last attempt's (a rate limit
 * moves an execution to another account or backend), so account budgets and the
 * usage report by account and by backend charged all of an execution's spend to
 * where it ended: the account that spent it was under-counted, and kept being
 * used past a hard budget. first_started_at is the execution's, copied, so an
 * attempt counts in the same period as the execution's total.
 *
 * Rows from before have only their execution's total and last backend and
 * account: each started execution becomes one attempt with those, as it
 * counted. Executions are never deleted, so neither are these rows.
 */
export const migration0022: Migration = {
  version: 22,
  name: 'attempt_spend',
  up: (db) => {
    db.exec(`
      CREATE TABLE attempt_spend (
        execution_id      TEXT NOT NULL,
        attempt           INTEGER NOT NULL,
        backend           TEXT NOT NULL,
        account_id        TEXT,
        first_started_at  TEXT NOT NULL,
        input_tokens      INTEGER,
        output_tokens     INTEGER,
        cost_usd          REAL,
        estimated_usd     REAL,
        PRIMARY KEY (execution_id, attempt)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX attempt_spend_by_first_start ON attempt_spend (first_started_at);
      INSERT INTO attempt_spend (execution_id, attempt, backend, account_id, first_started_at, input_tokens, output_tokens, cost_usd, estimated_usd)
        SELECT id, 0, backend, account_id, first_started_at, input_tokens, output_tokens, cost_usd, estimated_usd
          FROM executions WHERE first_started_at IS NOT NULL;
    `);
  },
};

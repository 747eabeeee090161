import type { Migration } from './migration.js';

/**
 * Accounts per backend (their API keys live in the keychain, not here), the
 * events that monitor them, cool-downs after rate limits (per account, or per
 * backend for the environment's own credentials), budgets, the budget
 * thresholds already notified (each crossing notifies once), and an outbox of
 * notifications still to deliver (retried; never in an execution's way).
 */
export const migration0006: Migration = {
  version: 6,
  name: 'accounts_budgets',
  up: (db) => {
    db.exec(`
      CREATE TABLE accounts (
        id           TEXT PRIMARY KEY,
        backend      TEXT NOT NULL,
        name         TEXT NOT NULL,
        has_api_key  INTEGER NOT NULL,
        config_dir   TEXT,
        priority     INTEGER NOT NULL,
        enabled      INTEGER NOT NULL,
        created_at   TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        UNIQUE (backend, name)
      ) STRICT;

      CREATE TABLE account_events (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        credential    TEXT NOT NULL,
        at            TEXT NOT NULL,
        kind          TEXT NOT NULL,
        execution_id  TEXT,
        reset_at      TEXT,
        detail        TEXT
      ) STRICT;
      CREATE INDEX account_events_by_credential ON account_events (credential, at);

      CREATE TABLE cooldowns (
        credential   TEXT PRIMARY KEY,
        until        INTEGER NOT NULL,
        strikes      INTEGER NOT NULL,
        reason       TEXT NOT NULL
      ) STRICT;

      CREATE TABLE budgets (
        id            TEXT PRIMARY KEY,
        scope         TEXT NOT NULL,
        scope_id      TEXT,
        period        TEXT NOT NULL,
        limit_usd     REAL,
        limit_tokens  INTEGER,
        hard          INTEGER NOT NULL,
        created_at    TEXT NOT NULL
      ) STRICT;

      CREATE TABLE budget_alerts (
        budget_id     TEXT NOT NULL,
        period_start  TEXT NOT NULL,
        threshold     INTEGER NOT NULL,
        at            TEXT NOT NULL,
        PRIMARY KEY (budget_id, period_start, threshold)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE notifications (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        channel       TEXT NOT NULL,
        payload       TEXT NOT NULL,
        created_at    TEXT NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        next_at       INTEGER NOT NULL,
        last_error    TEXT,
        delivered_at  TEXT
      ) STRICT;
      CREATE INDEX notifications_pending ON notifications (delivered_at, next_at);

      ALTER TABLE executions ADD COLUMN account_id TEXT;
      ALTER TABLE executions ADD COLUMN cost_estimated INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX executions_by_start ON executions (started_at);
    `);
  },
};

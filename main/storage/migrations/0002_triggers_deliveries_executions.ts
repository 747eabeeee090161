import type { Migration } from './migration.js';

/**
 * Triggers, their inbound deliveries, the dedup keys that make deliveries
 * exactly-once, the executions they queue, sealed secrets, and the audit log. A trigger's
 * definition is kept whole as JSON (validated by common/triggers.ts on the way
 * in); the columns beside it are the ones queries need.
 */
export const migration0002: Migration = {
  version: 2,
  name: 'triggers_deliveries_executions',
  up: (db) => {
    db.exec(`
      CREATE TABLE triggers (
        id          TEXT PRIMARY KEY,
        kind        TEXT NOT NULL,
        enabled     INTEGER NOT NULL,
        definition  TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      ) STRICT;

      CREATE TABLE deliveries (
        seq           INTEGER PRIMARY KEY AUTOINCREMENT,
        id            TEXT NOT NULL UNIQUE,
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
      CREATE INDEX deliveries_by_trigger ON deliveries (trigger_id, seq);

      CREATE TABLE dedup_keys (
        key         TEXT PRIMARY KEY,
        trigger_id  TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,
        created_at  INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX dedup_keys_by_expiry ON dedup_keys (expires_at);

      CREATE TABLE executions (
        seq              INTEGER PRIMARY KEY AUTOINCREMENT,
        id               TEXT NOT NULL UNIQUE,
        trigger_id       TEXT NOT NULL,
        source           TEXT NOT NULL,
        state            TEXT NOT NULL,
        reason           TEXT,
        backend          TEXT NOT NULL,
        model            TEXT,
        account          TEXT,
        attempts         TEXT NOT NULL DEFAULT '[]',
        params           TEXT NOT NULL DEFAULT '{}',
        prompt           TEXT NOT NULL,
        prompt_context   TEXT NOT NULL DEFAULT '[]',
        concurrency_key  TEXT,
        delivery_id      TEXT,
        replay_of        TEXT,
        created_at       TEXT NOT NULL,
        started_at       TEXT,
        ended_at         TEXT,
        exit_code        INTEGER,
        input_tokens     INTEGER,
        output_tokens    INTEGER,
        cost_usd         REAL
      ) STRICT;
      CREATE INDEX executions_by_trigger ON executions (trigger_id, seq);
      CREATE INDEX executions_by_state ON executions (state, seq);

      -- Secrets (trigger webhook secrets) when the OS keychain is bypassed by
      -- AGENTED_API_KEY: AES-256-GCM with a key derived from it, never plain text.
      CREATE TABLE sealed_secrets (
        name        TEXT PRIMARY KEY,
        iv          BLOB NOT NULL,
        tag         BLOB NOT NULL,
        ciphertext  BLOB NOT NULL
      ) STRICT;

      CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at          TEXT NOT NULL,
        action      TEXT NOT NULL,
        actor       TEXT NOT NULL,
        request_id  TEXT,
        target_id   TEXT,
        detail      TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
    `);
  },
};

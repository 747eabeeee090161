import type { Migration } from './migration.js';

/**
 * The time an execution first started, set once (started_at is the start of
 * its current run: a rate-limited execution that waits goes back to the queue
 * without one). Budgets and the usage report count an execution's spend in
 * the period of its first start, so what it spent before it waited still
 * counts while it waits, and after, if it is then cancelled or skipped.
 *
 * Rows from before are filled from the earlier of started_at and their first
 * attempt's start: an execution that waited before this migration kept its
 * spend and its attempts, only its start was gone. executions_by_start, which
 * only the spend queries read, is replaced by the same partial index on the
 * first start.
 */
export const migration0016: Migration = {
  version: 16,
  name: 'executions_first_start',
  up: (db) => {
    db.exec(`
      ALTER TABLE executions ADD COLUMN first_started_at TEXT;
      UPDATE executions SET first_started_at = coalesce(min(started_at, json_extract(attempts, '$[0].startedAt')), started_at, json_extract(attempts, '$[0].startedAt'))
        WHERE started_at IS NOT NULL OR attempts <> '[]';
      DROP INDEX executions_by_start;
      CREATE INDEX executions_by_first_start ON executions (first_started_at) WHERE first_started_at IS NOT NULL;
    `);
  },
};

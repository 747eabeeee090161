import type { Migration } from './migration.js';

/**
 * executions_by_start (0006) only for executions that started. An execution
 * is written queued, with no start time: every webhook delivery paid an
 * index entry that no query reads (the budget and usage queries select a
 * range of start times, which implies a start time, so SQLite still uses the
 * partial index for them).
 */
export const migration0012: Migration = {
  version: 12,
  name: 'executions_by_start_partial',
  up: (db) => {
    db.exec('DROP INDEX executions_by_start');
    db.exec('CREATE INDEX executions_by_start ON executions (started_at) WHERE started_at IS NOT NULL');
  },
};

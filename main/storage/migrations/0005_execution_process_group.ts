import type { Migration } from './migration.js';

/**
 * The process group of a running execution, so a worker that starts after a
 * crash can end what the dead one left running (and mark it interrupted).
 * Queued executions are found by state in FIFO order (executions_by_state).
 */
export const migration0005: Migration = {
  version: 5,
  name: 'execution_process_group',
  up: (db) => {
    db.exec('ALTER TABLE executions ADD COLUMN pgid INTEGER;');
  },
};

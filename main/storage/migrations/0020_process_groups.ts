import type { Migration } from './migration.js';

/**
 * The process groups the worker starts outside an execution (`<cli>
 * --version`, the login shell read for its PATH) while they run, with the
 * boot their id was handed out in: a worker killed with SIGKILL leaves them
 * running, and the next one ends them at start (ProcessGroupRepository).
 * Executions keep theirs on their own row (0005, 0011).
 */
export const migration0020: Migration = {
  version: 20,
  name: 'process_groups',
  up: (db) => {
    db.exec('CREATE TABLE process_groups (pgid INTEGER PRIMARY KEY, boot TEXT NOT NULL, command TEXT NOT NULL, started_at TEXT NOT NULL);');
  },
};

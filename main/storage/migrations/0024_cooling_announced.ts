import type { Migration } from './migration.js';

/**
 * The backends whose accounts were all cooling down after rate limits and
 * were said to be (one notification an episode, until one gets through).
 * Kept in memory before, so a worker restarted during the episode said it
 * again, while the cool-downs themselves were stored.
 */
export const migration0024: Migration = {
  version: 24,
  name: 'cooling_announced',
  up: (db) => {
    db.exec('CREATE TABLE cooling_announced (backend TEXT PRIMARY KEY) STRICT, WITHOUT ROWID');
  },
};

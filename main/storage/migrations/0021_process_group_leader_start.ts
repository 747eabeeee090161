import type { Migration } from './migration.js';

/**
 * When the leader of a recorded process group started (clock ticks since boot, from
 * /proc/<pid>/stat): within one boot a group id is handed out again once its group is
 * gone, so a worker that starts long after one died could otherwise signal whatever
 * program holds that number now (executions.pgid, process_groups).
 */
export const migration0021: Migration = {
  version: 21,
  name: 'process_group_leader_start',
  up: (db) => {
    db.exec(`
      ALTER TABLE executions ADD COLUMN pgid_started INTEGER;
      ALTER TABLE process_groups ADD COLUMN leader_started INTEGER;
    `);
  },
};

import type { Migration } from './migration.js';

/**
 * The boot a process group id was handed out in (executions/boot-identity.ts):
 * a worker starting after a reboot must not signal whoever has that number
 * now. Rows from before stay NULL and are taken as the current boot.
 */
export const migration0011: Migration = {
  version: 11,
  name: 'execution_process_group_boot',
  up: (db) => {
    db.exec('ALTER TABLE executions ADD COLUMN pgid_boot TEXT;');
  },
};

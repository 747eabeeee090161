import type { Migration } from './migration.js';

/**
 * The highest output line number an execution may have handed to a live
 * client. Lines are numbered and streamed as they arrive but stored in
 * batches, so a worker killed between two batches has shown numbers that are
 * not stored; the next worker numbers its lines after this mark instead, and
 * a client resuming by its last id does not miss them (see LogStore).
 */
export const migration0019: Migration = {
  version: 19,
  name: 'executions_log_seq_reserved',
  up: (db) => {
    db.exec('ALTER TABLE executions ADD COLUMN log_seq_reserved INTEGER');
  },
};

import type { Migration } from './migration.js';

/** The last tick each schedule trigger ran (or decided to skip), to find the ticks missed while Agented was stopped. */
export const migration0003: Migration = {
  version: 3,
  name: 'schedule_state',
  up: (db) => {
    db.exec(`
      CREATE TABLE schedule_state (
        trigger_id    TEXT PRIMARY KEY,
        last_tick_at  INTEGER NOT NULL
      ) STRICT;
    `);
  },
};

import type { Migration } from './migration.js';

/**
 * Browser sessions ended by a logout before their cookies expire
 * (SessionCookies, main/server/session.ts). A row lives until no cookie of
 * its session can be valid any more (`expires_at`, ms), then a later logout
 * deletes it: the table holds only the logouts of the last 30 days. Cookies
 * are checked against it by its primary key.
 */
export const migration0015: Migration = {
  version: 15,
  name: 'revoked_sessions',
  up: (db) => {
    db.exec(`CREATE TABLE revoked_sessions (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;`);
  },
};

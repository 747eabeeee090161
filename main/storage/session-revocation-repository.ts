import type Database from 'better-sqlite3';

/**
 * The revoked browser sessions (migration 0015), so a logout holds across a
 * worker restart. Logouts are rare: each one also deletes the entries whose
 * sessions have ended by themselves, which keeps the table small without a
 * pruner.
 */
export class SessionRevocationRepository {
  private readonly findStatement: Database.Statement<[string], { found: number }>;
  private readonly insertStatement: Database.Statement<[string, number]>;
  private readonly pruneStatement: Database.Statement<[number]>;
  private readonly revokeTransaction: (id: string, until: number, now: number) => void;

  constructor(db: Database.Database) {
    this.findStatement = db.prepare('SELECT 1 AS found FROM revoked_sessions WHERE id = ?');
    this.insertStatement = db.prepare('INSERT INTO revoked_sessions (id, expires_at) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)');
    this.pruneStatement = db.prepare('DELETE FROM revoked_sessions WHERE expires_at <= ?');
    this.revokeTransaction = db.transaction((id: string, until: number, now: number) => {
      this.pruneStatement.run(now);
      this.insertStatement.run(id, until);
    });
  }

  /** Asked for every cookie-authenticated request: one primary-key look-up. */
  isRevoked(id: string): boolean {
    return this.findStatement.get(id) !== undefined;
  }

  /** Remembers the session as ended until `until` (ms); forgets those ended before `now`. */
  revoke(id: string, until: number, now: number): void {
    this.revokeTransaction(id, until, now);
  }
}

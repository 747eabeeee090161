import type Database from 'better-sqlite3';

/**
 * Dedup keys: the unique constraint that makes a delivery (or a schedule
 * tick) start at most one execution. A key is live until `expires_at`; after
 * that the same key may be claimed again, and the pruner deletes it.
 */
export class DedupRepository {
  private readonly claimStatement: Database.Statement<[string, string, number, number, number]>;
  private readonly pruneStatement: Database.Statement<[number, number]>;
  private readonly countStatement: Database.Statement<[], { count: number }>;

  constructor(db: Database.Database) {
    this.claimStatement = db.prepare(
      `INSERT INTO dedup_keys (key, trigger_id, expires_at, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(key) DO UPDATE SET expires_at = excluded.expires_at, created_at = excluded.created_at
       WHERE dedup_keys.expires_at <= ?`,
    );
    this.pruneStatement = db.prepare('DELETE FROM dedup_keys WHERE key IN (SELECT key FROM dedup_keys WHERE expires_at <= ? LIMIT ?)');
    this.countStatement = db.prepare('SELECT count(*) AS count FROM dedup_keys');
  }

  /** True when the key was free (or expired) and is now ours; false for a live duplicate. Call inside the delivery's transaction. */
  claim(triggerId: string, key: string, ttlMs: number, now: number): boolean {
    return this.claimStatement.run(`${triggerId}:${key}`, triggerId, now + ttlMs, now, now).changes > 0;
  }

  /** Deletes keys expired at `now`, at most `limit` of them (-1: all). */
  prune(now: number, limit = -1): number {
    return this.pruneStatement.run(now, limit).changes;
  }

  count(): number {
    return this.countStatement.get()!.count;
  }
}

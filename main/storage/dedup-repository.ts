import type Database from 'better-sqlite3';
import type { HeldUntilCommit } from './group-commit.js';

interface Claim {
  seq: number;
  expiresAt: number;
}

interface PendingClaim extends Claim {
  /** Its place among the claims made in transactions (see mark). */
  number: number;
}

/**
 * Dedup keys: what makes a delivery (or a schedule tick) start at most one
 * execution. A key is live until its expiry; after that the same key may be
 * claimed again, and the pruner deletes its rows.
 *
 * The rows are an append-only log (migration 23): provider delivery ids are
 * GUIDs, and keeping them in a b-tree keyed by the key cost a random page
 * write per delivery. Lookups go to `live`, a map of every unexpired key to
 * its newest row, rebuilt from the log at start. The map can stand in for an
 * index because the worker is the only writer: the data folder is locked
 * (data-dir-lock.ts), and nothing else in it writes this table.
 *
 * A claim made in a transaction is not in `live` until the transaction is
 * known to have committed: it waits in `pending`, and is checked against its
 * row, which a rollback (of the transaction or of a group commit's savepoint)
 * removes. Transactions here are synchronous, so one has ended by the next
 * microtask, when the pending claims whose rows exist move to `live` — unless
 * the caller that ran the transaction said it committed whole
 * (`committedSince`, a group commit's batch), which spares that read.
 */
export class DedupRepository implements HeldUntilCommit {
  private readonly db: Database.Database;
  private readonly insertStatement: Database.Statement<[string, string, number, number]>;
  private readonly rowStatement: Database.Statement<[number, string], { expires_at: number }>;
  private readonly storedStatement: Database.Statement<[string], { seq: number; key: string; expires_at: number }>;
  private readonly pruneStatement: Database.Statement<[number, number], { seq: number; key: string }>;
  private readonly countStatement: Database.Statement<[], { count: number }>;
  /** Full key (`triggerId:key`) → its newest committed row, for every key not expired when it was read. */
  private readonly live = new Map<string, Claim>();
  /**
   * Full key → the rows inserted for it by transactions not yet known to be committed. Usually one; more when one
   * was rolled back and the key claimed again, or when it had expired by the `now` of a later claim in the same turn
   * (each delivery brings the time it arrived, so a turn's claims need not come in the order of their `now`).
   */
  private pending = new Map<string, PendingClaim[]>();
  /** Claims made in transactions so far. */
  private claimsInTransactions = 0;

  constructor(db: Database.Database, now = Date.now()) {
    this.db = db;
    this.insertStatement = db.prepare('INSERT INTO dedup_log (key, trigger_id, expires_at, created_at) VALUES (?, ?, ?, ?)');
    // By key as well as seq: a rolled-back row's seq is handed out again, to whichever key is claimed next.
    this.rowStatement = db.prepare('SELECT expires_at FROM dedup_log WHERE seq = ? AND key = ?');
    this.storedStatement = db.prepare('SELECT seq, key, expires_at FROM dedup_log WHERE seq IN (SELECT value FROM json_each(?))');
    this.pruneStatement = db.prepare(
      'DELETE FROM dedup_log WHERE seq IN (SELECT seq FROM dedup_log WHERE expires_at <= ? LIMIT ?) RETURNING seq, key',
    );
    this.countStatement = db.prepare('SELECT count(*) AS count FROM dedup_log');
    const unexpired = db.prepare<[number], { seq: number; key: string; expires_at: number }>(
      'SELECT seq, key, expires_at FROM dedup_log WHERE expires_at > ?',
    );
    for (const row of unexpired.iterate(now)) this.keepNewest(row.key, { seq: row.seq, expiresAt: row.expires_at });
  }

  /** True when the key was free (or expired) and is now ours; false for a live duplicate. Call inside the delivery's transaction. */
  claim(triggerId: string, key: string, ttlMs: number, now: number): boolean {
    const fullKey = `${triggerId}:${key}`;
    const committed = this.live.get(fullKey);
    if (committed !== undefined && committed.expiresAt > now) return false;
    const uncertain = this.pending.get(fullKey) ?? [];
    for (const { seq } of uncertain) {
      // Present: committed, or written earlier in this transaction; gone: rolled back.
      const row = this.rowStatement.get(seq, fullKey);
      if (row !== undefined && row.expires_at > now) return false;
    }
    const expiresAt = now + ttlMs;
    const claim = { seq: Number(this.insertStatement.run(fullKey, triggerId, expiresAt, now).lastInsertRowid), expiresAt };
    if (!this.db.inTransaction) {
      this.keepNewest(fullKey, claim);
      return true;
    }
    if (this.pending.size === 0) queueMicrotask(() => this.settle());
    this.claimsInTransactions += 1;
    this.pending.set(fullKey, [...uncertain, { ...claim, number: this.claimsInTransactions }]);
    return true;
  }

  mark(): number {
    return this.claimsInTransactions;
  }

  /** The claims made since `mark` are committed: live at once, without settle's read. Earlier ones are left to it. */
  committedSince(mark: number): void {
    for (const [fullKey, claims] of this.pending) {
      if (claims.every((claim) => claim.number <= mark)) continue;
      for (const claim of claims) if (claim.number > mark) this.keepNewest(fullKey, { seq: claim.seq, expiresAt: claim.expiresAt });
      const earlier = claims.filter((claim) => claim.number <= mark);
      if (earlier.length === 0) this.pending.delete(fullKey);
      else this.pending.set(fullKey, earlier);
    }
  }

  /** Deletes rows expired at `now`, at most `limit` of them (-1: all). */
  prune(now: number, limit = -1): number {
    const deleted = this.pruneStatement.all(now, limit);
    for (const { seq, key } of deleted) {
      // A newer row of the same key stays live.
      if (this.live.get(key)?.seq === seq) this.live.delete(key);
    }
    return deleted.length;
  }

  count(): number {
    return this.countStatement.get()!.count;
  }

  /**
   * Moves the pending claims whose rows were committed to `live`; the others were rolled back, and their keys stay
   * free. A row numbered as a pending claim was inserted since the last settle, by a claim (a rolled-back claim's
   * number may have gone to another key's), so each row found is a committed claim of its own key.
   */
  private settle(): void {
    const pending = this.pending;
    this.pending = new Map();
    if (pending.size === 0 || !this.db.open) return;
    const seqs = [...pending.values()].flat().map((claim) => claim.seq);
    for (const row of this.storedStatement.iterate(JSON.stringify(seqs))) this.keepNewest(row.key, { seq: row.seq, expiresAt: row.expires_at });
  }

  private keepNewest(fullKey: string, claim: Claim): void {
    const known = this.live.get(fullKey);
    if (known === undefined || known.seq < claim.seq) this.live.set(fullKey, claim);
  }
}

import type Database from 'better-sqlite3';
import type { Delivery, DeliveryOutcome, SignatureCheck } from '../../common/triggers.js';

export interface NewDelivery {
  id: string;
  triggerId: string;
  receivedAt: string;
  headers: Record<string, string>;
  body: Buffer;
  bodyBytes: number;
  truncated: boolean;
  verified: boolean;
  signatureCheck: SignatureCheck;
  outcome: DeliveryOutcome;
  reason: string | null;
  executionId: string | null;
  dedupKey: string | null;
}

/** A delivery as the statements bind it, and the trigger's limit. */
interface DeliveryParameters {
  keep: number;
  id: string;
  triggerId: string;
  receivedAt: string;
  headers: string;
  body: Buffer;
  bodyBytes: number;
  truncated: number;
  verified: number;
  signatureCheck: SignatureCheck;
  outcome: DeliveryOutcome;
  reason: string | null;
  executionId: string | null;
  dedupKey: string | null;
}

interface Row {
  seq: number;
  trigger_seq: number;
  id: string;
  trigger_id: string;
  received_at: string;
  headers: string;
  body: Buffer;
  body_bytes: number;
  truncated: number;
  verified: number;
  signature_check: SignatureCheck | null;
  outcome: DeliveryOutcome;
  reason: string | null;
  execution_id: string | null;
  dedup_key: string | null;
}

/**
 * The deliveries the inspector shows: each trigger's newest, `keep` of them
 * (AGENTED_DELIVERIES_KEPT). A trigger's deliveries are numbered among
 * themselves (`trigger_seq`, with no gaps: they only ever leave from the
 * oldest end). Once a trigger holds `keep`, a new delivery is written over
 * its oldest one's row and takes the next number, in the transaction that
 * records it — so the table holds what is kept and no more, a burst reuses
 * the same pages, and nothing waits for a pruning pass. Inserting the new
 * row and deleting the oldest instead freed a page and took another for
 * every delivery (with their b-tree and index changes): a tenth of the
 * serving thread's time under a webhook burst.
 */
export class DeliveryRepository {
  private readonly insertStatement: Database.Statement<[DeliveryParameters]>;
  private readonly overwriteOldest: Database.Statement<[DeliveryParameters]>;
  private readonly selectPage: Database.Statement<[string, number, number], Row>;
  private readonly triggersWithDeliveries: Database.Statement<[], { trigger_id: string }>;
  private readonly pruneTrigger: Database.Statement<[string, string, number, number]>;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare(
      `INSERT INTO deliveries (id, trigger_id, received_at, headers, body, body_bytes, truncated, verified, signature_check, outcome, reason, execution_id, dedup_key, trigger_seq)
       VALUES (@id, @triggerId, @receivedAt, @headers, @body, @bodyBytes, @truncated, @verified, @signatureCheck, @outcome, @reason, @executionId, @dedupKey,
               (SELECT coalesce(max(trigger_seq), 0) + 1 FROM deliveries WHERE trigger_id = @triggerId))`,
    );
    // The oldest row, if the trigger holds at least `keep` (numbers without gaps: the oldest is at most newest − keep + 1).
    this.overwriteOldest = db.prepare(
      `UPDATE deliveries SET id = @id, received_at = @receivedAt, headers = @headers, body = @body, body_bytes = @bodyBytes, truncated = @truncated,
         verified = @verified, signature_check = @signatureCheck, outcome = @outcome, reason = @reason, execution_id = @executionId, dedup_key = @dedupKey,
         trigger_seq = (SELECT max(trigger_seq) + 1 FROM deliveries WHERE trigger_id = @triggerId)
       WHERE seq = (SELECT seq FROM deliveries WHERE trigger_id = @triggerId
                      AND trigger_seq <= (SELECT max(trigger_seq) FROM deliveries WHERE trigger_id = @triggerId) - @keep + 1
                    ORDER BY trigger_seq LIMIT 1)`,
    );
    this.selectPage = db.prepare('SELECT * FROM deliveries WHERE trigger_id = ? AND trigger_seq < ? ORDER BY trigger_seq DESC LIMIT ?');
    // A skip scan of deliveries_by_trigger (one seek per trigger): DISTINCT read every entry, once per prune chunk.
    this.triggersWithDeliveries = db.prepare(
      `WITH RECURSIVE next(trigger_id) AS (
         SELECT MIN(trigger_id) FROM deliveries
         UNION ALL
         SELECT (SELECT MIN(trigger_id) FROM deliveries WHERE trigger_id > next.trigger_id) FROM next WHERE next.trigger_id IS NOT NULL)
       SELECT trigger_id FROM next WHERE trigger_id IS NOT NULL`,
    );
    // The cut from the newest number (no gaps, as above): an OFFSET of `keep` walked up to 10,000 index entries per trigger every pass.
    this.pruneTrigger = db.prepare(
      `DELETE FROM deliveries WHERE seq IN (
         SELECT seq FROM deliveries WHERE trigger_id = ? AND trigger_seq <= (
           SELECT max(trigger_seq) FROM deliveries WHERE trigger_id = ?) - ?
         ORDER BY trigger_seq LIMIT ?)`,
    );
  }

  /**
   * Records a delivery as its trigger's newest, over the oldest one's row
   * when the trigger already holds `keep`. Holding more (the limit was
   * lowered), it keeps that many until the pruner's next pass.
   */
  add(delivery: NewDelivery, keep: number): void {
    // One object for both statements (a statement takes the named parameters it has and ignores the rest).
    const parameters: DeliveryParameters = {
      keep,
      id: delivery.id,
      triggerId: delivery.triggerId,
      receivedAt: delivery.receivedAt,
      headers: JSON.stringify(delivery.headers),
      body: delivery.body,
      bodyBytes: delivery.bodyBytes,
      truncated: delivery.truncated ? 1 : 0,
      verified: delivery.verified ? 1 : 0,
      signatureCheck: delivery.signatureCheck,
      outcome: delivery.outcome,
      reason: delivery.reason,
      executionId: delivery.executionId,
      dedupKey: delivery.dedupKey,
    };
    if (this.overwriteOldest.run(parameters).changes === 0) this.insertStatement.run(parameters);
  }

  /** Newest first; `beforeSeq` (a trigger_seq) pages backwards. Returns the rows and the cursor of the next page. */
  page(triggerId: string, beforeSeq: number, limit: number): { items: Delivery[]; nextCursor: string | null } {
    const rows = this.selectPage.all(triggerId, beforeSeq, limit + 1);
    const items = rows.slice(0, limit).map((row) => ({
      id: row.id,
      triggerId: row.trigger_id,
      receivedAt: row.received_at,
      headers: JSON.parse(row.headers) as Record<string, string>,
      body: row.body.toString('utf8'),
      bodyBytes: row.body_bytes,
      truncated: row.truncated === 1,
      verified: row.verified === 1,
      signatureCheck: row.signature_check,
      outcome: row.outcome,
      reason: row.reason,
      executionId: row.execution_id,
      dedupKey: row.dedup_key,
    }));
    return { items, nextCursor: rows.length > limit ? String(rows[limit - 1]!.trigger_seq) : null };
  }

  /** Keeps the newest `keep` deliveries of one trigger, deleting at most `limit` of the oldest of the rest (-1: all); answers how many it deleted. */
  private keepNewest(triggerId: string, keep: number, limit = -1): number {
    return this.pruneTrigger.run(triggerId, triggerId, keep, limit).changes;
  }

  /** Keeps the newest `keep` deliveries of every trigger, deleting the oldest of the rest, at most `limit` in all (-1: all). */
  prune(keep: number, limit = -1): number {
    let removed = 0;
    for (const { trigger_id: triggerId } of this.triggersWithDeliveries.all()) {
      if (limit >= 0 && removed >= limit) break;
      removed += this.keepNewest(triggerId, keep, limit < 0 ? -1 : limit - removed);
    }
    return removed;
  }
}

import type Database from 'better-sqlite3';
import type { Delivery, DeliveryOutcome } from '../../common/triggers.js';

export interface NewDelivery {
  id: string;
  triggerId: string;
  receivedAt: string;
  headers: Record<string, string>;
  body: Buffer;
  bodyBytes: number;
  truncated: boolean;
  verified: boolean;
  outcome: DeliveryOutcome;
  reason: string | null;
  executionId: string | null;
  dedupKey: string | null;
}

interface Row {
  seq: number;
  id: string;
  trigger_id: string;
  received_at: string;
  headers: string;
  body: Buffer;
  body_bytes: number;
  truncated: number;
  verified: number;
  outcome: DeliveryOutcome;
  reason: string | null;
  execution_id: string | null;
  dedup_key: string | null;
}

export class DeliveryRepository {
  private readonly insertStatement: Database.Statement<unknown[]>;
  private readonly selectPage: Database.Statement<[string, number, number], Row>;
  private readonly triggersWithDeliveries: Database.Statement<[], { trigger_id: string }>;
  private readonly pruneTrigger: Database.Statement<[string, string, number, number]>;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare(
      `INSERT INTO deliveries (id, trigger_id, received_at, headers, body, body_bytes, truncated, verified, outcome, reason, execution_id, dedup_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.selectPage = db.prepare('SELECT * FROM deliveries WHERE trigger_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?');
    // A skip scan of deliveries_by_trigger (one seek per trigger): DISTINCT read every entry, once per prune chunk.
    this.triggersWithDeliveries = db.prepare(
      `WITH RECURSIVE next(trigger_id) AS (
         SELECT MIN(trigger_id) FROM deliveries
         UNION ALL
         SELECT (SELECT MIN(trigger_id) FROM deliveries WHERE trigger_id > next.trigger_id) FROM next WHERE next.trigger_id IS NOT NULL)
       SELECT trigger_id FROM next WHERE trigger_id IS NOT NULL`,
    );
    this.pruneTrigger = db.prepare(
      `DELETE FROM deliveries WHERE seq IN (
         SELECT seq FROM deliveries WHERE trigger_id = ? AND seq < (
           SELECT seq FROM deliveries WHERE trigger_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)
         ORDER BY seq LIMIT ?)`,
    );
  }

  insert(delivery: NewDelivery): void {
    this.insertStatement.run(
      delivery.id,
      delivery.triggerId,
      delivery.receivedAt,
      JSON.stringify(delivery.headers),
      delivery.body,
      delivery.bodyBytes,
      delivery.truncated ? 1 : 0,
      delivery.verified ? 1 : 0,
      delivery.outcome,
      delivery.reason,
      delivery.executionId,
      delivery.dedupKey,
    );
  }

  /** Newest first; `beforeSeq` pages backwards. Returns the rows and the cursor of the next page. */
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
      outcome: row.outcome,
      reason: row.reason,
      executionId: row.execution_id,
      dedupKey: row.dedup_key,
    }));
    return { items, nextCursor: rows.length > limit ? String(rows[limit - 1]!.seq) : null };
  }

  /** Keeps the newest `keep` deliveries of one trigger, deleting at most `limit` of the oldest of the rest (-1: all); answers how many it deleted. */
  keepNewest(triggerId: string, keep: number, limit = -1): number {
    return this.pruneTrigger.run(triggerId, triggerId, keep - 1, limit).changes;
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

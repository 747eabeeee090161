import type Database from 'better-sqlite3';
import type { AuditAction, AuditEntry } from '../../common/audit.js';

export interface AuditRecord {
  action: AuditAction;
  actor: string;
  requestId: string | null;
  targetId: string | null;
  detail?: Record<string, unknown>;
}

/** Which entries a page holds; an absent field selects every entry. */
export interface AuditFilter {
  action?: AuditAction;
  targetId?: string;
  /** at ≥ since: an ISO instant in UTC as toISOString writes it (the stored form, so text order is time order). */
  since?: string;
}

interface Row {
  id: number;
  at: string;
  action: AuditAction;
  actor: string;
  request_id: string | null;
  target_id: string | null;
  detail: string;
}

export class AuditRepository {
  private readonly insertStatement: Database.Statement<[string, string, string, string | null, string | null, string]>;
  private readonly selectPage: Database.Statement<[{ before: number; limit: number; action: string | null; targetId: string | null; since: string | null }], Row>;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare('INSERT INTO audit_log (at, action, actor, request_id, target_id, detail) VALUES (?, ?, ?, ?, ?, ?)');
    // The log holds administrative actions, not traffic: walking it by id and testing each filter is enough.
    this.selectPage = db.prepare(
      `SELECT * FROM audit_log
        WHERE id < @before
          AND (@action IS NULL OR action = @action)
          AND (@targetId IS NULL OR target_id = @targetId)
          AND (@since IS NULL OR at >= @since)
        ORDER BY id DESC LIMIT @limit`,
    );
  }

  record(entry: AuditRecord, now = new Date()): void {
    this.insertStatement.run(now.toISOString(), entry.action, entry.actor, entry.requestId, entry.targetId, JSON.stringify(entry.detail ?? {}));
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  page(before: number, limit: number, filter: AuditFilter = {}): AuditEntry[] {
    return this.selectPage.all({ before, limit, action: filter.action ?? null, targetId: filter.targetId ?? null, since: filter.since ?? null }).map((row) => ({
      id: row.id,
      at: row.at,
      action: row.action,
      actor: row.actor,
      requestId: row.request_id,
      targetId: row.target_id,
      detail: JSON.parse(row.detail) as Record<string, unknown>,
    }));
  }
}

import type Database from 'better-sqlite3';
import type { AuditAction, AuditEntry } from '../../common/audit.js';

export interface AuditRecord {
  action: AuditAction;
  actor: string;
  requestId: string | null;
  targetId: string | null;
  detail?: Record<string, unknown>;
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
  private readonly selectPage: Database.Statement<[number, number], Row>;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare('INSERT INTO audit_log (at, action, actor, request_id, target_id, detail) VALUES (?, ?, ?, ?, ?, ?)');
    this.selectPage = db.prepare('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?');
  }

  record(entry: AuditRecord, now = new Date()): void {
    this.insertStatement.run(now.toISOString(), entry.action, entry.actor, entry.requestId, entry.targetId, JSON.stringify(entry.detail ?? {}));
  }

  /** Newest first; `before` is the id of the last entry of the previous page. */
  page(before: number, limit: number): AuditEntry[] {
    return this.selectPage.all(before, limit).map((row) => ({
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

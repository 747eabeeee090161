import type Database from 'better-sqlite3';
import { TriggerCreate, type TriggerDefinition, type TriggerKind } from '../../common/triggers.js';

export interface StoredTrigger {
  id: string;
  definition: TriggerDefinition;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: string;
  kind: TriggerKind;
  enabled: number;
  definition: string;
  created_at: string;
  updated_at: string;
}

function fromRow(row: Row): StoredTrigger {
  // Stored definitions were validated on the way in; parsing again applies defaults added since.
  return { id: row.id, definition: TriggerCreate.parse(JSON.parse(row.definition)), createdAt: row.created_at, updatedAt: row.updated_at };
}

export class TriggerRepository {
  private readonly insertStatement: Database.Statement<[string, string, number, string, string, string]>;
  private readonly updateStatement: Database.Statement<[string, number, string, string]>;
  private readonly selectOne: Database.Statement<[string], Row>;
  private readonly selectPage: Database.Statement<[string, number], Row>;
  private readonly selectEnabledByKind: Database.Statement<[TriggerKind], Row>;
  private readonly deleteStatement: Database.Statement<[string]>;
  private readonly deleteDeliveries: Database.Statement<[string]>;
  private readonly deleteScheduleState: Database.Statement<[string]>;
  private readonly deleteWithDeliveries: (id: string) => boolean;

  constructor(db: Database.Database) {
    this.insertStatement = db.prepare('INSERT INTO triggers (id, kind, enabled, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.updateStatement = db.prepare('UPDATE triggers SET definition = ?, enabled = ?, updated_at = ? WHERE id = ?');
    this.selectOne = db.prepare('SELECT * FROM triggers WHERE id = ?');
    this.selectPage = db.prepare('SELECT * FROM triggers WHERE id > ? ORDER BY id LIMIT ?');
    this.selectEnabledByKind = db.prepare('SELECT * FROM triggers WHERE kind = ? AND enabled = 1 ORDER BY id');
    this.deleteStatement = db.prepare('DELETE FROM triggers WHERE id = ?');
    this.deleteDeliveries = db.prepare('DELETE FROM deliveries WHERE trigger_id = ?');
    this.deleteScheduleState = db.prepare('DELETE FROM schedule_state WHERE trigger_id = ?');
    this.deleteWithDeliveries = db.transaction((id: string) => {
      this.deleteDeliveries.run(id);
      this.deleteScheduleState.run(id);
      return this.deleteStatement.run(id).changes > 0;
    });
  }

  insert(id: string, definition: TriggerDefinition, now: string): StoredTrigger {
    this.insertStatement.run(id, definition.kind, definition.enabled ? 1 : 0, JSON.stringify(definition), now, now);
    return { id, definition, createdAt: now, updatedAt: now };
  }

  update(id: string, definition: TriggerDefinition, now: string): void {
    this.updateStatement.run(JSON.stringify(definition), definition.enabled ? 1 : 0, now, id);
  }

  get(id: string): StoredTrigger | undefined {
    const row = this.selectOne.get(id);
    return row ? fromRow(row) : undefined;
  }

  /** Ordered by id; `after` is the last id of the previous page. */
  page(after: string, limit: number): StoredTrigger[] {
    return this.selectPage.all(after, limit).map(fromRow);
  }

  enabledOfKind(kind: TriggerKind): StoredTrigger[] {
    return this.selectEnabledByKind.all(kind).map(fromRow);
  }

  /**
   * Deletes the trigger, its deliveries and its schedule's mark: the inspector shows deliveries per trigger, and
   * the pruner keeps each trigger's newest, so nothing else would ever remove them. Its executions stay, for history.
   */
  delete(id: string): boolean {
    return this.deleteWithDeliveries(id);
  }
}

import type Database from 'better-sqlite3';

export class ScheduleStateRepository {
  private readonly selectStatement: Database.Statement<[string], { last_tick_at: number }>;
  private readonly upsertStatement: Database.Statement<[string, number]>;

  constructor(db: Database.Database) {
    this.selectStatement = db.prepare('SELECT last_tick_at FROM schedule_state WHERE trigger_id = ?');
    this.upsertStatement = db.prepare(
      `INSERT INTO schedule_state (trigger_id, last_tick_at) VALUES (?, ?)
       ON CONFLICT(trigger_id) DO UPDATE SET last_tick_at = max(last_tick_at, excluded.last_tick_at)`,
    );
  }

  lastTick(triggerId: string): number | undefined {
    return this.selectStatement.get(triggerId)?.last_tick_at;
  }

  /** Moves the mark forward only. */
  markTick(triggerId: string, at: number): void {
    this.upsertStatement.run(triggerId, at);
  }
}

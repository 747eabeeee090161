import type Database from 'better-sqlite3';

/** Stored settings, as the strings the configuration parser reads. */
export class SettingsRepository {
  private readonly selectAll: Database.Statement<[], { name: string; value: string }>;
  private readonly upsert: Database.Statement<[string, string]>;
  private readonly remove: Database.Statement<[string]>;
  private readonly setManyInTransaction: (entries: readonly (readonly [string, string | null])[]) => void;

  constructor(db: Database.Database) {
    this.selectAll = db.prepare('SELECT name, value FROM settings ORDER BY name');
    this.upsert = db.prepare(
      `INSERT INTO settings (name, value) VALUES (?, ?)
       ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    );
    this.remove = db.prepare('DELETE FROM settings WHERE name = ?');
    this.setManyInTransaction = db.transaction((entries: readonly (readonly [string, string | null])[]) => {
      for (const [name, value] of entries) {
        if (value === null) this.remove.run(name);
        else this.upsert.run(name, value);
      }
    });
  }

  /** Writes all or none; null removes a stored value. */
  setMany(entries: readonly (readonly [string, string | null])[]): void {
    this.setManyInTransaction(entries);
  }

  all(): Record<string, string> {
    return Object.fromEntries(this.selectAll.all().map((row) => [row.name, row.value]));
  }

  set(name: string, value: string): void {
    this.upsert.run(name, value);
  }

  delete(name: string): void {
    this.remove.run(name);
  }
}

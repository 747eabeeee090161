import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrations as defaultMigrations } from './migrations/index.js';
import type { Migration } from './migrations/migration.js';

export class DatabaseTooNewError extends Error {
  readonly code = 'ERR_DATABASE_TOO_NEW';
  constructor(
    readonly file: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `The database ${file} has schema version ${found}, but this Agented knows versions up to ${supported}. ` +
        'It was written by a newer Agented: run that version, or point AGENTED_DATA_DIR at another folder.',
    );
    this.name = 'DatabaseTooNewError';
  }
}

export interface OpenDatabaseOptions {
  file: string;
  migrations?: readonly Migration[];
}

/**
 * Opens (creating if needed) the SQLite file in WAL mode and brings its schema
 * up to date. Each migration runs in its own transaction together with the
 * `user_version` bump, so a crash leaves the schema at a whole version.
 */
export function openDatabase({ file, migrations = defaultMigrations }: OpenDatabaseOptions): Database.Database {
  assertOrdered(migrations);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 5000');
    // Before anything else: setting the journal mode already writes to the file and reads its whole schema, which
    // a newer Agented may have written in a form this SQLite cannot parse. user_version is read from the header alone.
    refuseNewer(db, file, migrations);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, migrations);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Below this much free space on the data folder's disk, a delivery (or the WAL growing to take it) fails with SQLITE_FULL. */
const MIN_FREE_BYTES = 1024 * 1024;

export interface DatabaseCheck {
  ok: boolean;
  detail: string;
  schemaVersion: number;
}

/**
 * Whether the database can be used, for readiness: `probe` (a read the caller relies on) answers, and the disk
 * has room for what is written next. Free space is measured rather than a write tried, because SQLite reuses the
 * WAL pages it already has: a small write succeeds on a full disk where a delivery fails.
 */
export function checkDatabase(db: Database.Database, probe: () => void): DatabaseCheck {
  try {
    probe();
    const version = schemaVersion(db);
    const { bavail, bsize } = fs.statfsSync(path.dirname(db.name));
    const free = bavail * bsize;
    if (free < MIN_FREE_BYTES) {
      return { ok: false, detail: `the disk of the data folder is full (${free} bytes free): nothing new can be stored until space is freed`, schemaVersion: version };
    }
    return { ok: true, detail: 'SQLite readable, with space to write', schemaVersion: version };
  } catch (error) {
    return { ok: false, detail: `SQLite cannot be used: ${(error as Error).message}`, schemaVersion: -1 };
  }
}

function refuseNewer(db: Database.Database, file: string, migrations: readonly Migration[]): void {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) throw new DatabaseTooNewError(file, current, latest);
}

function migrate(db: Database.Database, migrations: readonly Migration[]): void {
  const current = schemaVersion(db);
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    }).immediate();
  }
}

function assertOrdered(migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`Migration ${migration.name} has version ${migration.version}; expected ${index + 1}`);
    }
  });
}

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseTooNewError, openDatabase, schemaVersion } from '../../main/storage/database.js';
import { migrations } from '../../main/storage/migrations/index.js';
import type { Migration } from '../../main/storage/migrations/migration.js';
import { SettingsRepository } from '../../main/storage/settings-repository.js';
import { makeTempDir } from '../helpers/temp.js';

const latest = migrations.at(-1)!.version;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
function tempFile(): string {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  return `${temp.dir}/nested/agented.db`;
}

describe('database and migrations', () => {
  it('a fresh file is created in WAL mode at the latest version', () => {
    const file = tempFile();
    const db = openDatabase({ file });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(db)).toBe(latest);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'settings'").get()).toBeTruthy();
    db.close();
  });

  it('a pre-existing database keeps its data and only runs the migrations it lacks', () => {
    const file = tempFile();
    const first = openDatabase({ file });
    new SettingsRepository(first).set('logLevel', 'debug');
    first.close();

    const ran: number[] = [];
    const extended: Migration[] = [
      ...migrations.map((migration) => ({ ...migration, up: (db: Database.Database) => { ran.push(migration.version); migration.up(db); } })),
      { version: latest + 1, name: 'add_column', up: (db) => { ran.push(latest + 1); db.exec('ALTER TABLE settings ADD COLUMN note TEXT'); } },
    ];
    const second = openDatabase({ file, migrations: extended });
    expect(ran).toEqual([latest + 1]);
    expect(schemaVersion(second)).toBe(latest + 1);
    expect(new SettingsRepository(second).all()).toEqual({ logLevel: 'debug' });
    second.close();
  });

  it('a database from a newer version is refused with a clear error, untouched', () => {
    const file = tempFile();
    openDatabase({ file }).close();
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => openDatabase({ file })).toThrow(DatabaseTooNewError);
    expect(() => openDatabase({ file })).toThrow(/schema version 99.*newer Agented/);
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(99);
    check.close();
  });

  it('a database from a newer version in rollback-journal mode is refused before it is switched to WAL: its file stays byte for byte', () => {
    const file = tempFile();
    fs.mkdirSync(path.dirname(file));
    const raw = new Database(file);
    raw.pragma('journal_mode = DELETE');
    raw.exec('CREATE TABLE future (x TEXT)');
    raw.pragma('user_version = 99');
    raw.close();
    const before = fs.readFileSync(file);
    expect(() => openDatabase({ file })).toThrow(DatabaseTooNewError);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['agented.db']);
  });

  it('a database from a newer version whose schema this SQLite cannot read is refused as too new, not as malformed', () => {
    const file = tempFile();
    openDatabase({ file }).close();
    const raw = new Database(file);
    // A table written with syntax a later SQLite may bring: readable only to the newer Agented that wrote it.
    raw.unsafeMode(true);
    raw.pragma('writable_schema = ON');
    raw.prepare("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'future', 'future', 0, 'CREATE TABLE future (x) WITH FUTURE OPTION')").run();
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => openDatabase({ file })).toThrow(/schema version 99.*newer Agented/);
  });

  it('a failing migration rolls back entirely and leaves the previous version', () => {
    const file = tempFile();
    openDatabase({ file }).close();
    const broken: Migration[] = [
      ...migrations,
      { version: latest + 1, name: 'broken', up: (db) => { db.exec('CREATE TABLE half_done (id INTEGER)'); db.exec('THIS IS NOT SQL'); } },
    ];
    expect(() => openDatabase({ file, migrations: broken })).toThrow();
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(latest);
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get()).toBeUndefined();
    check.close();
  });

  it('migration 12 keeps executions_by_start to started executions, and the spend of a period still reads it', () => {
    const file = tempFile();
    const old = openDatabase({ file, migrations: migrations.slice(0, 11) });
    const insert = old.prepare("INSERT INTO executions (id, trigger_id, source, state, backend, prompt, created_at, started_at) VALUES (?, 'trg_a', 'webhook', ?, 'claude', 'p', ?, ?)");
    insert.run('exe_queued', 'queued', '2026-12-06T10:00:00.000Z', null);
    insert.run('exe_started', 'succeeded', '2026-12-06T10:00:00.000Z', '2026-12-06T10:00:01.000Z');
    old.close();

    // Migration 16 replaces the index by one on the first start.
    const db = openDatabase({ file, migrations: migrations.slice(0, 12) });
    cleanups.push(() => db.close());
    expect((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'executions_by_start'").get() as { sql: string }).sql).toMatch(/WHERE started_at IS NOT NULL$/);
    // A range of start times implies one, so the partial index serves the budget and usage queries.
    const spend = 'SELECT count(*) AS n FROM executions WHERE started_at >= ? AND started_at < ?';
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${spend}`).all('2026-12-06', '2026-12-07') as { detail: string }[]).map((row) => row.detail).join('\n');
    expect(plan).toMatch(/USING COVERING INDEX executions_by_start|USING INDEX executions_by_start/);
    expect(db.prepare(spend).get('2026-12-06', '2026-12-07')).toEqual({ n: 1 });
    expect(db.prepare('SELECT count(*) AS n FROM executions').get()).toEqual({ n: 2 });
  });

  it('migration 13 rebuilds deliveries without the id index and AUTOINCREMENT, keeping every row, and the inspector\'s page still walks deliveries_by_trigger', () => {
    const file = tempFile();
    const old = openDatabase({ file, migrations: migrations.slice(0, 12) });
    const insert = old.prepare(
      "INSERT INTO deliveries (id, trigger_id, received_at, headers, body, body_bytes, truncated, verified, outcome, reason, execution_id, dedup_key) VALUES (?, ?, '2026-12-06T10:00:00.000Z', '{}', ?, 3, 0, 1, 'execution', NULL, NULL, NULL)",
    );
    for (let n = 1; n <= 6; n += 1) insert.run(`dlv_${n}`, n % 2 === 0 ? 'trg_even' : 'trg_odd', Buffer.from(`b${n}`));
    old.prepare("DELETE FROM deliveries WHERE id = 'dlv_1'").run();
    old.close();

    const db = openDatabase({ file, migrations: migrations.slice(0, 13) });
    cleanups.push(() => db.close());
    const indexes = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'").all() as { name: string }[]).map((row) => row.name);
    expect(indexes).toEqual(['deliveries_by_trigger']);
    expect((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'deliveries'").get() as { sql: string }).sql).not.toMatch(/AUTOINCREMENT|UNIQUE/);
    expect(db.prepare("SELECT * FROM sqlite_sequence WHERE name = 'deliveries'").get()).toBeUndefined();
    expect(db.prepare('SELECT seq, id, trigger_id, body FROM deliveries ORDER BY seq').all()).toEqual(
      [2, 3, 4, 5, 6].map((n) => ({ seq: n, id: `dlv_${n}`, trigger_id: n % 2 === 0 ? 'trg_even' : 'trg_odd', body: Buffer.from(`b${n}`) })),
    );
    const page = 'SELECT * FROM deliveries WHERE trigger_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?';
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${page}`).all('trg_even', 100, 10) as { detail: string }[]).map((row) => row.detail).join('\n');
    expect(plan).toMatch(/USING INDEX deliveries_by_trigger/);
    // A new delivery goes after the newest.
    db.prepare("INSERT INTO deliveries (id, trigger_id, received_at, headers, body, body_bytes, truncated, verified, outcome) VALUES ('dlv_7', 'trg_odd', 'x', '{}', x'00', 1, 0, 1, 'execution')").run();
    expect(db.prepare("SELECT seq FROM deliveries WHERE id = 'dlv_7'").get()).toEqual({ seq: 7 });
  });

  it('migration 14 numbers each trigger\'s deliveries among themselves in their order of arrival, and the inspector\'s page walks deliveries_by_trigger by that number', () => {
    const file = tempFile();
    const old = openDatabase({ file, migrations: migrations.slice(0, 13) });
    const insert = old.prepare(
      "INSERT INTO deliveries (id, trigger_id, received_at, headers, body, body_bytes, truncated, verified, outcome) VALUES (?, ?, '2026-12-07T10:00:00.000Z', '{}', ?, 3, 0, 1, 'execution')",
    );
    // Two triggers' deliveries interleaved, and the oldest of one already pruned.
    for (let n = 1; n <= 7; n += 1) insert.run(`dlv_${n}`, n % 3 === 0 ? 'trg_b' : 'trg_a', Buffer.from(`b${n}`));
    old.prepare("DELETE FROM deliveries WHERE id = 'dlv_1'").run();
    old.close();

    const db = openDatabase({ file });
    cleanups.push(() => db.close());
    expect(schemaVersion(db)).toBe(migrations.length);
    expect(db.prepare('SELECT trigger_id, trigger_seq, id, body FROM deliveries ORDER BY trigger_id, trigger_seq').all()).toEqual([
      { trigger_id: 'trg_a', trigger_seq: 1, id: 'dlv_2', body: Buffer.from('b2') },
      { trigger_id: 'trg_a', trigger_seq: 2, id: 'dlv_4', body: Buffer.from('b4') },
      { trigger_id: 'trg_a', trigger_seq: 3, id: 'dlv_5', body: Buffer.from('b5') },
      { trigger_id: 'trg_a', trigger_seq: 4, id: 'dlv_7', body: Buffer.from('b7') },
      { trigger_id: 'trg_b', trigger_seq: 1, id: 'dlv_3', body: Buffer.from('b3') },
      { trigger_id: 'trg_b', trigger_seq: 2, id: 'dlv_6', body: Buffer.from('b6') },
    ]);
    expect((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'deliveries_by_trigger'").get() as { sql: string }).sql).toMatch(/\(trigger_id, trigger_seq\)$/);
    const page = 'SELECT * FROM deliveries WHERE trigger_id = ? AND trigger_seq < ? ORDER BY trigger_seq DESC LIMIT ?';
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${page}`).all('trg_a', 100, 10) as { detail: string }[]).map((row) => row.detail).join('\n');
    expect(plan).toMatch(/USING INDEX deliveries_by_trigger/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
  });

  it('migration 16 keeps each execution\'s first start, also of one that waited requeued before, and the spend of a period reads executions_by_first_start', () => {
    const file = tempFile();
    const old = openDatabase({ file, migrations: migrations.slice(0, 15) });
    const insert = old.prepare("INSERT INTO executions (id, trigger_id, source, state, backend, prompt, created_at, started_at, attempts) VALUES (?, 'trg_a', 'webhook', ?, 'claude', 'p', '2026-12-06T09:59:59.000Z', ?, ?)");
    const attempt = (startedAt: string) => JSON.stringify([{ backend: 'claude', account: null, outcome: 'rate_limited', reason: null, startedAt, endedAt: startedAt, durationMs: 0 }]);
    insert.run('exe_queued', 'queued', null, '[]');
    insert.run('exe_ran', 'succeeded', '2026-12-06T10:00:00.000Z', attempt('2026-12-06T10:00:00.020Z'));
    // Requeued before this migration (its start cleared): waiting, cancelled while it waited, and started again the next day.
    insert.run('exe_waiting', 'queued', null, attempt('2026-12-06T10:00:01.000Z'));
    insert.run('exe_cancelled', 'cancelled', null, attempt('2026-12-06T10:00:02.000Z'));
    insert.run('exe_restarted', 'succeeded', '2026-12-07T08:00:00.000Z', attempt('2026-12-06T10:00:03.000Z'));
    old.close();

    const db = openDatabase({ file });
    cleanups.push(() => db.close());
    expect(db.prepare('SELECT id, started_at, first_started_at FROM executions ORDER BY seq').all()).toEqual([
      { id: 'exe_queued', started_at: null, first_started_at: null },
      { id: 'exe_ran', started_at: '2026-12-06T10:00:00.000Z', first_started_at: '2026-12-06T10:00:00.000Z' },
      { id: 'exe_waiting', started_at: null, first_started_at: '2026-12-06T10:00:01.000Z' },
      { id: 'exe_cancelled', started_at: null, first_started_at: '2026-12-06T10:00:02.000Z' },
      { id: 'exe_restarted', started_at: '2026-12-07T08:00:00.000Z', first_started_at: '2026-12-06T10:00:03.000Z' },
    ]);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'executions_by_start'").get()).toBeUndefined();
    expect((db.prepare("SELECT sql FROM sqlite_master WHERE name = 'executions_by_first_start'").get() as { sql: string }).sql).toMatch(/WHERE first_started_at IS NOT NULL$/);
    const spend = 'SELECT count(*) AS n FROM executions WHERE first_started_at >= ? AND first_started_at < ?';
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${spend}`).all('2026-12-06', '2026-12-07') as { detail: string }[]).map((row) => row.detail).join('\n');
    expect(plan).toMatch(/USING COVERING INDEX executions_by_first_start|USING INDEX executions_by_first_start/);
    expect(db.prepare(spend).get('2026-12-06', '2026-12-07')).toEqual({ n: 4 });
  });

  it('migration 18 keeps an estimated execution counted whole as estimated, a reported one as not', () => {
    const file = tempFile();
    const old = openDatabase({ file, migrations: migrations.slice(0, 17) });
    const insert = old.prepare("INSERT INTO executions (id, trigger_id, source, state, backend, prompt, created_at, cost_usd, cost_estimated) VALUES (?, 'trg_a', 'manual', 'succeeded', 'codex', 'p', '2026-12-06T10:00:00.000Z', ?, ?)");
    insert.run('exe_estimated', 1.25, 1);
    insert.run('exe_reported', 0.5, 0);
    insert.run('exe_unpriced', null, 0);
    old.close();

    const db = openDatabase({ file });
    cleanups.push(() => db.close());
    expect(db.prepare('SELECT id, cost_usd, estimated_usd FROM executions ORDER BY seq').all()).toEqual([
      { id: 'exe_estimated', cost_usd: 1.25, estimated_usd: 1.25 },
      { id: 'exe_reported', cost_usd: 0.5, estimated_usd: null },
      { id: 'exe_unpriced', cost_usd: null, estimated_usd: null },
    ]);
  });

  it('migration 9 reads the lines it regroups page by page, each page seeking to where the last one ended rather than scanning from the first line', () => {
    const file = tempFile();
    const old = openDatabase({ file, migrations: migrations.slice(0, 8) });
    const insert = old.prepare("INSERT INTO execution_logs (execution_id, seq, stream, text, ts, event) VALUES (?, ?, 'stdout', ?, '2026-12-01T10:00:00.000Z', NULL)");
    old.transaction(() => {
      for (let line = 0; line < 12_000; line += 1) insert.run(`exe_${line % 3}`, Math.floor(line / 3) + 1, `line ${line}`);
    })();
    // The plan of every query the migration reads with: a scan from the first line for each page of 5,000 made
    // the migration quadratic (1.6 million lines took 18 s).
    const plans: string[] = [];
    const watched = new Proxy(old, {
      get: (target, name) => {
        if (name === 'prepare') {
          return (sql: string) => {
            // Its parameters are `?`: one value each (an empty id, seq 0) is what the first page binds.
            const values = sql.split('?').slice(1).map((_, index) => (index === 0 ? '' : 0));
            if (/^\s*SELECT/i.test(sql)) plans.push(target.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...values).map((row) => (row as { detail: string }).detail).join('; '));
            return target.prepare(sql);
          };
        }
        const value = Reflect.get(target, name, target) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    watched.transaction(() => migrations[8]!.up(watched))();
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatch(/^SEARCH execution_logs USING INDEX/);
    expect(old.prepare('SELECT count(*) AS chunks, sum(last_seq - first_seq + 1) AS lines FROM execution_log_chunks').get()).toEqual({ chunks: 24, lines: 12_000 });
    old.close();
  });

  it('the migration list is numbered 1..n without gaps', () => {
    expect(migrations.map((migration) => migration.version)).toEqual(migrations.map((_, index) => index + 1));
    expect(() => openDatabase({ file: tempFile(), migrations: [{ ...migrations[0]!, version: 2 }] })).toThrow(/expected 1/);
  });
});

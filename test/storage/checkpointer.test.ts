import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Checkpointer } from '../../main/storage/checkpointer.js';
import { openDatabase } from '../../main/storage/database.js';
import { makeTempDir } from '../helpers/temp.js';

/** The thread runs compiled code (npm test builds first). */
const threadScript = new URL('../../dist/main/storage/checkpoint-thread.js', import.meta.url);

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setUp() {
  const temp = makeTempDir();
  const file = `${temp.dir}/agented.db`;
  const db = openDatabase({ file });
  db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, data TEXT NOT NULL) STRICT');
  cleanups.push(temp.remove, () => {
    if (db.open) db.close();
  });
  const insert = db.prepare('INSERT INTO blobs (data) VALUES (?)');
  const writeBatch = db.transaction((rows: string[]) => {
    for (const row of rows) insert.run(row);
  });
  const size = (suffix = '') => (fs.existsSync(file + suffix) ? fs.statSync(file + suffix).size : 0);
  return { db, file, writeBatch, size };
}

/** A thread ticking every 20 ms that has the WAL started over past 1 MB; resolves once it runs. */
async function startCheckpointer(db: Database.Database) {
  const errors: string[] = [];
  const checkpointer = new Checkpointer(db, { threadScript, intervalMs: 20, restartAboveBytes: 1024 * 1024, onError: (message) => errors.push(message) });
  cleanups.push(() => checkpointer.dispose());
  await checkpointer.ready;
  return { checkpointer, errors };
}

describe('Checkpointer', () => {
  it('checkpoints from its own thread: the serving connection only starts the WAL over, so it stays bounded under sustained writes, and truncates it once they stop', async () => {
    const { db, file, writeBatch, size } = setUp();
    const { checkpointer, errors } = await startCheckpointer(db);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);

    const row = 'x'.repeat(4_000);
    let largestWal = 0;
    // 24 MB, in 100 KB commits with a turn of the event loop between them. Every 4 MB the writes pause until the
    // thread has made a pass since the last pause: on a loaded machine (other test files, other tenants) a thread
    // that got no core for seconds would let the WAL grow whatever the design, and this is about the design.
    let passes = 0;
    for (let batch = 0; batch < 240; batch += 1) {
      writeBatch(Array.from({ length: 25 }, () => row));
      largestWal = Math.max(largestWal, size('-wal'));
      await new Promise((resolve) => setImmediate(resolve));
      if (batch % 40 === 39) {
        const until = Date.now() + 5_000;
        do await sleep(30);
        while (checkpointer.stats.checkpoints === passes && Date.now() < until);
        passes = checkpointer.stats.checkpoints;
      }
    }
    // Copied into the database file by the thread (the serving connection never checkpoints)…
    const deadline = Date.now() + 5_000;
    while (size() < 12 * 1024 * 1024 && Date.now() < deadline) await sleep(20);
    expect(size()).toBeGreaterThan(12 * 1024 * 1024);
    // …the WAL stayed well under the 24 MB it reaches without checkpoints (how far past the 1 MB threshold
    // it gets depends on how often the thread gets a core: two test files share two cores with it)…
    expect(largestWal).toBeLessThan(16 * 1024 * 1024);
    // …started over by the serving connection while the writes went on…
    expect(checkpointer.stats.restarts).toBeGreaterThan(0);
    // …and once the writes stop, it is truncated back under the threshold.
    const truncatedBy = Date.now() + 5_000;
    while (size('-wal') > 1024 * 1024 && Date.now() < truncatedBy) await sleep(20);
    expect(size('-wal')).toBeLessThanOrEqual(1024 * 1024);
    expect(errors).toEqual([]);
    expect(checkpointer.stats.checkpoints).toBeGreaterThan(0);
    expect(checkpointer.stats.truncations).toBeGreaterThan(0);

    await checkpointer.dispose();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    db.close();
    const reader = new Database(file, { readonly: true });
    cleanups.push(() => {
      reader.close();
    });
    expect(reader.prepare('SELECT count(*) AS n FROM blobs').get()).toEqual({ n: 6_000 });
    expect(reader.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('a truncation never holds the serving connection back: while a reader pins the WAL its writes go on, and the WAL is emptied once the reader is gone', async () => {
    const { db, file, writeBatch, size } = setUp();
    const { checkpointer, errors } = await startCheckpointer(db);
    // Another process's connection, in the middle of a read: no checkpoint may copy past its snapshot, so none can truncate.
    const reader = new Database(file, { readonly: true });
    cleanups.push(() => {
      if (reader.open) reader.close();
    });
    const pinned = reader.prepare('SELECT id FROM blobs').iterate();
    writeBatch(['before the reader']);
    pinned.next();

    const row = 'x'.repeat(4_000);
    const failures: string[] = [];
    let slowestWriteMs = 0;
    // 4 MB past the 1 MB threshold, with the thread's ticks in between: each one reports the WAL's size and asks for a truncation.
    for (let batch = 0; batch < 40; batch += 1) {
      const started = performance.now();
      try {
        writeBatch(Array.from({ length: 25 }, () => row));
      } catch (error) {
        failures.push((error as Error).message);
      }
      slowestWriteMs = Math.max(slowestWriteMs, performance.now() - started);
      await sleep(5);
    }
    // A truncation that waited for the reader would have held each write for the 5 s busy timeout, or failed it.
    expect(failures).toEqual([]);
    expect(slowestWriteMs).toBeLessThan(1_000);
    expect(size('-wal')).toBeGreaterThan(1024 * 1024);

    pinned.return?.();
    reader.close();
    const truncatedBy = Date.now() + 5_000;
    while (size('-wal') > 1024 * 1024 && Date.now() < truncatedBy) await sleep(20);
    expect(size('-wal')).toBeLessThanOrEqual(1024 * 1024);
    expect(checkpointer.stats.truncations).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM blobs').get()).toEqual({ n: 1_001 });
  });

  it('without it, SQLite checkpoints inside commits as usual (the control for the test above)', () => {
    const { db, writeBatch, size } = setUp();
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    writeBatch(Array.from({ length: 2_000 }, () => 'x'.repeat(4_000)));
    writeBatch(['one more']);
    expect(size()).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('a thread that cannot start (a missing file in a broken install) is reported, and commits checkpoint inline again', async () => {
    const { db } = setUp();
    const errors: string[] = [];
    const checkpointer = new Checkpointer(db, { threadScript: new URL('./no-such-thread.js', threadScript), onError: (message) => errors.push(message) });
    cleanups.push(() => checkpointer.dispose());
    await checkpointer.ready;
    await sleep(50);
    expect(errors.join('\n')).toMatch(/no-such-thread/);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await checkpointer.dispose();
  });
});

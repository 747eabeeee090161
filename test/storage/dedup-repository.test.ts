import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/storage/database.js';
import { DedupRepository } from '../../main/storage/dedup-repository.js';
import { GroupCommit } from '../../main/storage/group-commit.js';
import { migrations } from '../../main/storage/migrations/index.js';
import { makeTempDir } from '../helpers/temp.js';

const T0 = 1_700_000_000_000;

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function tempFile(): string {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  return `${temp.dir}/agented.db`;
}

function open(file: string) {
  const db = openDatabase({ file });
  cleanups.push(() => db.close());
  return db;
}

/** Lets the microtask that settles a transaction's claims run. */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

class Rollback extends Error {}

describe('DedupRepository', () => {
  it('a key claimed and committed is refused after a restart until it expires, then is free again', () => {
    const file = tempFile();
    const first = openDatabase({ file });
    const before = new DedupRepository(first, T0);
    expect(first.transaction(() => before.claim('trg_a', 'id:A', 1_000, T0))()).toBe(true);
    first.close();

    // The worker starts again: its map is rebuilt from the rows on disk.
    const db = open(file);
    const dedup = new DedupRepository(db, T0 + 10);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 10)).toBe(false);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 999)).toBe(false);
    expect(dedup.claim('trg_b', 'id:A', 1_000, T0 + 999)).toBe(true);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_000)).toBe(true);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_500)).toBe(false);
  });

  it('a claim whose transaction rolls back leaves the key free, at once and after the transaction has settled', async () => {
    const db = open(tempFile());
    const dedup = new DedupRepository(db, T0);
    const claimThenFail = db.transaction((key: string) => {
      expect(dedup.claim('trg_a', key, 60_000, T0)).toBe(true);
      throw new Rollback();
    });
    expect(() => claimThenFail('id:A')).toThrow(Rollback);
    expect(() => claimThenFail('id:B')).toThrow(Rollback);
    expect(dedup.count()).toBe(0);
    // A's retry comes in the same turn, B's in a later one: each takes its key, and is then what a third delivery duplicates.
    expect(db.transaction(() => dedup.claim('trg_a', 'id:A', 60_000, T0 + 1))()).toBe(true);
    await settled();
    expect(db.transaction(() => dedup.claim('trg_a', 'id:B', 60_000, T0 + 1))()).toBe(true);
    await settled();
    expect(dedup.claim('trg_a', 'id:A', 60_000, T0 + 2)).toBe(false);
    expect(dedup.claim('trg_a', 'id:B', 60_000, T0 + 2)).toBe(false);
    expect(dedup.count()).toBe(2);
  });

  it('two claims of one key in one transaction: the second is refused, and so is one after the commit', async () => {
    const db = open(tempFile());
    const dedup = new DedupRepository(db, T0);
    const both = db.transaction(() => [dedup.claim('trg_a', 'id:A', 60_000, T0), dedup.claim('trg_a', 'id:A', 60_000, T0)])();
    expect(both).toEqual([true, false]);
    // Before the microtask has run (the next transaction of the same turn) and after.
    expect(db.transaction(() => dedup.claim('trg_a', 'id:A', 60_000, T0 + 1))()).toBe(false);
    await settled();
    expect(dedup.claim('trg_a', 'id:A', 60_000, T0 + 2)).toBe(false);
    expect(dedup.count()).toBe(1);
  });

  it('a claim in a savepoint that rolls back, while the outer transaction commits another key, leaves its key free', async () => {
    const db = open(tempFile());
    const dedup = new DedupRepository(db, T0);
    const inSavepoint = db.transaction(() => {
      expect(dedup.claim('trg_a', 'id:lost', 60_000, T0)).toBe(true);
      throw new Rollback();
    });
    db.transaction(() => {
      expect(inSavepoint).toThrow(Rollback);
      // This row is numbered as the rolled-back one was: what was lost must not pass for stored.
      expect(dedup.claim('trg_a', 'id:kept', 60_000, T0)).toBe(true);
      expect(dedup.claim('trg_a', 'id:lost', 60_000, T0)).toBe(true);
      expect(dedup.claim('trg_a', 'id:kept', 60_000, T0)).toBe(false);
    })();
    await settled();
    expect(dedup.claim('trg_a', 'id:kept', 60_000, T0 + 1)).toBe(false);
    expect(dedup.claim('trg_a', 'id:lost', 60_000, T0 + 1)).toBe(false);
    expect(dedup.count()).toBe(2);
  });

  it('claims of one transaction stamped out of order: a rolled-back later claim of a key does not hide its committed earlier one', async () => {
    const db = open(tempFile());
    const dedup = new DedupRepository(db, T0);
    db.transaction(() => {
      expect(dedup.claim('trg_a', 'id:A', 1_000, T0)).toBe(true);
      // A delivery that arrived after A's row expired claims it again, and fails.
      expect(
        db.transaction(() => {
          expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_000)).toBe(true);
          throw new Rollback();
        }),
      ).toThrow(Rollback);
    })();
    await settled();
    // One that arrived before then is still a duplicate of the first.
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 500)).toBe(false);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_000)).toBe(true);
  });

  it('a claim outside any transaction, made before an earlier transaction\'s claims have settled, stays the newest', async () => {
    const db = open(tempFile());
    const dedup = new DedupRepository(db, T0);
    expect(db.transaction(() => dedup.claim('trg_a', 'id:A', 1_000, T0))()).toBe(true);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_000)).toBe(true);
    await settled();
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_500)).toBe(false);
  });

  it('in a group commit retried item by item, a failed item\'s key stays free and a duplicate of a committed one in the same batch is refused', async () => {
    const db = open(tempFile());
    const dedup = new DedupRepository(db, T0);
    const deliveries = new GroupCommit(db, ({ key, fail }: { key: string; fail: boolean }) => {
      const claimed = dedup.claim('trg_a', key, 60_000, T0);
      if (fail) throw new Rollback();
      return claimed;
    });
    const outcomes = await Promise.allSettled([
      deliveries.run({ key: 'id:failed', fail: true }),
      deliveries.run({ key: 'id:B', fail: false }),
      deliveries.run({ key: 'id:B', fail: false }),
    ]);
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'failed'))).toEqual(['failed', true, false]);
    await settled();
    expect(dedup.claim('trg_a', 'id:B', 60_000, T0 + 1)).toBe(false);
    expect(dedup.claim('trg_a', 'id:failed', 60_000, T0 + 1)).toBe(true);
  });

  it('prune deletes expired rows and frees their keys, but not a newer row of the same key', () => {
    const db = open(tempFile());
    const dedup = new DedupRepository(db, T0);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0)).toBe(true);
    expect(dedup.claim('trg_a', 'id:B', 500, T0)).toBe(true);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_001)).toBe(true);
    expect(dedup.count()).toBe(3);

    // A's first row and B's expired; A's second (until T0 + 2,001) did not.
    expect(dedup.prune(T0 + 1_100)).toBe(2);
    expect(dedup.count()).toBe(1);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_100)).toBe(false);
    expect(dedup.claim('trg_a', 'id:B', 500, T0 + 1_100)).toBe(true);
    // A pruned row's key leaves the map too: a claim stamped before that row's expiry (a clock set back) finds it free, as on disk.
    expect(dedup.prune(T0 + 2_001)).toBe(2);
    expect(dedup.claim('trg_a', 'id:A', 1_000, T0 + 1_500)).toBe(true);
    // A restart reads the same.
    const restarted = new DedupRepository(db, T0 + 1_550);
    expect(restarted.claim('trg_a', 'id:A', 1_000, T0 + 1_550)).toBe(false);
    expect(restarted.claim('trg_a', 'id:B', 500, T0 + 1_550)).toBe(true);
  });

  it('prune in chunks frees each pruned key from the map by its row, whichever chunk the row is in', () => {
    const db = open(tempFile());
    const dedup = new DedupRepository(db, T0);
    for (let n = 0; n < 10; n += 1) expect(dedup.claim('trg_a', `id:${n}`, 100, T0)).toBe(true);
    expect(dedup.prune(T0 + 100, 4)).toBe(4);
    expect(dedup.prune(T0 + 100, 4)).toBe(4);
    expect(dedup.prune(T0 + 100, 4)).toBe(2);
    expect(dedup.count()).toBe(0);
    for (let n = 0; n < 10; n += 1) expect(dedup.claim('trg_a', `id:${n}`, 100, T0 + 100)).toBe(true);
  });

  it('migration 23 copies the old dedup keys in the order they were claimed: a live one is still refused, an expired one is free', () => {
    const file = tempFile();
    const old = openDatabase({ file, migrations: migrations.slice(0, 22) });
    const insert = old.prepare('INSERT INTO dedup_keys (key, trigger_id, expires_at, created_at) VALUES (?, ?, ?, ?)');
    // Their keys sort (the old table's order) the other way round from their claims.
    insert.run('trg_a:id:new', 'trg_a', T0 + 60_000, T0);
    insert.run('trg_a:id:old', 'trg_a', T0 - 1, T0 - 1_000);
    old.close();

    const db = open(file);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'dedup_keys'").get()).toBeUndefined();
    expect(db.prepare('SELECT seq, key FROM dedup_log ORDER BY seq').all()).toEqual([
      { seq: 1, key: 'trg_a:id:old' },
      { seq: 2, key: 'trg_a:id:new' },
    ]);
    const dedup = new DedupRepository(db, T0);
    expect(dedup.claim('trg_a', 'id:new', 60_000, T0 + 1)).toBe(false);
    expect(dedup.claim('trg_a', 'id:old', 60_000, T0 + 1)).toBe(true);
    expect(dedup.count()).toBe(3);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/storage/database.js';
import { DedupRepository } from '../../main/storage/dedup-repository.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { GroupCommit } from '../../main/storage/group-commit.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function database() {
  const temp = makeTempDir();
  const db = openDatabase({ file: `${temp.dir}/agented.db` });
  db.exec('CREATE TABLE items (name TEXT PRIMARY KEY)');
  cleanups.push(temp.remove, () => db.close());
  return db;
}

describe('GroupCommit', () => {
  it('commits one turn of work in one transaction and resolves only after the commit', async () => {
    const db = database();
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    // A second connection sees only committed rows: inside the batch it must see none of it.
    const observer = openDatabase({ file: db.name });
    cleanups.push(() => observer.close());
    const visible = observer.prepare('SELECT count(*) AS n FROM items');
    const seenByOthers: number[] = [];
    const committer = new GroupCommit(db, (name: string) => {
      insert.run(name);
      seenByOthers.push((visible.get() as { n: number }).n);
      return name;
    });
    const settled: string[] = [];
    const runs = ['a', 'b', 'c'].map((name) => committer.run(name).then((result) => { settled.push(`${result}:${(visible.get() as { n: number }).n}`); return result; }));
    expect(await Promise.all(runs)).toEqual(['a', 'b', 'c']);
    expect(seenByOthers).toEqual([0, 0, 0]);
    // Each caller learns of its result only once all three are visible to everyone.
    expect(settled).toEqual(['a:3', 'b:3', 'c:3']);
  });

  it('a failing item is rolled back and rejected alone; the rest of its batch commits', async () => {
    const db = database();
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const committer = new GroupCommit(db, (name: string) => {
      insert.run(name);
      if (name === 'bad') throw new Error('refused');
      return name;
    });
    const outcomes = await Promise.allSettled(['x', 'bad', 'y'].map((name) => committer.run(name)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const names = (db.prepare('SELECT name FROM items ORDER BY name').all() as { name: string }[]).map((row) => row.name);
    expect(names).toEqual(['x', 'y']);
  });

  it('when the commit itself fails, every caller of the batch is rejected and nothing is kept', async () => {
    const db = database();
    const insert = db.prepare('INSERT INTO items (name) VALUES (?)');
    const committer = new GroupCommit(db, (name: string) => insert.run(name).changes);
    // A second connection holding a write lock makes this batch's BEGIN IMMEDIATE/COMMIT fail with SQLITE_BUSY.
    const other = openDatabase({ file: db.name });
    other.pragma('busy_timeout = 0');
    db.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    try {
      const outcomes = await Promise.allSettled(['p', 'q'].map((name) => committer.run(name)));
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect((db.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n).toBe(0);
  });
});

describe('GroupCommit with repositories that hold things until a commit', () => {
  class Refused extends Error {}

  function parts() {
    const temp = makeTempDir();
    const db = openDatabase({ file: `${temp.dir}/agented.db` });
    cleanups.push(temp.remove, () => db.close());
    const executions = new ExecutionRepository(db);
    const dedup = new DedupRepository(db);
    const announced: string[] = [];
    executions.onChange((change) => announced.push(change.id));
    const committer = new GroupCommit(
      db,
      ({ id, fail }: { id: string; fail?: boolean }) => {
        if (!dedup.claim('trg_a', id, 60_000, Date.now())) return 'duplicate';
        executions.insert(newExecution(id));
        if (fail) throw new Refused();
        return 'queued';
      },
      [dedup, executions],
    );
    return { db, executions, dedup, announced, committer };
  }

  function newExecution(id: string) {
    return { id, triggerId: 'trg_a', source: 'webhook' as const, state: 'queued' as const, reason: null, backend: 'claude' as const, model: null, params: {}, prompt: 'work', promptContext: [], concurrencyKey: null, deliveryId: null, replayOf: null, createdAt: new Date().toISOString() };
  }

  it('a batch committed whole: each new execution announced once, each key taken; after a failed item, nothing of the rolled-back first run is', async () => {
    const { dedup, announced, committer } = parts();
    expect(await Promise.all(['exe_1', 'exe_1', 'exe_2'].map((id) => committer.run({ id })))).toEqual(['queued', 'duplicate', 'queued']);
    expect(announced).toEqual(['exe_1', 'exe_2']);

    // The first run of this batch (all three) is rolled back; the second, item by item, keeps exe_3 and exe_4.
    const outcomes = await Promise.allSettled([committer.run({ id: 'exe_3' }), committer.run({ id: 'exe_bad', fail: true }), committer.run({ id: 'exe_4' })]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(announced).toEqual(['exe_1', 'exe_2', 'exe_3', 'exe_4']);
    const now = Date.now();
    expect(['exe_1', 'exe_2', 'exe_3', 'exe_4', 'exe_bad'].map((id) => dedup.claim('trg_a', id, 60_000, now))).toEqual([false, false, false, false, true]);
  });

  it('told that a transaction committed, a repository makes final at once what it held since the mark, and leaves what it held before to its own check', async () => {
    const { db, executions, dedup, announced } = parts();
    // Rolled back, and not yet checked (that happens on the next microtask) when the next transaction commits.
    const rolledBack = db.transaction(() => {
      dedup.claim('trg_a', 'exe_early', 60_000, Date.now());
      executions.insert(newExecution('exe_early'));
      throw new Refused();
    });
    expect(() => rolledBack()).toThrow(Refused);
    const marks = [dedup.mark(), executions.mark()] as const;
    db.transaction(() => {
      dedup.claim('trg_a', 'exe_5', 60_000, Date.now());
      executions.insert(newExecution('exe_5'));
    })();
    dedup.committedSince(marks[0]);
    executions.committedSince(marks[1]);
    expect(announced).toEqual(['exe_5']);

    await new Promise((resolve) => setImmediate(resolve));
    expect(announced).toEqual(['exe_5']);
    const now = Date.now();
    expect(dedup.claim('trg_a', 'exe_5', 60_000, now)).toBe(false);
    expect(dedup.claim('trg_a', 'exe_early', 60_000, now)).toBe(true);
  });
});

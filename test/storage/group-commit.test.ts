import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/storage/database.js';
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

import { afterEach, describe, expect, it } from 'vitest';
import { LogStore } from '../../main/executions/log-store.js';
import { openDatabase } from '../../main/storage/database.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function database() {
  const temp = makeTempDir();
  const file = `${temp.dir}/agented.db`;
  const db = openDatabase({ file });
  // A second connection sees only what was committed.
  const observer = openDatabase({ file });
  cleanups.push(temp.remove, () => db.close(), () => observer.close());
  const visible = (executionId: string) => (observer.prepare('SELECT count(*) AS n FROM execution_logs WHERE execution_id = ?').get(executionId) as { n: number }).n;
  return { db, visible };
}

describe('LogStore', () => {
  it('numbers lines per execution from 1, in arrival order, independently per execution', () => {
    const { db } = database();
    const store = new LogStore(db);
    cleanups.push(() => store.dispose());
    const a1 = store.append('exe_a', 'stdout', 'first');
    const b1 = store.append('exe_b', 'stderr', 'other');
    const a2 = store.append('exe_a', 'stdout', '{"type":"result"}', { type: 'result' });
    expect([a1?.seq, a2?.seq, b1?.seq]).toEqual([1, 2, 1]);
    expect(store.read('exe_a', 0).map((line) => [line.seq, line.stream, line.text, line.event])).toEqual([
      [1, 'stdout', 'first', undefined],
      [2, 'stdout', '{"type":"result"}', { type: 'result' }],
    ]);
    expect(store.read('exe_a', 1).map((line) => line.seq)).toEqual([2]);
  });

  it('writes in batches: nothing is committed line by line; a full batch or the timer commits them together', async () => {
    const { db, visible } = database();
    const store = new LogStore(db, { maxBatchLines: 50, flushIntervalMs: 60 });
    cleanups.push(() => store.dispose());
    for (let index = 0; index < 49; index += 1) store.append('exe_a', 'stdout', `line ${index}`);
    expect(visible('exe_a')).toBe(0);
    store.append('exe_a', 'stdout', 'line 49');
    expect(visible('exe_a')).toBe(50);
    store.append('exe_a', 'stdout', 'line 50');
    expect(visible('exe_a')).toBe(50);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(visible('exe_a')).toBe(51);
  });

  it('a new store (a restarted worker) continues the numbering after what is stored', () => {
    const { db } = database();
    const first = new LogStore(db);
    for (const text of ['a', 'b', 'c']) first.append('exe_a', 'stdout', text);
    first.dispose();
    const second = new LogStore(db);
    cleanups.push(() => second.dispose());
    expect(second.append('exe_a', 'stdout', 'd')?.seq).toBe(4);
    expect(second.read('exe_a', 0).map((line) => line.text)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a flood ends with one truncation line, after which lines are dropped; long lines are cut', () => {
    const { db } = database();
    const store = new LogStore(db, { maxLinesPerExecution: 10, maxLineLength: 20 });
    cleanups.push(() => store.dispose());
    const results = Array.from({ length: 25 }, (_, index) => store.append('exe_a', 'stdout', `line ${index}`));
    expect(results.slice(0, 11).every((line) => line !== null)).toBe(true);
    expect(results.slice(11).every((line) => line === null)).toBe(true);
    const lines = store.read('exe_a', 0);
    expect(lines).toHaveLength(11);
    expect(lines[10]).toMatchObject({ seq: 11, stream: 'system' });
    expect(lines[10]!.text).toMatch(/output truncated: more than 10 lines/);
    store.append('exe_b', 'stdout', 'x'.repeat(100));
    expect(store.read('exe_b', 0)[0]!.text).toBe(`${'x'.repeat(20)}… [line truncated: 100 characters]`);
  });

  it('dispose writes what is still buffered', () => {
    const { db, visible } = database();
    const store = new LogStore(db, { flushIntervalMs: 60_000 });
    store.append('exe_a', 'stdout', 'last words');
    expect(visible('exe_a')).toBe(0);
    store.dispose();
    expect(visible('exe_a')).toBe(1);
  });
});

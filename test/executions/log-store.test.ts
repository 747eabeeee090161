import { afterEach, describe, expect, it } from 'vitest';
import { LogStore } from '../../main/executions/log-store.js';
import { CredentialMask } from '../../main/executions/credential-mask.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { migrations } from '../../main/storage/migrations/index.js';
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
  const visible = (executionId: string) =>
    (observer.prepare('SELECT coalesce(sum(last_seq - first_seq + 1), 0) AS n FROM execution_log_chunks WHERE execution_id = ?').get(executionId) as { n: number }).n;
  return { db, visible };
}

describe('LogStore', () => {
  it('numbers lines per execution from 1, in arrival order, independently per execution', () => {
    const { db } = database();
    const store = new LogStore(db);
    cleanups.push(() => store.dispose());
    const a1 = store.append('exe_a', 'stdout', 'first');
    const b1 = store.append('exe_b', 'stderr', 'other');
    const a2 = store.append('exe_a', 'stdout', '{"type":"result"}', [{ type: 'result' }]);
    expect([a1?.seq, a2?.seq, b1?.seq]).toEqual([1, 2, 1]);
    expect(store.read('exe_a', 0).map((line) => [line.seq, line.stream, line.text, line.event])).toEqual([
      [1, 'stdout', 'first', undefined],
      [2, 'stdout', '{"type":"result"}', [{ type: 'result' }]],
    ]);
    expect(store.read('exe_a', 1).map((line) => line.seq)).toEqual([2]);
    // A line's one event is in its record once, as `event` (the contract's field); several also come as `events`.
    expect(JSON.parse(a2!.json)).toEqual({ seq: 2, stream: 'stdout', text: '{"type":"result"}', ts: a2!.ts, event: { type: 'result' } });
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

  it('a worker killed between two batches: the next numbers its lines after every number the dead one handed out, not after what was stored', () => {
    const { db } = database();
    new ExecutionRepository(db).insert({
      id: 'exe_a', triggerId: 'trg_a', source: 'manual', state: 'running', reason: null, backend: 'claude', model: null, params: {}, prompt: 'p',
      promptContext: [], concurrencyKey: null, deliveryId: null, replayOf: null, createdAt: new Date().toISOString(),
    });
    const dead = new LogStore(db, { maxBatchLines: 3, flushIntervalMs: 60_000 });
    // Three lines reach the database, two more are numbered and streamed live, then the worker dies: no dispose, no flush.
    const shown = ['a', 'b', 'c', 'd', 'e'].map((text) => dead.append('exe_a', 'stdout', text)!.seq);
    expect(shown).toEqual([1, 2, 3, 4, 5]);
    const next = new LogStore(db, { flushIntervalMs: 60_000 });
    cleanups.push(() => next.dispose());
    const interrupted = next.append('exe_a', 'system', 'interrupted: Agented stopped while it ran')!;
    // A client that saw 5 resumes after 5: the new line must come after it, or that client never gets it.
    expect(interrupted.seq).toBeGreaterThan(5);
    expect(next.read('exe_a', 5).map((line) => line.text)).toEqual(['interrupted: Agented stopped while it ran']);
    expect(next.read('exe_a', 0).map((line) => line.text)).toEqual(['a', 'b', 'c', 'interrupted: Agented stopped while it ran']);
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

  it("a truncated execution keeps Agented's own lines: they follow the one truncation line and do not count against the cap", () => {
    const { db } = database();
    const store = new LogStore(db, { maxLinesPerExecution: 5 });
    cleanups.push(() => store.dispose());
    store.append('exe_a', 'system', 'starting claude');
    for (let index = 0; index < 8; index += 1) store.append('exe_a', index % 2 ? 'stderr' : 'stdout', `line ${index}`);
    // What ExecutionRun writes at the end, past the cap: the final status is returned (for live streams) and stored.
    const end = store.append('exe_a', 'system', 'failed (exit code 3): boom');
    expect(end).toMatchObject({ seq: 8, stream: 'system', text: 'failed (exit code 3): boom' });
    expect(store.append('exe_a', 'stdout', 'still flooding')).toBeNull();
    store.finish('exe_a');
    expect(store.read('exe_a', 0).map((line) => `${line.seq}:${line.stream}:${line.text}`)).toEqual([
      '1:system:starting claude',
      '2:stdout:line 0',
      '3:stderr:line 1',
      '4:stdout:line 2',
      '5:stderr:line 3',
      '6:stdout:line 4',
      "7:system:[output truncated: more than 5 lines; the rest of this execution's output was not kept]",
      '8:system:failed (exit code 3): boom',
    ]);
  });

  it("a restarted worker's interrupted line is stored as it is, never as a second truncation line", () => {
    const { db } = database();
    const first = new LogStore(db, { maxLinesPerExecution: 5 });
    // exe_a: truncated, then a retry notice, then the worker dies. exe_b: exactly at the cap, not truncated.
    for (let index = 0; index < 8; index += 1) first.append('exe_a', 'stdout', `line ${index}`);
    first.append('exe_a', 'system', 'rate-limited on claude account "a"; retrying on claude account "b"');
    for (let index = 0; index < 5; index += 1) first.append('exe_b', 'stdout', `line ${index}`);
    first.dispose();

    // What crash recovery (ExecutionQueue.recover) writes for each.
    const second = new LogStore(db, { maxLinesPerExecution: 5 });
    cleanups.push(() => second.dispose());
    expect(second.append('exe_a', 'system', 'interrupted: Agented stopped while it ran')).toMatchObject({ seq: 8, stream: 'system', text: 'interrupted: Agented stopped while it ran' });
    expect(second.append('exe_a', 'stdout', 'late output')).toBeNull();
    expect(second.append('exe_b', 'system', 'interrupted: Agented stopped while it ran')).toMatchObject({ seq: 6, stream: 'system', text: 'interrupted: Agented stopped while it ran' });
    second.finish('exe_a');
    second.finish('exe_b');
    const exeA = second.read('exe_a', 0);
    expect(exeA.filter((line) => line.text.startsWith('[output truncated'))).toHaveLength(1);
    expect(exeA.slice(-3).map((line) => `${line.seq}:${line.stream}:${line.text}`)).toEqual([
      "6:system:[output truncated: more than 5 lines; the rest of this execution's output was not kept]",
      '7:system:rate-limited on claude account "a"; retrying on claude account "b"',
      '8:system:interrupted: Agented stopped while it ran',
    ]);
    expect(second.read('exe_b', 0).map((line) => line.text)).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'interrupted: Agented stopped while it ran']);
  });

  it('a batch the database refuses (another process holds the write lock) stays buffered and readable, and is stored in order once the lock is gone', async () => {
    const { db, visible } = database();
    // Fail at once rather than after the busy timeout, as a full disk would.
    db.pragma('busy_timeout = 0');
    const failures: (string | undefined)[] = [];
    const store = new LogStore(db, { maxBatchLines: 5, flushIntervalMs: 20, onWriteFailure: (error) => failures.push(error?.message) });
    cleanups.push(() => store.dispose());
    store.append('exe_a', 'stdout', 'stored before');
    expect(store.flush()).toBe(true);

    const other = openDatabase({ file: db.name });
    other.pragma('busy_timeout = 0');
    cleanups.push(() => other.close());
    other.exec('BEGIN IMMEDIATE');
    // Past the batch size while locked: no throw, nothing lost, every line readable with its number.
    const appended = Array.from({ length: 12 }, (_, index) => store.append('exe_a', 'stdout', `while locked ${index}`)!);
    expect(store.flush()).toBe(false);
    expect(visible('exe_a')).toBe(1);
    expect(store.records('exe_a', 0).map((record) => record.seq)).toEqual(Array.from({ length: 13 }, (_, index) => index + 1));
    expect(store.records('exe_a', 10, 2).map((record) => record.json)).toEqual([appended[9]!.json, appended[10]!.json]);
    // Forgetting the execution's counters while its lines wait does not number a later line twice.
    store.finish('exe_a');
    expect(store.append('exe_a', 'system', 'after finish')?.seq).toBe(14);
    expect(failures).toEqual(['database is locked']);

    other.exec('COMMIT');
    const deadline = Date.now() + 5_000;
    while (visible('exe_a') < 14 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(store.read('exe_a', 0).map((line) => [line.seq, line.text])).toEqual([
      [1, 'stored before'],
      ...appended.map((line) => [line.seq, line.text]),
      [14, 'after finish'],
    ]);
    expect(visible('exe_a')).toBe(14);
    expect(failures).toEqual(['database is locked', undefined]);
  });

  it('a truncation line still waiting for a refused batch is found again after the counters are forgotten: never written twice', () => {
    const { db } = database();
    db.pragma('busy_timeout = 0');
    const store = new LogStore(db, { maxLinesPerExecution: 3, maxBatchLines: 100, flushIntervalMs: 60_000 });
    cleanups.push(() => store.dispose());
    const other = openDatabase({ file: db.name });
    cleanups.push(() => other.close());
    other.exec('BEGIN IMMEDIATE');
    for (let index = 0; index < 5; index += 1) store.append('exe_a', 'stdout', `line ${index}`);
    store.finish('exe_a');
    // Counted again from what is stored and waiting: the notice is among the waiting lines, so output stays cut.
    expect(store.append('exe_a', 'stdout', 'after finish')).toBeNull();
    expect(store.append('exe_a', 'system', 'interrupted')?.seq).toBe(5);
    other.exec('COMMIT');
    expect(store.read('exe_a', 0).map((line) => `${line.seq}:${line.stream}:${line.text}`)).toEqual([
      '1:stdout:line 0',
      '2:stdout:line 1',
      '3:stdout:line 2',
      "4:system:[output truncated: more than 3 lines; the rest of this execution's output was not kept]",
      '5:system:interrupted',
    ]);
  });

  it("each line's ts is the clock's time as it arrives, to the millisecond", () => {
    const { db } = database();
    let clock = Date.parse('2026-12-07T10:00:00.000Z');
    const store = new LogStore(db, { now: () => new Date(clock) });
    cleanups.push(() => store.dispose());
    const times: string[] = [];
    for (const step of [0, 0, 1, 0, 999, 60_000]) {
      clock += step;
      times.push(store.append('exe_a', 'stdout', `at ${clock}`)!.ts);
    }
    expect(times).toEqual(['2026-12-07T10:00:00.000Z', '2026-12-07T10:00:00.000Z', '2026-12-07T10:00:00.001Z', '2026-12-07T10:00:00.001Z', '2026-12-07T10:00:01.000Z', '2026-12-07T10:01:01.000Z']);
    expect(store.read('exe_a', 0).map((line) => line.ts)).toEqual(times);
  });

  it('dispose writes what is still buffered', () => {
    const { db, visible } = database();
    const store = new LogStore(db, { flushIntervalMs: 60_000 });
    store.append('exe_a', 'stdout', 'last words');
    expect(visible('exe_a')).toBe(0);
    store.dispose();
    expect(visible('exe_a')).toBe(1);
  });

  it('a mask replaces a secret in the text and in the events; one that would span the record\'s own JSON leaves the text masked and a valid record', () => {
    const { db } = database();
    const store = new LogStore(db);
    cleanups.push(() => store.dispose());
    const key = 'sk-key-"quoted"-0123456789';
    const mask = CredentialMask.of([key]);
    const line = store.append('exe_a', 'stdout', JSON.stringify({ said: key }), [{ type: 'message', text: `the key is ${key}` }], mask)!;
    expect(line.json).not.toContain('0123456789');
    expect(line.text).toBe('{"said":"[REDACTED]"}');
    expect(line.event).toEqual([{ type: 'message', text: 'the key is [REDACTED]' }]);

    // A value that matches across the record's own syntax (a string's end and the next key): masking the record would break it.
    const odd = CredentialMask.of(['done","ts']);
    const spanning = store.append('exe_a', 'stdout', 'all done', undefined, odd)!;
    expect(JSON.parse(spanning.json)).toMatchObject({ seq: spanning.seq, text: 'all done' });
  });

  it('a credential across the cut of a long line or of a long event string leaves no part of it stored', () => {
    const { db } = database();
    const store = new LogStore(db);
    cleanups.push(() => store.dispose());
    const key = 'sk-ant-api03-SECRETSECRETSECRETSECRET0123456789abcdef';
    const mask = CredentialMask.of([key]);
    const limit = 64 * 1024; // the default maxLineLength
    // The key starts 20 characters before the cut.
    const plain = store.append('exe_a', 'stdout', `${'x'.repeat(limit - 20)}${key}${'m'.repeat(100)}`, undefined, mask)!;
    expect(plain.json).not.toContain(key.slice(0, 20));
    expect(plain.text).toMatch(/… \[line truncated: \d+ characters\]$/);
    const answer = `${'y'.repeat(limit - 20)}${key}${'z'.repeat(4 * limit)}`;
    const result = store.append('exe_a', 'stdout', JSON.stringify({ type: 'result', result: answer }), [{ type: 'result', text: answer }], mask)!;
    expect(result.json).not.toContain(key.slice(0, 20));
  });

  it('stores each line as the JSON its log event carries, and reads any range across batches in order', () => {
    const { db } = database();
    const store = new LogStore(db, { maxBatchLines: 7 });
    cleanups.push(() => store.dispose());
    const events = [{ type: 'message', role: 'assistant', text: 'hé "quoted"\n' }, { type: 'usage', inputTokens: 3 }];
    const appended = Array.from({ length: 40 }, (_, index) =>
      index % 3 === 0 ? store.append('exe_a', 'stdout', `{"n":${index}}`, events) : store.append(index % 2 ? 'exe_a' : 'exe_b', 'stderr', `plain\t${index}`),
    );
    const mine = appended.filter((line) => line?.executionId === 'exe_a');
    for (const line of mine) {
      expect(JSON.parse(line!.json)).toEqual({ seq: line!.seq, stream: line!.stream, text: line!.text, ts: line!.ts, ...(line!.event ? { event: events[0], events } : {}) });
      // Byte for byte what JSON.stringify writes for the same object.
      expect(line!.json).toBe(JSON.stringify({ seq: line!.seq, stream: line!.stream, text: line!.text, ts: line!.ts, ...(line!.event ? { event: events[0], events } : {}) }));
    }
    expect(store.records('exe_a', 0, 1_000).map((record) => record.json)).toEqual(mine.map((line) => line!.json));
    // From the middle of a chunk, with a limit that ends in another.
    expect(store.records('exe_a', 5, 9).map((record) => record.seq)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(store.read('exe_a', mine.length - 2).map((line) => [line.seq, line.text, line.event])).toEqual(
      mine.slice(-2).map((line) => [line!.seq, line!.text, line!.event]),
    );
    expect(store.records('exe_a', mine.length)).toEqual([]);
  });

  it('migration 9 regroups lines stored one per row (version 8) into chunks, keeping every line, number and event', () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const file = `${temp.dir}/agented.db`;
    const old = openDatabase({ file, migrations: migrations.slice(0, 8) });
    const insert = old.prepare('INSERT INTO execution_logs (execution_id, seq, stream, text, ts, event) VALUES (?, ?, ?, ?, ?, ?)');
    const event = [{ type: 'result', isError: false, text: 'done' }];
    for (let seq = 1; seq <= 1_203; seq += 1) insert.run('exe_a', seq, 'stdout', `line ${seq}`, '2026-11-26T10:00:00.000Z', seq === 1_203 ? JSON.stringify(event) : null);
    // A gap (a line the cap dropped) starts a new chunk.
    for (const seq of [1, 2, 4]) insert.run('exe_b', seq, 'stderr', `b ${seq}`, '2026-11-26T10:00:01.000Z', null);
    old.close();

    const db = openDatabase({ file });
    cleanups.push(() => db.close());
    const store = new LogStore(db);
    cleanups.push(() => store.dispose());
    const lines = store.read('exe_a', 0, 5_000);
    expect(lines.map((line) => line.seq)).toEqual(Array.from({ length: 1_203 }, (_, index) => index + 1));
    expect(lines[1_202]).toMatchObject({ text: 'line 1203', stream: 'stdout', ts: '2026-11-26T10:00:00.000Z', event });
    expect(store.read('exe_b', 0).map((line) => [line.seq, line.text])).toEqual([
      [1, 'b 1'],
      [2, 'b 2'],
      [4, 'b 4'],
    ]);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'execution_logs'").get()).toEqual({ n: 0 });
    expect(store.append('exe_a', 'stdout', 'after')?.seq).toBe(1_204);
  });
});

import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TriggerCreate } from '../../common/triggers.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { TriggerRepository } from '../../main/storage/trigger-repository.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

/** One more than the executions a pass reads at a time. */
const BACKLOG = 1_001;

interface Queued {
  triggerId: string;
  /** The concurrency key, rendered as the trigger would (from `params.pr`). */
  pr?: number;
  count?: number;
}

/**
 * The queue after a long outage or a webhook burst: thousands of executions
 * of a trigger that can run one at a time, and others behind them. Executions
 * are queued rows in SQLite, so the database is written as a worker left it
 * and the real worker starts on it (the real Claude Code CLI, held mid-answer
 * by the stand-in's `HANG`).
 */
describe('execution queue: a backlog that cannot start does not hide the executions behind it', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A data folder whose database holds these triggers and, in this order, these queued executions; their ids, in the same order. */
  function queuedBeforeStart(triggers: Record<string, Partial<TriggerCreate>>, queue: Queued[]): { dataDir: string; ids: string[][] } {
    const temp = makeTempDir();
    cleanups.push(() => temp.remove());
    const dataDir = path.join(temp.dir, 'data');
    const db = openDatabase({ file: path.join(dataDir, 'agented.db') });
    const now = new Date().toISOString();
    const triggerRepository = new TriggerRepository(db);
    for (const [id, fields] of Object.entries(triggers)) triggerRepository.insert(id, TriggerCreate.parse({ name: id, kind: 'manual', backend: 'claude', promptTemplate: 'HANG', ...fields }), now);
    const executions = new ExecutionRepository(db);
    let next = 0;
    const ids = db.transaction(() =>
      queue.map(({ triggerId, pr, count = 1 }) =>
        Array.from({ length: count }, () => {
          const id = `exe_queued_${(next += 1)}`;
          const params = pr === undefined ? {} : { pr };
          executions.insert({ id, triggerId, source: 'manual', state: 'queued', reason: null, backend: 'claude', model: null, params, prompt: 'HANG', promptContext: [], concurrencyKey: pr === undefined ? null : String(pr), deliveryId: null, replayOf: null, createdAt: now });
          return id;
        }),
      ),
    )();
    db.close();
    return { dataDir, ids };
  }

  async function start(dataDir: string, maxConcurrent: number): Promise<Engine> {
    const engine = await startEngine({ AGENTED_DATA_DIR: dataDir, AGENTED_MAX_CONCURRENT: String(maxConcurrent) });
    cleanups.push(() => engine.close());
    return engine;
  }

  /** Long enough for a wrongly started execution to show up as running. */
  const settle = () => sleep(500);
  const keyed = (strategy: 'queue' | 'cancel-in-progress' | 'drop-newest', maxConcurrent: number): Partial<TriggerCreate> => ({
    maxConcurrent,
    concurrency: { key: '{{params.pr}}', strategy },
    params: [{ name: 'pr', type: 'number', required: true }],
  });

  it("another trigger's execution starts behind more than a page of executions of a trigger at its maxConcurrent", async () => {
    const { dataDir, ids } = queuedBeforeStart({ trg_busy: { maxConcurrent: 1 }, trg_other: { maxConcurrent: 1 } }, [
      { triggerId: 'trg_busy', count: BACKLOG },
      { triggerId: 'trg_other' },
    ]);
    const [busy, [other]] = ids as [string[], string[]];
    const engine = await start(dataDir, 4);
    await engine.waitForState(busy[0]!, ['running']);
    await engine.waitForState(other!, ['running'], 10_000);
    await settle();
    expect((await engine.execution(busy[1]!)).state).toBe('queued');
    // The busy trigger's next one starts as soon as its running one ends, in FIFO order.
    await engine.api('POST', `/api/executions/${busy[0]}/cancel`);
    await engine.waitForState(busy[1]!, ['running']);
    expect((await engine.execution(busy[2]!)).state).toBe('queued');
  });

  it('strategy "queue": another key starts behind more than a page of executions waiting for one key', async () => {
    const { dataDir, ids } = queuedBeforeStart({ trg_keyed: keyed('queue', 4) }, [
      { triggerId: 'trg_keyed', pr: 1, count: BACKLOG },
      { triggerId: 'trg_keyed', pr: 2 },
    ]);
    const [sameKey, [otherKey]] = ids as [string[], string[]];
    const engine = await start(dataDir, 4);
    await engine.waitForState(sameKey[0]!, ['running']);
    await engine.waitForState(otherKey!, ['running'], 10_000);
    await settle();
    expect(await engine.execution(sameKey[1]!)).toMatchObject({ state: 'queued', concurrencyKey: '1' });
  });

  it('strategy "cancel-in-progress": the newest execution of a key wins even when it is queued past the first page', async () => {
    const { dataDir, ids } = queuedBeforeStart({ trg_busy: { maxConcurrent: 1 }, trg_pr: keyed('cancel-in-progress', 2) }, [
      { triggerId: 'trg_pr', pr: 7 },
      { triggerId: 'trg_busy', count: BACKLOG - 1 },
      { triggerId: 'trg_pr', pr: 7 },
    ]);
    const [[older], busy, [newer]] = ids as [string[], string[], string[]];
    const engine = await start(dataDir, 4);
    await engine.waitForState(busy[0]!, ['running']);
    await engine.waitForState(newer!, ['running'], 10_000);
    const superseded = await engine.execution(older!);
    expect(superseded).toMatchObject({ state: 'skipped', reason: `superseded by ${newer} (same concurrency key "7")`, startedAt: null });
  });

  it('strategy "cancel-in-progress": a newer run of a running key stops it at once, with every slot taken and the run queued past the first page', async () => {
    const { dataDir, ids } = queuedBeforeStart({ trg_busy: { maxConcurrent: 1 }, trg_pr: keyed('cancel-in-progress', 2) }, [
      { triggerId: 'trg_pr', pr: 7 },
      { triggerId: 'trg_busy', count: BACKLOG },
    ]);
    const [[first], busy] = ids as [string[], string[]];
    const engine = await start(dataDir, 2);
    await engine.waitForState(first!, ['running']);
    await engine.waitForState(busy[0]!, ['running']);
    const second = await engine.run('trg_pr', { pr: 7 });
    const stopped = await engine.waitForState(first!, ['cancelled', 'succeeded', 'failed'], 10_000);
    expect(stopped).toMatchObject({ state: 'cancelled', reason: `superseded by ${second} (cancel-in-progress)` });
    // Its slot freed, the newer one starts although the busy trigger's backlog is ahead of it.
    await engine.waitForState(second, ['running'], 10_000);
  });

  it('strategy "drop-newest": a run of a running key is dropped as it arrives, with every slot taken and the run queued past the first page', async () => {
    const { dataDir, ids } = queuedBeforeStart({ trg_busy: { maxConcurrent: 1 }, trg_pr: keyed('drop-newest', 2) }, [
      { triggerId: 'trg_pr', pr: 7 },
      { triggerId: 'trg_busy', count: BACKLOG },
    ]);
    const [[first], busy] = ids as [string[], string[]];
    const engine = await start(dataDir, 2);
    await engine.waitForState(first!, ['running']);
    await engine.waitForState(busy[0]!, ['running']);
    const second = await engine.run('trg_pr', { pr: 7 });
    // Decided when it arrives, not when the backlog ahead of it has drained — by then the running one may have ended, and the newest would run.
    const dropped = await engine.waitForState(second, ['skipped', 'running'], 10_000);
    expect(dropped).toMatchObject({ state: 'skipped', reason: 'dropped: an execution with the same concurrency key "7" was already running or queued', startedAt: null });
    expect((await engine.execution(first!)).state).toBe('running');
  });
});

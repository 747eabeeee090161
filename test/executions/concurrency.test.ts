import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import { groupAlive } from '../../main/executions/process-group.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { sleep } from '../helpers/time.js';

/**
 * Concurrency observed on real processes: every execution is the real Claude
 * Code CLI, held mid-answer by the stand-in (`HANG`) until it is cancelled.
 */
describe('execution engine: concurrency', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await startEngine({ AGENTED_MAX_CONCURRENT: '3' });
  });
  afterAll(async () => {
    await engine.close();
  });

  const cancel = async (...ids: string[]) => {
    for (const id of ids) await engine.api('POST', `/api/executions/${id}/cancel`);
  };
  /** Long enough for a wrongly started execution to show up as running. */
  const settle = () => sleep(500);

  it("a trigger's maxConcurrent holds the rest in FIFO order; the next starts as soon as one ends", async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 2 });
    const [a, b, c] = [await engine.run(trigger), await engine.run(trigger), await engine.run(trigger)];
    await engine.waitForState(a!, ['running']);
    await engine.waitForState(b!, ['running']);
    await settle();
    expect((await engine.execution(c!)).state).toBe('queued');
    await cancel(a!);
    const started = await engine.waitForState(c!, ['running']);
    expect(started.startedAt! >= (await engine.execution(a!)).endedAt!).toBe(true);
    await cancel(b!, c!);
  });

  it('arrivals for a full trigger wait without holding back another trigger; raising maxConcurrent starts the waiting ones at once', async () => {
    const busy = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 1 });
    const other = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 1 });
    const first = await engine.run(busy);
    await engine.waitForState(first, ['running']);
    const waiting = [await engine.run(busy)];
    // Queued behind a full trigger, a run of another trigger still starts on its arrival.
    const beside = await engine.run(other);
    await engine.waitForState(beside, ['running']);
    await settle();
    for (const id of waiting) expect((await engine.execution(id)).state).toBe('queued');
    // Nothing ends: the changed trigger alone lets its queue move.
    await engine.api('PATCH', `/api/triggers/${busy}`, { maxConcurrent: 2 });
    for (const id of waiting) await engine.waitForState(id, ['running']);
    expect((await engine.execution(first)).state).toBe('running');
    await cancel(first, ...waiting, beside);
  });

  it('the global limit (AGENTED_MAX_CONCURRENT) holds executions of every trigger', async () => {
    const triggers = [await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 4 }), await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 4 })];
    const ids = [await engine.run(triggers[0]!), await engine.run(triggers[1]!), await engine.run(triggers[0]!), await engine.run(triggers[1]!)];
    for (const id of ids.slice(0, 3)) await engine.waitForState(id, ['running']);
    await settle();
    expect((await engine.execution(ids[3]!)).state).toBe('queued');
    await engine.api('GET', '/api/backends'); // readiness reports the last finished check; wait for the first one
    const ready = await engine.api<HealthReady>('GET', '/health/ready');
    expect(ready.body.executions).toEqual({ queued: 1, running: 3 });
    expect(ready.body.checks.backends).toMatchObject({ ok: true, usable: expect.arrayContaining(['claude']) as unknown });
    await cancel(ids[1]!);
    await engine.waitForState(ids[3]!, ['running']);
    await cancel(ids[0]!, ids[2]!, ids[3]!);
  });

  it("a deleted trigger's executions that wait for a free slot end skipped at once, not when a slot frees", async () => {
    const busy = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 3 });
    const gone = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 3 });
    const running = [await engine.run(busy), await engine.run(busy), await engine.run(busy)];
    for (const id of running) await engine.waitForState(id, ['running']);
    const waiting = [await engine.run(gone), await engine.run(gone)];
    await settle();
    expect((await engine.api('DELETE', `/api/triggers/${gone}`)).status).toBe(204);
    for (const id of waiting) {
      expect(await engine.waitForState(id, ['skipped', 'running'], 5_000)).toMatchObject({ state: 'skipped', reason: 'its trigger was deleted before it could start', startedAt: null });
    }
    for (const id of running) expect((await engine.execution(id)).state).toBe('running');
    await cancel(...running);
  });

  it('strategy "queue": the same key waits for the one ahead; another key runs beside it', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 3, concurrency: { key: 'pr-{{params.pr}}', strategy: 'queue' }, params: [{ name: 'pr', type: 'number', required: true }] });
    const first = await engine.run(trigger, { pr: 1 });
    await engine.waitForState(first, ['running']);
    const second = await engine.run(trigger, { pr: 1 });
    const other = await engine.run(trigger, { pr: 2 });
    await engine.waitForState(other, ['running']);
    await settle();
    expect(await engine.execution(second)).toMatchObject({ state: 'queued', concurrencyKey: 'pr-1' });
    await cancel(first);
    await engine.waitForState(second, ['running']);
    await cancel(second, other);
  });

  it('strategy "drop-newest": a run for a key already in progress is skipped, saying why', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 3, concurrency: { key: '{{params.branch}}', strategy: 'drop-newest' }, params: [{ name: 'branch', type: 'string' }] });
    const first = await engine.run(trigger, { branch: 'main' });
    await engine.waitForState(first, ['running']);
    const second = await engine.run(trigger, { branch: 'main' });
    const skipped = await engine.waitForState(second, ['skipped', 'running']);
    expect(skipped.state).toBe('skipped');
    expect(skipped.reason).toMatch(/dropped: an execution with the same concurrency key "main"/);
    expect(skipped.startedAt).toBeNull();
    expect((await engine.execution(first)).state).toBe('running');
    await cancel(first);
  });

  it('strategy "cancel-in-progress": a newer run for the key stops the running one (whole process group) and starts', async () => {
    const trigger = await engine.createTrigger({ promptTemplate: 'HANG', maxConcurrent: 3, concurrency: { key: '{{params.pr}}', strategy: 'cancel-in-progress' }, params: [{ name: 'pr', type: 'number' }] });
    const first = await engine.run(trigger, { pr: 7 });
    const running = await engine.waitForState(first, ['running']);
    const second = await engine.run(trigger, { pr: 7 });
    const superseded = await engine.waitForState(first, ['cancelled', 'succeeded', 'failed']);
    expect(superseded.state).toBe('cancelled');
    expect(superseded.reason).toBe(`superseded by ${second} (cancel-in-progress)`);
    expect(running.processGroup).toBeGreaterThan(0);
    expect(groupAlive((await engine.execution(first)).processGroup!)).toBe(false);
    await engine.waitForState(second, ['running']);
    await cancel(second);
  });
});

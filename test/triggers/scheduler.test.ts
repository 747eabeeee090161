import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Execution, ExecutionSummary } from '../../common/executions.js';
import { TriggerCreate } from '../../common/triggers.js';
import { openDatabase } from '../../main/storage/database.js';
import { DedupRepository } from '../../main/storage/dedup-repository.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { ScheduleStateRepository } from '../../main/storage/schedule-state-repository.js';
import { TriggerRepository } from '../../main/storage/trigger-repository.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { Scheduler } from '../../main/triggers/scheduler.js';
import { request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function storage() {
  const temp = makeTempDir();
  const db = openDatabase({ file: `${temp.dir}/agented.db` });
  cleanups.push(temp.remove, () => db.close());
  return {
    db,
    triggers: new TriggerRepository(db),
    dedup: new DedupRepository(db),
    executions: new ExecutionRepository(db),
    state: new ScheduleStateRepository(db),
  };
}

function scheduleDefinition(cron: string, missedRunPolicy: 'skip' | 'run-once', enabled = true) {
  return TriggerCreate.parse({ name: 'nightly', kind: 'schedule', enabled, promptTemplate: 'tick at {{payload.scheduledAt}}', schedule: { cron, timezone: 'Europe/Berlin', missedRunPolicy } });
}

function scheduleTrigger(repo: TriggerRepository, cron: string, missedRunPolicy: 'skip' | 'run-once') {
  return repo.insert('trg_sched', scheduleDefinition(cron, missedRunPolicy), new Date().toISOString());
}

/** The scheduled time each execution ran for, oldest first. */
function ticksRun(store: ReturnType<typeof storage>): string[] {
  const items = store.executions.page({ beforeSeq: Number.MAX_SAFE_INTEGER, limit: 50 }).items;
  return items.map((item) => store.executions.get(item.id)!.promptContext.find((entry) => entry.field === 'payload.scheduledAt')!.value).sort();
}

describe('schedules', () => {
  it('a per-second cron fires on time through the real worker, never twice per tick', async () => {
    const server = await startInProcess();
    cleanups.push(() => server.close());
    const auth = { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' };
    const created = await request(server.url, {
      method: 'POST',
      path: '/api/triggers',
      headers: auth,
      body: JSON.stringify({ name: 'every second', kind: 'schedule', promptTemplate: 'tick {{payload.scheduledAt}}', schedule: { cron: '* * * * * *', timezone: 'UTC' } }),
    });
    expect(created.status).toBe(201);
    const { id } = created.json<{ id: string }>();
    await new Promise((resolve) => setTimeout(resolve, 3_300));
    // Stop it so the count below is final.
    expect((await request(server.url, { method: 'PATCH', path: `/api/triggers/${id}`, headers: auth, body: '{"enabled":false}' })).status).toBe(200);

    const list = await request(server.url, { path: `/api/executions?trigger=${id}&limit=50`, headers: auth });
    const items = list.json<{ items: ExecutionSummary[] }>().items;
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect(items.length).toBeLessThanOrEqual(4);
    const ticks: string[] = [];
    for (const item of items) {
      expect(item.source).toBe('schedule');
      const execution = (await request(server.url, { path: `/api/executions/${item.id}`, headers: auth })).json<Execution>();
      const scheduledAt = execution.promptContext.find((entry) => entry.field === 'payload.scheduledAt')!.value;
      expect(scheduledAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
      // On time: created within a second of its scheduled second.
      const lateness = Date.parse(execution.createdAt) - Date.parse(scheduledAt);
      expect(lateness).toBeGreaterThanOrEqual(0);
      expect(lateness).toBeLessThan(1_000);
      ticks.push(scheduledAt);
    }
    expect(new Set(ticks).size).toBe(ticks.length);
  });

  it('firing the same tick twice starts one execution', () => {
    const store = storage();
    const trigger = scheduleTrigger(store.triggers, '0 9 * * 1-5', 'skip');
    const scheduler = new Scheduler({ ...store, logger: Logger.create({ sink: new MemorySink() }), maxValueLength: 2000 });
    const tick = new Date('2026-11-26T08:00:00.000Z');
    expect('started' in scheduler.fire(trigger, tick)).toBe(true);
    expect(scheduler.fire(trigger, new Date(tick.getTime() + 400))).toEqual({ duplicate: true });
    expect(store.executions.count()).toBe(1);
  });

  it("a tick's key lives a week, but a frequent cron's only for its last 10,000 ticks: the worker holds every live key in memory", () => {
    const store = storage();
    const daily = scheduleTrigger(store.triggers, '0 9 * * *', 'skip');
    const everySecond = store.triggers.insert('trg_every_second', scheduleDefinition('* * * * * *', 'skip'), new Date().toISOString());
    const now = new Date('2026-11-26T08:00:00.000Z');
    const scheduler = new Scheduler({ ...store, logger: Logger.create({ sink: new MemorySink() }), maxValueLength: 2000, now: () => now });
    expect('started' in scheduler.fire(daily, now)).toBe(true);
    expect('started' in scheduler.fire(everySecond, now)).toBe(true);
    expect(scheduler.fire(everySecond, now)).toEqual({ duplicate: true });
    // A week of a per-second cron's keys is 604,800 of them, over 100 MB of the worker's heap and a second of each start.
    expect(store.dedup.prune(now.getTime() + 10_000 * 1000)).toBe(1);
    expect(store.dedup.prune(now.getTime() + 6 * 24 * 3600 * 1000)).toBe(0);
    expect(store.dedup.prune(now.getTime() + 7 * 24 * 3600 * 1000)).toBe(1);
  });

  it('run-once: after downtime, one execution for the latest missed tick, and a second start adds none', () => {
    const store = storage();
    const trigger = scheduleTrigger(store.triggers, '*/10 * * * *', 'run-once');
    let now = new Date('2026-11-26T10:00:30.000Z');
    const make = () => new Scheduler({ ...store, logger: Logger.create({ sink: new MemorySink() }), maxValueLength: 2000, now: () => now });
    store.state.markTick(trigger.id, new Date('2026-11-26T07:00:00.000Z').getTime());

    const first = make();
    first.start();
    first.dispose();
    const executions = store.executions.page({ beforeSeq: Number.MAX_SAFE_INTEGER, limit: 10 }).items;
    expect(executions).toHaveLength(1);
    expect(store.executions.get(executions[0]!.id)!.prompt).toContain('2026-11-26T10:00:00.000Z');

    now = new Date('2026-11-26T10:05:00.000Z');
    const second = make();
    second.start();
    second.dispose();
    expect(store.executions.count()).toBe(1);
  });

  it('skip: missed ticks start nothing and are not counted again', () => {
    const store = storage();
    const trigger = scheduleTrigger(store.triggers, '*/10 * * * *', 'skip');
    const now = new Date('2026-11-26T10:00:30.000Z');
    store.state.markTick(trigger.id, new Date('2026-11-26T07:00:00.000Z').getTime());
    const sink = new MemorySink();
    const scheduler = new Scheduler({ ...store, logger: Logger.create({ sink }), maxValueLength: 2000, now: () => now });
    scheduler.start();
    scheduler.dispose();
    expect(store.executions.count()).toBe(0);
    expect(store.state.lastTick(trigger.id)).toBe(now.getTime());
    const line = sink.lines.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.msg === 'missed schedule ticks');
    expect(line).toMatchObject({ missed: 18, policy: 'skip' });
  });

  it('run-once: after a long outage, one execution for the newest missed tick', () => {
    const store = storage();
    const trigger = scheduleTrigger(store.triggers, '* * * * *', 'run-once');
    // Stopped for 8 days: over 11,000 per-minute ticks missed.
    store.state.markTick(trigger.id, new Date('2026-03-01T00:00:30.000Z').getTime());
    const now = new Date('2026-03-09T00:00:30.000Z');
    const scheduler = new Scheduler({ ...store, logger: Logger.create({ sink: new MemorySink() }), maxValueLength: 2000, now: () => now });
    scheduler.start();
    scheduler.dispose();
    expect(ticksRun(store)).toEqual(['2026-03-09T00:00:00.000Z']);
  });

  it('run-once: a cron edited while running starts from the edit; ticks missed after it while stopped still count', () => {
    const store = storage();
    const trigger = scheduleTrigger(store.triggers, '0 9 * * *', 'run-once');
    let now = new Date('2026-03-02T08:00:00.500Z');
    const make = () => new Scheduler({ ...store, logger: Logger.create({ sink: new MemorySink() }), maxValueLength: 2000, now: () => now });
    const running = make();
    running.start();
    running.fire(trigger, new Date('2026-03-02T08:00:00.000Z'));

    // No downtime: the 13:00 (UTC) tick of the new cron is before the edit, not missed.
    now = new Date('2026-03-02T13:02:00.000Z');
    store.triggers.update(trigger.id, scheduleDefinition('*/30 * * * *', 'run-once'), now.toISOString());
    running.reload(trigger.id);
    running.dispose();
    expect(ticksRun(store)).toEqual(['2026-03-02T08:00:00.000Z']);

    // Stopped right after the edit; restarted before the next tick: still nothing owed.
    now = new Date('2026-03-02T13:20:00.000Z');
    const early = make();
    early.start();
    early.dispose();
    expect(ticksRun(store)).toEqual(['2026-03-02T08:00:00.000Z']);

    // Restarted later: ticks after the edit were missed while stopped, and run once.
    now = new Date('2026-03-02T15:10:00.000Z');
    const late = make();
    late.start();
    late.dispose();
    expect(ticksRun(store)).toEqual(['2026-03-02T08:00:00.000Z', '2026-03-02T15:00:00.000Z']);
  });

  it('run-once: a trigger re-enabled after days runs no old tick, also across a restart', () => {
    const store = storage();
    const trigger = scheduleTrigger(store.triggers, '0 9 * * *', 'run-once');
    let now = new Date('2026-03-02T08:00:00.500Z');
    const make = () => new Scheduler({ ...store, logger: Logger.create({ sink: new MemorySink() }), maxValueLength: 2000, now: () => now });
    const running = make();
    running.start();
    running.fire(trigger, new Date('2026-03-02T08:00:00.000Z'));
    store.triggers.update(trigger.id, scheduleDefinition('0 9 * * *', 'run-once', false), now.toISOString());
    running.reload(trigger.id);

    now = new Date('2026-03-05T11:00:00.000Z');
    store.triggers.update(trigger.id, scheduleDefinition('0 9 * * *', 'run-once'), now.toISOString());
    running.reload(trigger.id);
    running.dispose();
    expect(ticksRun(store)).toEqual(['2026-03-02T08:00:00.000Z']);

    now = new Date('2026-03-05T12:00:00.000Z');
    const restarted = make();
    restarted.start();
    restarted.dispose();
    expect(ticksRun(store)).toEqual(['2026-03-02T08:00:00.000Z']);
  });

  it('a tick croner fires late (the worker was busy) runs as the tick it was scheduled for', () => {
    // croner's own clock and timers: the machine's, faked here.
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    vi.setSystemTime(new Date('2026-03-02T09:59:59.000Z'));
    const store = storage();
    scheduleTrigger(store.triggers, '*/10 * * * *', 'skip');
    const scheduler = new Scheduler({ ...store, logger: Logger.create({ sink: new MemorySink() }), maxValueLength: 2000 });
    scheduler.start();
    // Its timer comes due while the event loop is busy for 5 seconds.
    vi.setSystemTime(new Date('2026-03-02T10:00:05.000Z'));
    vi.advanceTimersByTime(1_000);
    scheduler.dispose();
    expect(ticksRun(store)).toEqual(['2026-03-02T10:00:00.000Z']);
  });

  it('a tick the machine slept through follows the missed-run policy', () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const sleepThrough = (policy: 'skip' | 'run-once') => {
      vi.setSystemTime(new Date('2026-03-02T07:00:00.000Z'));
      const store = storage();
      // 09:00 in Berlin is 08:00 UTC.
      scheduleTrigger(store.triggers, '0 9 * * *', policy);
      const scheduler = new Scheduler({ ...store, logger: Logger.create({ sink: new MemorySink() }), maxValueLength: 2000 });
      scheduler.start();
      vi.advanceTimersByTime(1_000);
      // Suspended until 10:00: timers do not run, the wall clock jumps; on waking croner finds the tick overdue.
      vi.setSystemTime(new Date('2026-03-02T10:00:00.000Z'));
      vi.advanceTimersByTime(30_000);
      scheduler.dispose();
      return ticksRun(store);
    };
    expect(sleepThrough('skip')).toEqual([]);
    expect(sleepThrough('run-once')).toEqual(['2026-03-02T08:00:00.000Z']);
  });

  it('a stored schedule that no longer parses is logged and left out; the other schedules still start', () => {
    const store = storage();
    // As a croner upgrade, or another ICU, could leave a schedule accepted before: the row as stored, not through the API.
    const broken = store.triggers.insert('trg_broken', scheduleDefinition('*/10 * * * *', 'skip'), new Date().toISOString());
    store.db.prepare('UPDATE triggers SET definition = json_set(definition, ?, ?) WHERE id = ?').run('$.schedule.timezone', 'Mars/Olympus', broken.id);
    const working = store.triggers.insert('trg_working', scheduleDefinition('*/10 * * * *', 'skip'), new Date().toISOString());
    const sink = new MemorySink();
    const scheduler = new Scheduler({ ...store, logger: Logger.create({ sink }), maxValueLength: 2000 });
    cleanups.push(() => scheduler.dispose());
    scheduler.start();
    expect(scheduler.nextRun(working.id)).not.toBeNull();
    expect(scheduler.nextRun(broken.id)).toBeNull();
    expect(sink.lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((record) => record.msg === 'schedule cannot run' && record.trigger_id === broken.id)).toHaveLength(1);
  });

  it('deleting a schedule trigger deletes its schedule state', () => {
    const store = storage();
    const trigger = scheduleTrigger(store.triggers, '*/10 * * * *', 'skip');
    store.state.markTick(trigger.id, Date.now());
    const rows = () => (store.db.prepare('SELECT count(*) AS n FROM schedule_state WHERE trigger_id = ?').get(trigger.id) as { n: number }).n;
    expect(rows()).toBe(1);
    expect(store.triggers.delete(trigger.id)).toBe(true);
    expect(rows()).toBe(0);
  });

  it('a bad cron and a bad time zone are both named in one 400', async () => {
    const server = await startInProcess();
    cleanups.push(() => server.close());
    const created = await request(server.url, {
      method: 'POST',
      path: '/api/triggers',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'nightly', kind: 'schedule', promptTemplate: 'tidy up', schedule: { cron: '0 25 * * *', timezone: 'Mars/Olympus' } }),
    });
    expect(created.status).toBe(400);
    const issues = created.json<{ error: { issues: { path: string }[] } }>().error.issues;
    expect(issues.map((issue) => issue.path)).toEqual(['body.schedule.timezone', 'body.schedule.cron']);
  });
});

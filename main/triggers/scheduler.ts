import { Cron } from 'croner';
import type Database from 'better-sqlite3';
import type { Disposable } from '../lifecycle/disposables.js';
import type { DedupRepository } from '../storage/dedup-repository.js';
import type { ExecutionRepository } from '../storage/execution-repository.js';
import type { ScheduleStateRepository } from '../storage/schedule-state-repository.js';
import type { StoredTrigger, TriggerRepository } from '../storage/trigger-repository.js';
import type { Logger } from '../telemetry/logger.js';
import { buildQueuedExecution } from './execution-factory.js';

/** Tick keys only need to outlive any restart that could replay the tick. */
const TICK_KEY_TTL_MS = 7 * 24 * 3600 * 1000;
/**
 * Nor longer than this many ticks of the trigger's cron: the worker holds every live dedup key in memory
 * (DedupRepository), and a week of a per-second cron's is 604,800 keys, over 100 MB of its heap and a second of each start.
 */
const TICK_KEYS_KEPT = 10_000;
/** Missed ticks are counted for the log only; past this many the count stops (a per-second cron down for a day would take seconds to count). */
const MAX_MISSED_COUNTED = 1_000;
/** A tick croner fires later than this was slept through (the machine was suspended), not merely delayed by a busy event loop. */
const SLEPT_THROUGH_MS = 60_000;

export interface SchedulerDependencies {
  db: Database.Database;
  triggers: TriggerRepository;
  dedup: DedupRepository;
  executions: ExecutionRepository;
  state: ScheduleStateRepository;
  logger: Logger;
  maxValueLength: number;
  now?: () => Date;
}

export type TickOutcome = { started: string } | { duplicate: true };

/**
 * Runs schedule triggers with croner (cron expression + IANA time zone). Each
 * tick is deduplicated on (trigger, scheduled time) by the same dedup keys as
 * webhooks, in the same transaction as its execution, so a tick never runs
 * twice, also across a restart. Ticks missed while Agented was stopped follow
 * the trigger's policy: `skip`, or `run-once` (one execution for the latest
 * missed tick). They are settled at start, and when the machine wakes from
 * sleep: a trigger edited or re-enabled while Agented runs starts afresh from
 * that moment.
 */
export class Scheduler implements Disposable {
  private readonly jobs = new Map<string, Cron>();
  private readonly fireInTransaction: (trigger: StoredTrigger, scheduledAt: Date, keyTtlMs: number) => TickOutcome;

  constructor(private readonly deps: SchedulerDependencies) {
    this.fireInTransaction = deps.db.transaction((trigger: StoredTrigger, scheduledAt: Date, keyTtlMs: number): TickOutcome => {
      const now = this.now();
      deps.state.markTick(trigger.id, scheduledAt.getTime());
      if (!deps.dedup.claim(trigger.id, `tick:${scheduledAt.toISOString()}`, keyTtlMs, now.getTime())) return { duplicate: true };
      const execution = buildQueuedExecution(
        { trigger, source: 'schedule', payload: { scheduledAt: scheduledAt.toISOString() }, params: {}, deliveryId: null, now },
        { maxValueLength: deps.maxValueLength },
      );
      deps.executions.insert(execution);
      return { started: execution.id };
    });
  }

  /** Schedules every enabled schedule trigger, first settling the ticks each missed while Agented was stopped. */
  start(): void {
    for (const trigger of this.deps.triggers.enabledOfKind('schedule')) {
      // A stored schedule that no longer parses (a croner or ICU of another version reads it otherwise) stops that
      // trigger, not the worker: it is logged, and an edit of the trigger schedules it again.
      try {
        this.settleMissedTicks(trigger);
        this.schedule(trigger);
      } catch (error) {
        this.deps.logger.error('schedule cannot run', { trigger_id: trigger.id, err: error });
      }
    }
  }

  /**
   * A trigger changed (or was deleted): reschedule it from its stored definition. Agented is
   * running, so no tick was missed: ticks of an old cron, or from while the trigger was
   * disabled, are not owed. The mark moves to now so a later start does not count them either.
   */
  reload(triggerId: string): void {
    this.jobs.get(triggerId)?.stop();
    this.jobs.delete(triggerId);
    const trigger = this.deps.triggers.get(triggerId);
    if (!trigger || trigger.definition.kind !== 'schedule' || !trigger.definition.enabled) return;
    this.deps.state.markTick(trigger.id, this.now().getTime());
    this.schedule(trigger);
  }

  /** Records and starts the execution of one tick, unless that tick already ran. `pattern`: the trigger's cron, when the caller has it at hand. */
  fire(trigger: StoredTrigger, scheduledAt: Date, pattern = patternOf(trigger)): TickOutcome {
    const tick = new Date(Math.floor(scheduledAt.getTime() / 1000) * 1000);
    const next = pattern.nextRun(tick);
    const keyTtlMs = next ? Math.min(TICK_KEY_TTL_MS, (next.getTime() - tick.getTime()) * TICK_KEYS_KEPT) : TICK_KEY_TTL_MS;
    const outcome = this.fireInTransaction(trigger, tick, keyTtlMs);
    this.deps.logger.info('schedule tick', { trigger_id: trigger.id, scheduled_at: tick.toISOString(), ...('started' in outcome ? { execution_id: outcome.started } : { duplicate: true }) });
    return outcome;
  }

  nextRun(triggerId: string): Date | null {
    return this.jobs.get(triggerId)?.nextRun() ?? null;
  }

  dispose(): void {
    for (const job of this.jobs.values()) job.stop();
    this.jobs.clear();
  }

  private schedule(trigger: StoredTrigger): void {
    const schedule = trigger.definition.schedule!;
    const job = new Cron(schedule.cron, { timezone: schedule.timezone, protect: true, unref: true, catch: (error: unknown) => this.deps.logger.error('schedule tick failed', { trigger_id: trigger.id, err: error }) }, (self: Cron) => {
      this.onTick(trigger, self);
    });
    this.jobs.set(trigger.id, job);
  }

  /**
   * croner fires a tick it finds overdue when it notices, at that moment (after the machine slept through it, as soon
   * as it wakes): the execution is for the newest tick due, and ticks slept through follow the missed-run policy.
   */
  private onTick(trigger: StoredTrigger, job: Cron): void {
    const now = this.now();
    // previousRuns finds ticks strictly before the time given: one due at this very millisecond counts.
    const tick = job.previousRuns(1, new Date(now.getTime() + 1))[0] ?? now;
    if (now.getTime() - tick.getTime() > SLEPT_THROUGH_MS) this.settleMissedTicks(trigger);
    else this.fire(trigger, tick, job);
  }

  private settleMissedTicks(trigger: StoredTrigger): void {
    const now = this.now();
    const last = this.deps.state.lastTick(trigger.id);
    if (last === undefined) {
      // First sight of this trigger: nothing can have been missed yet.
      this.deps.state.markTick(trigger.id, now.getTime());
      return;
    }
    const pattern = patternOf(trigger);
    // Found backwards from now: a forward walk over a long outage would stop at its bound
    // and take an old tick for the latest.
    const latest = pattern.previousRuns(1, now)[0];
    if (!latest || latest.getTime() <= last) return;
    let missed = 0;
    for (let next = pattern.nextRun(new Date(last)); next && next.getTime() <= latest.getTime() && missed < MAX_MISSED_COUNTED; next = pattern.nextRun(next)) missed += 1;
    const policy = trigger.definition.schedule!.missedRunPolicy;
    this.deps.logger.info('missed schedule ticks', { trigger_id: trigger.id, missed, policy, latest: latest.toISOString() });
    if (policy === 'run-once') this.fire(trigger, latest, pattern);
    else this.deps.state.markTick(trigger.id, now.getTime());
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

/** A schedule trigger's cron, for working out its ticks (it fires nothing). */
function patternOf(trigger: StoredTrigger): Cron {
  const schedule = trigger.definition.schedule!;
  return new Cron(schedule.cron, { timezone: schedule.timezone, paused: true });
}

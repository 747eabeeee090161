import type { Execution } from '../../common/executions.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { QueuedExecution } from '../storage/execution-repository.js';
import type { StoredTrigger, TriggerRepository } from '../storage/trigger-repository.js';
import type { Logger } from '../telemetry/logger.js';
import type { Choice } from '../accounts/credential-pool.js';
import { backendsOf, ExecutionRun, type RunDependencies } from './execution-run.js';
import { killGroup } from './process-group.js';

export interface QueueOptions {
  /** AGENTED_MAX_CONCURRENT: executions running at once, over all triggers. */
  maxConcurrent: number;
  /** Queued executions looked at per pass. */
  scanLimit?: number;
}

/** Thrown by cancel when the execution has already ended. */
export class ExecutionFinishedError extends Error {}

interface Running {
  run: ExecutionRun;
  triggerId: string;
  /** Trigger id and concurrency key, or null without a key. */
  slot: string | null;
  /** Set once a newer execution of the same key asked it to stop (cancel-in-progress). */
  superseded: boolean;
}

const slotOf = (triggerId: string, key: string | null) => (key === null ? null : `${triggerId}\u0000${key}`);

/**
 * Starts queued executions as soon as the limits allow. Queued executions are
 * rows in SQLite (they survive a restart); this class holds only what runs
 * now. A pass runs right after anything changes — an execution queued, one
 * ended, a cancel — never on a polling interval, so the next execution starts
 * within the same turn of the event loop that freed its slot.
 *
 * Limits, in order: the trigger's concurrency key with its strategy, the
 * global limit, the trigger's maxConcurrent. Executions wait in FIFO order;
 * an execution held back by its key holds back the later ones of the same key.
 */
export class ExecutionQueue implements Disposable {
  private readonly running = new Map<string, Running>();
  private scheduled = false;
  private closed = false;
  /** A pass at the earliest moment a waiting execution's cool-down ends. */
  private wake: { at: number; timer: NodeJS.Timeout } | undefined;
  /** An execution with a concurrency key arrived since the last pass: its strategy must be applied even when no slot is free. */
  private keyedArrival = false;
  private readonly log: Logger;
  private readonly subscription: Disposable;

  constructor(
    private readonly deps: RunDependencies & { triggers: TriggerRepository },
    private readonly options: QueueOptions,
  ) {
    this.log = deps.logger.child({ component: 'queue' });
    this.subscription = deps.executions.onChange((change) => {
      if (change.kind === 'created' && change.state === 'queued') {
        if (change.concurrencyKey !== null) this.keyedArrival = true;
        this.kick();
      }
    });
  }

  /**
   * Executions a dead worker left running are marked interrupted, and any of
   * their processes still alive are ended. Call once, before start().
   */
  async recover(): Promise<void> {
    const left = this.deps.executions.running();
    const now = new Date().toISOString();
    const kills: Promise<void>[] = [];
    for (const execution of left) {
      const reason = 'Agented stopped while it ran (the worker exited or crashed)';
      this.deps.logs.append(execution.id, 'system', `interrupted: ${reason}`);
      this.deps.logs.finish(execution.id);
      this.deps.executions.finish(execution.id, { state: 'interrupted', reason, exitCode: null, endedAt: now });
      if (execution.pgid !== null && execution.pgid > 0) kills.push(killGroup(execution.pgid, { graceMs: this.deps.stopGraceMs }));
    }
    if (left.length > 0) this.log.warn('executions interrupted by a previous stop', { count: left.length, ids: left.map((execution) => execution.id) });
    await Promise.all(kills);
  }

  start(): void {
    this.kick();
  }

  /** How many run now. */
  get runningCount(): number {
    return this.running.size;
  }

  /** Asks for a pass at the end of this turn (several asks make one pass). */
  kick(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try {
        this.pass();
      } catch (error) {
        this.log.error('queue pass failed', { err: error });
      }
    });
  }

  /**
   * Cancels an execution: a queued one never starts, a running one is stopped
   * (its whole process group). Resolves with the execution as it ended.
   */
  async cancel(id: string, reason: string): Promise<Execution | undefined> {
    const running = this.running.get(id);
    if (running) {
      await running.run.stop('cancelled', reason);
    } else if (!this.deps.executions.cancelQueued(id, reason, new Date().toISOString())) {
      const execution = this.deps.executions.get(id);
      if (execution && execution.state !== 'running') throw new ExecutionFinishedError(`The execution has already ended (${execution.state}).`);
      // Claimed by a pass in this very turn: stop it as it starts.
      await this.running.get(id)?.run.stop('cancelled', reason);
    }
    return this.deps.executions.get(id);
  }

  /** Stops every running execution (they end `interrupted`) and starts no more. */
  async dispose(): Promise<void> {
    this.closed = true;
    this.subscription.dispose();
    if (this.wake) clearTimeout(this.wake.timer);
    await Promise.all([...this.running.values()].map(({ run }) => run.stop('interrupted', 'Agented was stopped while it ran')));
  }

  private pass(): void {
    if (this.closed) return;
    // With every slot taken, only a keyed arrival can change anything (drop it, or cancel what it supersedes).
    const strategiesPending = this.keyedArrival;
    this.keyedArrival = false;
    if (!strategiesPending && this.running.size >= this.options.maxConcurrent) return;
    const queued = this.deps.executions.queued(this.options.scanLimit ?? 1_000);
    if (queued.length === 0) return;
    const triggers = new Map<string, StoredTrigger | undefined>();
    const triggerOf = (id: string) => {
      if (!triggers.has(id)) triggers.set(id, this.deps.triggers.get(id));
      return triggers.get(id);
    };
    const now = new Date().toISOString();

    // cancel-in-progress: only the newest queued execution of a key matters.
    const newest = new Map<string, string>();
    for (const execution of queued) {
      const slot = slotOf(execution.triggerId, execution.concurrencyKey);
      if (slot !== null && triggerOf(execution.triggerId)?.definition.concurrency.strategy === 'cancel-in-progress') newest.set(slot, execution.id);
    }

    const perTrigger = new Map<string, number>();
    const taken = new Set<string>();
    for (const running of this.running.values()) {
      perTrigger.set(running.triggerId, (perTrigger.get(running.triggerId) ?? 0) + 1);
      if (running.slot !== null) taken.add(running.slot);
    }

    for (const execution of queued) {
      // Slots full and no strategy to apply: the rest of the queue waits as it is.
      if (!strategiesPending && this.running.size >= this.options.maxConcurrent) break;
      const trigger = triggerOf(execution.triggerId);
      if (!trigger) {
        this.deps.executions.skip(execution.id, 'its trigger was deleted before it could start', now);
        continue;
      }
      const { strategy } = trigger.definition.concurrency;
      const slot = slotOf(execution.triggerId, execution.concurrencyKey);
      if (slot !== null) {
        if (strategy === 'cancel-in-progress') {
          const latest = newest.get(slot);
          if (latest !== execution.id) {
            this.deps.executions.skip(execution.id, `superseded by ${latest} (same concurrency key "${execution.concurrencyKey}")`, now);
            continue;
          }
          if (taken.has(slot)) {
            this.supersede(slot, execution.id);
            continue;
          }
        } else if (taken.has(slot)) {
          if (strategy === 'drop-newest') {
            this.deps.executions.skip(execution.id, `dropped: an execution with the same concurrency key "${execution.concurrencyKey}" was already running or queued`, now);
          }
          // queue: waits for the one ahead of it.
          continue;
        }
        taken.add(slot);
      }
      if (this.running.size >= this.options.maxConcurrent) continue;
      if ((perTrigger.get(trigger.id) ?? 0) >= trigger.definition.maxConcurrent) continue;
      const blocked = this.deps.budgets.blockingStart(trigger.id);
      if (blocked) {
        this.deps.executions.skip(execution.id, `not started: ${blocked}`, now);
        continue;
      }
      const selection = this.deps.pool.select(backendsOf(trigger.definition));
      if (selection.kind === 'wait') {
        if (trigger.definition.onRateLimit === 'fail') this.deps.executions.skip(execution.id, `not started: ${selection.reason}`, now);
        else {
          this.deps.executions.setWaiting(execution.id, selection.reason);
          this.wakeAt(selection.until);
        }
        continue;
      }
      if (this.launch(execution, trigger, slot, now, selection.choice)) perTrigger.set(trigger.id, (perTrigger.get(trigger.id) ?? 0) + 1);
    }
  }

  private wakeAt(at: number): void {
    if (this.wake && this.wake.at <= at) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(() => {
      this.wake = undefined;
      this.kick();
    }, Math.max(0, at - Date.now()) + 10);
    timer.unref();
    this.wake = { at, timer };
  }

  private launch(queued: QueuedExecution, trigger: StoredTrigger, slot: string | null, now: string, choice: Choice): boolean {
    if (!this.deps.executions.start(queued.id, now)) return false;
    const execution = this.deps.executions.get(queued.id)!;
    const run = new ExecutionRun(this.deps, execution, trigger.definition, choice);
    this.running.set(queued.id, { run, triggerId: trigger.id, slot, superseded: false });
    void run.finished.then(() => {
      this.running.delete(queued.id);
      this.kick();
    });
    return true;
  }

  private supersede(slot: string, newerId: string): void {
    for (const [id, running] of this.running) {
      if (running.slot !== slot || running.superseded) continue;
      running.superseded = true;
      this.log.info('cancelling the running execution of a concurrency key for a newer one', { execution_id: id, newer: newerId });
      void running.run.stop('cancelled', `superseded by ${newerId} (cancel-in-progress)`);
    }
  }
}

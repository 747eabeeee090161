import type { Execution } from '../../common/executions.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { QueuedExecution, QueuePage } from '../storage/execution-repository.js';
import type { StoredTrigger, TriggerRepository } from '../storage/trigger-repository.js';
import type { Logger } from '../telemetry/logger.js';
import type { Choice } from '../accounts/credential-pool.js';
import { currentBoot, sameBoot } from './boot-identity.js';
import { backendsOf, ExecutionRun, type RunDependencies } from './execution-run.js';
import { killGroup, sameLeader } from './process-group.js';
import { stopReasons } from './stop-policy.js';
import type { StopPolicy } from '../../common/stop-policy.js';

export interface QueueOptions {
  /** AGENTED_MAX_CONCURRENT: executions running at once, over all triggers. */
  maxConcurrent: number;
  /** Queued executions read at a time: a pass reads further pages while slots are free. */
  scanLimit?: number;
}

export interface StopRunningOptions {
  policy: StopPolicy;
  /** With `finish`: how long to wait for running executions before cancelling them. */
  finishTimeoutMs: number;
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

/** The longest delay setTimeout keeps, about 24.8 days: Node fires a longer one after 1 ms (https://nodejs.org/api/timers.html#settimeoutcallback-delay-args). */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

const slotOf = (triggerId: string, key: string | null) => (key === null ? null : `${triggerId}\u0000${key}`);
const keyOfSlot = (slot: string) => slot.slice(slot.indexOf('\u0000') + 1);
const triggerDeletedReason = 'its trigger was deleted before it could start';
const dropReason = (concurrencyKey: string) => `dropped: an execution with the same concurrency key "${concurrencyKey}" was already running or queued`;

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
  /** Executions with a concurrency key that arrived since the last pass: their strategy must be applied even when no slot is free. */
  private readonly keyedArrivals: { triggerId: string; concurrencyKey: string }[] = [];
  /**
   * Whether anything but the arrival of unkeyed executions happened since the last pass (an end,
   * a cancel, a cool-down over, a trigger changed). When only arrivals happened, the executions
   * queued before them were already weighed against the same slots, so a pass is needed only if an
   * arrival's own trigger has a slot free.
   */
  private changed = true;
  /** Triggers of the unkeyed executions queued since the last pass. */
  private readonly arrivals = new Set<string>();
  /** maxConcurrent of triggers that had arrivals, read once (a trigger read parses its definition) and forgotten when the trigger changes. */
  private readonly maxConcurrentOf = new Map<string, number | null>();
  private readonly log: Logger;
  private readonly subscription: Disposable;
  /** Set once a stop began: no execution starts any more, and a second request may cancel what still runs. */
  private stopping: { done: Promise<void>; cancelNow: (reason: string) => void } | undefined;
  /** Told the number of running executions whenever one ends (the stop's progress). */
  private readonly countListeners = new Set<(running: number) => void>();

  constructor(
    private readonly deps: RunDependencies & { triggers: TriggerRepository },
    private readonly options: QueueOptions,
  ) {
    this.log = deps.logger.child({ component: 'queue' });
    this.subscription = deps.executions.onChange((change) => {
      if (change.kind === 'created' && change.state === 'queued') {
        if (change.concurrencyKey !== null) this.keyedArrivals.push({ triggerId: change.triggerId, concurrencyKey: change.concurrencyKey });
        else this.arrivals.add(change.triggerId);
        this.schedule();
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
    const boot = currentBoot();
    for (const execution of left) {
      const reason = 'Agented stopped while it ran (the worker exited or crashed)';
      const group = execution.pgid !== null && execution.pgid > 0 ? execution.pgid : null;
      // A group id from before a reboot, or one that now leads a program started since, names nothing of ours: whoever has that number now is left alone.
      const thisBoot = group !== null && sameBoot(execution.pgidBoot, boot);
      const ours = thisBoot && sameLeader(group, execution.pgidStarted);
      this.deps.logs.append(execution.id, 'system', `interrupted: ${reason}`);
      if (group !== null && !thisBoot) {
        this.deps.logs.append(execution.id, 'system', `the machine restarted since: process group ${group} is no longer this execution's and was not signalled`);
        this.log.info('process group from an earlier boot left alone', { execution_id: execution.id, pgid: group });
      } else if (group !== null && !ours) {
        this.deps.logs.append(execution.id, 'system', `process group ${group} now belongs to another program and was not signalled`);
        this.log.info('process group number now used by another program left alone', { execution_id: execution.id, pgid: group });
      }
      this.deps.logs.finish(execution.id);
      this.deps.executions.finish(execution.id, { state: 'interrupted', reason, exitCode: null, endedAt: now });
      if (ours) kills.push(killGroup(group, { graceMs: this.deps.stopGraceMs }));
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

  /** A trigger was created, changed or deleted: its limits are read again, and a pass may start its queued executions now. */
  triggerChanged(triggerId: string): void {
    this.maxConcurrentOf.delete(triggerId);
    if (!this.deps.triggers.get(triggerId)) this.skipQueuedOf(triggerId);
    this.kick();
  }

  /** A deleted trigger's queued executions end now: with every slot taken, no pass would reach them until one is free, and they would show queued for a trigger that is gone. */
  private skipQueuedOf(triggerId: string): void {
    const now = new Date().toISOString();
    for (let beforeSeq: number | undefined; ; ) {
      const { items, nextCursor } = this.deps.executions.page({ triggerId, state: 'queued', limit: 1_000, beforeSeq });
      for (const { id } of items) this.endQueued(id, 'skipped', triggerDeletedReason, () => this.deps.executions.skip(id, triggerDeletedReason, now));
      if (nextCursor === null) return;
      beforeSeq = Number(nextCursor);
    }
  }

  /** Asks for a pass at the end of this turn (several asks make one pass): something changed that may let an execution start. */
  kick(): void {
    this.changed = true;
    this.schedule();
  }

  private schedule(): void {
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
    } else if (!this.endQueued(id, 'cancelled', reason, () => this.deps.executions.cancelQueued(id, reason, new Date().toISOString()))) {
      const execution = this.deps.executions.get(id);
      if (execution && execution.state !== 'running') throw new ExecutionFinishedError(`The execution has already ended (${execution.state}).`);
      // Claimed by a pass in this very turn: stop it as it starts.
      await this.running.get(id)?.run.stop('cancelled', reason);
    }
    return this.deps.executions.get(id);
  }

  /**
   * A stop of the worker (docs/executions.md, "When Agented stops"): starts
   * no execution any more — queued ones stay queued in SQLite for the next
   * start — and ends the running ones per the stop policy: `finish` waits
   * for them to end on their own, up to `finishTimeoutMs`, then cancels what
   * is left; `cancel` cancels them at once. Resolves when none runs.
   * `onCount` hears how many still run, now and whenever one ends. Asked
   * again while finishing with `cancel`, it cancels what still runs.
   */
  stopRunning(options: StopRunningOptions, onCount?: (running: number) => void): Promise<void> {
    if (onCount) {
      this.countListeners.add(onCount);
      onCount(this.running.size);
    }
    if (this.stopping) {
      if (options.policy === 'cancel') this.stopping.cancelNow(stopReasons.escalated);
      return this.stopping.done;
    }
    if (this.wake) clearTimeout(this.wake.timer);
    let cancelNow: (reason: string) => void = () => undefined;
    const cancelRequested = new Promise<string>((resolve) => (cancelNow = resolve));
    const done = (async () => {
      if (options.policy === 'cancel') return this.cancelRunning(stopReasons.cancel);
      if (this.running.size === 0) return;
      this.log.info('stopping: waiting for running executions to finish', { running: this.running.size, finish_timeout_ms: options.finishTimeoutMs });
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(stopReasons.finishTimedOut(Math.round(options.finishTimeoutMs / 1000))), options.finishTimeoutMs);
      });
      const reason = await Promise.race([this.idle().then(() => undefined), timedOut, cancelRequested]);
      clearTimeout(timer);
      if (reason !== undefined) await this.cancelRunning(reason);
    })();
    this.stopping = { done, cancelNow };
    return done;
  }

  /** Starts no more. What still runs (a worker closed without `stopRunning` first, as in-process tests do) ends `interrupted`. */
  async dispose(): Promise<void> {
    this.closed = true;
    this.subscription.dispose();
    if (this.wake) clearTimeout(this.wake.timer);
    await Promise.all([...this.running.values()].map(({ run }) => run.stop('interrupted', 'Agented was stopped while it ran')));
    this.countListeners.clear();
  }

  /** Cancels every running execution with `reason`; resolves when all have ended and no process of theirs is left. */
  private async cancelRunning(reason: string): Promise<void> {
    if (this.running.size === 0) return;
    this.log.info('stopping: cancelling running executions', { running: this.running.size, reason });
    await Promise.all([...this.running.values()].map(({ run }) => run.stop('cancelled', reason)));
  }

  /** Resolves once no execution runs. */
  private idle(): Promise<void> {
    if (this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const listener = (running: number) => {
        if (running > 0) return;
        this.countListeners.delete(listener);
        resolve();
      };
      this.countListeners.add(listener);
    });
  }

  private pass(): void {
    if (this.closed) return;
    // With every slot taken, only a keyed arrival can change anything (drop it, or cancel what it supersedes).
    const keyedArrivals = this.keyedArrivals.splice(0);
    const strategiesPending = keyedArrivals.length > 0;
    const changed = this.changed;
    this.changed = false;
    const arrivals = [...this.arrivals];
    this.arrivals.clear();
    // A stop starts nothing more, but deliveries it still accepts get their key's strategy as they arrive: one that a
    // running execution drops must not run at the next start, once that execution has ended.
    const full = () => this.stopping !== undefined || this.running.size >= this.options.maxConcurrent;
    if (!strategiesPending && full()) return;
    // A burst of deliveries for a busy trigger queues thousands: reading the queue on every arrival cost a fifth of the webhook path's CPU.
    if (!changed && !strategiesPending && arrivals.every((triggerId) => this.triggerIsFull(triggerId))) return;
    const pageSize = this.options.scanLimit ?? 1_000;
    const triggers = new Map<string, StoredTrigger | undefined>();
    const triggerOf = (id: string) => {
      if (!triggers.has(id)) triggers.set(id, this.deps.triggers.get(id));
      return triggers.get(id);
    };
    const now = new Date().toISOString();

    const perTrigger = new Map<string, number>();
    const taken = new Set<string>();
    for (const running of this.running.values()) {
      perTrigger.set(running.triggerId, (perTrigger.get(running.triggerId) ?? 0) + 1);
      if (running.slot !== null) taken.add(running.slot);
    }
    // cancel-in-progress: only the newest queued execution of a key matters, wherever it is in the queue.
    const newest = new Map<string, string>();
    /** Keys whose newest execution is known for the whole queue: later pages do not change it. */
    const settled = new Set<string>();
    /** Triggers whose executions wait out a rate limit: the rest of this pass passes them over. */
    const waiting = new Set<string>();

    // A page at a time, oldest first. A full page whose executions could not all start (a busy trigger's
    // backlog) is followed by the next while slots are free, leaving out in SQL what cannot start now: a
    // thousand executions of a trigger at its maxConcurrent never hide another trigger's.
    for (let afterId: string | null = null; ; ) {
      const page: QueuedExecution[] = afterId === null ? this.deps.executions.queued(pageSize) : this.deps.executions.queuedAfter({ afterId, limit: pageSize, ...this.blocked(perTrigger, taken, waiting, triggerOf) });
      if (page.length === 0) return;
      const more = page.length === pageSize;
      this.findNewest(page, more, { newest, settled, triggerOf });

      for (const execution of page) {
        // Slots full and no strategy to apply: the rest of the queue waits as it is.
        if (!strategiesPending && full()) break;
        const trigger = triggerOf(execution.triggerId);
        if (!trigger) {
          this.skip(execution, triggerDeletedReason, now);
          continue;
        }
        const { strategy } = trigger.definition.concurrency;
        const slot = slotOf(execution.triggerId, execution.concurrencyKey);
        if (slot !== null) {
          if (strategy === 'cancel-in-progress') {
            const latest = newest.get(slot);
            if (latest !== execution.id) {
              this.skip(execution, `superseded by ${latest} (same concurrency key "${execution.concurrencyKey}")`, now);
              // The newest may lie past this pass's pages: what runs for the key stops now all the same.
              if (latest !== undefined && taken.has(slot)) this.supersede(slot, latest);
              continue;
            }
            if (taken.has(slot)) {
              this.supersede(slot, execution.id);
              continue;
            }
          } else if (taken.has(slot)) {
            if (strategy === 'drop-newest') {
              this.skip(execution, dropReason(execution.concurrencyKey!), now);
            }
            // queue: waits for the one ahead of it.
            continue;
          }
          taken.add(slot);
        }
        if (full()) continue;
        if ((perTrigger.get(trigger.id) ?? 0) >= trigger.definition.maxConcurrent) continue;
        const blocked = this.deps.budgets.blockingStart(trigger.id);
        if (blocked) {
          this.refuse(execution, blocked, now);
          continue;
        }
        const selection = this.deps.pool.select(backendsOf(trigger.definition));
        if (selection.kind === 'over_budget') {
          this.refuse(execution, selection.reason, now);
          continue;
        }
        if (selection.kind === 'wait') {
          if (trigger.definition.onRateLimit === 'fail') this.refuse(execution, `${selection.reason} (the trigger fails rather than waits)`, now);
          else {
            this.deps.executions.setWaiting(execution.id, `waiting: ${selection.reason}`);
            this.wakeAt(selection.until);
            waiting.add(trigger.id);
          }
          continue;
        }
        if (this.launch(execution, trigger, slot, now, selection.choice)) perTrigger.set(trigger.id, (perTrigger.get(trigger.id) ?? 0) + 1);
      }
      if (!more) return;
      if (full()) {
        // The slots are full: the pass ends with this page, but a keyed arrival past it is dropped now, not once the backlog ahead has drained.
        this.dropNewestAfter(page.at(-1)!.id, keyedArrivals, taken, triggerOf, now);
        return;
      }
      afterId = page.at(-1)!.id;
    }
  }

  /**
   * The newest queued execution of each cancel-in-progress key this page names, and of each such key
   * running now (a newer execution of it may be queued past every page this pass reads: the running
   * one is superseded at once, as the newer one arrived). Beyond a full page one query looks for newer
   * ones, walking only those triggers' executions.
   */
  private findNewest(page: readonly QueuedExecution[], more: boolean, pass: { newest: Map<string, string>; settled: Set<string>; triggerOf: (id: string) => StoredTrigger | undefined }): void {
    const { newest, settled, triggerOf } = pass;
    const cancelsInProgress = (triggerId: string) => triggerOf(triggerId)?.definition.concurrency.strategy === 'cancel-in-progress';
    const unsettled = new Map<string, { triggerId: string; concurrencyKey: string }>();
    for (const execution of page) {
      const slot = slotOf(execution.triggerId, execution.concurrencyKey);
      if (slot === null || settled.has(slot) || !cancelsInProgress(execution.triggerId)) continue;
      newest.set(slot, execution.id);
      unsettled.set(slot, { triggerId: execution.triggerId, concurrencyKey: execution.concurrencyKey! });
    }
    // A page that ends the queue holds every newer execution there is.
    if (!more) return;
    const runningKeys = new Map<string, { triggerId: string; concurrencyKey: string }>();
    for (const running of this.running.values()) {
      if (running.slot === null || settled.has(running.slot) || unsettled.has(running.slot) || !cancelsInProgress(running.triggerId)) continue;
      runningKeys.set(running.slot, { triggerId: running.triggerId, concurrencyKey: keyOfSlot(running.slot) });
    }
    for (const slot of [...unsettled.keys(), ...runningKeys.keys()]) settled.add(slot);
    const found = this.deps.executions.newestQueued(page.at(-1)!.id, [...unsettled.values(), ...runningKeys.values()]);
    for (const { triggerId, concurrencyKey, id } of found) {
      const slot = slotOf(triggerId, concurrencyKey)!;
      newest.set(slot, id);
      if (runningKeys.has(slot)) this.supersede(slot, id);
    }
  }

  /**
   * drop-newest for the queue past `afterId`, which this pass reads no further: of the executions
   * queued there with an arriving key, each whose key is taken (running, or queued before it) is
   * skipped, as the pass would skip it on reaching it. cancel-in-progress needs no such step:
   * findNewest looks past the page.
   */
  private dropNewestAfter(afterId: string, arrivals: readonly { triggerId: string; concurrencyKey: string }[], taken: Set<string>, triggerOf: (id: string) => StoredTrigger | undefined, now: string): void {
    const keys = arrivals.filter((arrival) => triggerOf(arrival.triggerId)?.definition.concurrency.strategy === 'drop-newest');
    for (const execution of this.deps.executions.queuedWithKeys(afterId, keys)) {
      const slot = slotOf(execution.triggerId, execution.concurrencyKey)!;
      if (!taken.has(slot)) taken.add(slot);
      else this.skip(execution, dropReason(execution.concurrencyKey!), now);
    }
  }

  /** What the next page leaves out: triggers none of whose executions can start or be acted on in this pass, and keys that wait (strategy `queue`). */
  private blocked(perTrigger: ReadonlyMap<string, number>, taken: ReadonlySet<string>, waiting: ReadonlySet<string>, triggerOf: (id: string) => StoredTrigger | undefined): Pick<QueuePage, 'skipTriggers' | 'skipKeys'> {
    const skipTriggers: string[] = [];
    for (const id of new Set([...perTrigger.keys(), ...waiting])) {
      const trigger = triggerOf(id);
      if (!trigger) continue;
      // drop-newest and cancel-in-progress act on executions that cannot start (they skip them, or stop a running one).
      const acts = trigger.definition.concurrency.key !== '' && trigger.definition.concurrency.strategy !== 'queue';
      if (!acts && (waiting.has(id) || (perTrigger.get(id) ?? 0) >= trigger.definition.maxConcurrent)) skipTriggers.push(id);
    }
    const skipKeys: { triggerId: string; concurrencyKey: string }[] = [];
    for (const slot of taken) {
      const triggerId = slot.slice(0, slot.indexOf('\u0000'));
      if (triggerOf(triggerId)?.definition.concurrency.strategy === 'queue') skipKeys.push({ triggerId, concurrencyKey: keyOfSlot(slot) });
    }
    return { skipTriggers, skipKeys };
  }

  /** Whether the trigger runs as many executions as its maxConcurrent allows (a deleted trigger is not full: the pass skips its executions). */
  private triggerIsFull(triggerId: string): boolean {
    let limit = this.maxConcurrentOf.get(triggerId);
    if (limit === undefined) {
      limit = this.deps.triggers.get(triggerId)?.definition.maxConcurrent ?? null;
      this.maxConcurrentOf.set(triggerId, limit);
    }
    if (limit === null) return false;
    let running = 0;
    for (const entry of this.running.values()) if (entry.triggerId === triggerId) running += 1;
    return running >= limit;
  }

  /** Passes over the queue again at `at` (a cool-down ends). A reset can be weeks away, further than one timer waits: the timer then waits its longest and is set again. */
  private wakeAt(at: number): void {
    if (this.wake && this.wake.at <= at) return;
    if (this.wake) clearTimeout(this.wake.timer);
    const timer = setTimeout(() => {
      this.wake = undefined;
      if (Date.now() < at) this.wakeAt(at);
      else this.kick();
    }, Math.min(Math.max(0, at - Date.now()) + 10, MAX_TIMER_DELAY_MS));
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
      for (const listener of [...this.countListeners]) listener(this.running.size);
      this.kick();
    });
    return true;
  }

  /**
   * Ends a queued execution that may not start (a budget, nothing usable): skipped when it never ran; a
   * requeued one — it ran, and waited out a rate limit — did start, so it fails, as a running execution
   * stopped for the same reason does.
   */
  private refuse(execution: QueuedExecution, reason: string, now: string): void {
    if (execution.started) this.endQueued(execution.id, 'failed', `stopped while waiting: ${reason}`, () => this.deps.executions.failQueued(execution.id, `stopped while waiting: ${reason}`, now));
    else this.skip(execution, `not started: ${reason}`, now);
  }

  private skip(execution: QueuedExecution, reason: string, now: string): void {
    if (execution.started) this.endQueued(execution.id, 'skipped', reason, () => this.deps.executions.skip(execution.id, reason, now));
    else this.deps.executions.skip(execution.id, reason, now);
  }

  /**
   * Ends a queued execution with `end` (false when it was no longer queued). One that ran before (it waits out
   * a rate limit) has a log: it gets its closing line first, as one that ends running does, so the status is
   * still the last event of its stream.
   */
  private endQueued(id: string, state: 'cancelled' | 'failed' | 'skipped', reason: string, end: () => boolean): boolean {
    const execution = this.deps.executions.get(id);
    if (execution?.state !== 'queued') return false;
    if (execution.attempts.length > 0) {
      this.deps.logs.append(id, 'system', `${state}: ${reason}`);
      this.deps.logs.finish(id);
    }
    return end();
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

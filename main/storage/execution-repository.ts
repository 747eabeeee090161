import type Database from 'better-sqlite3';
import type { Execution, ExecutionSource, ExecutionState, ExecutionSummary, PromptContextEntry } from '../../common/executions.js';
import type { Attempt } from '../../common/accounts.js';
import type { Backend } from '../../common/triggers.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { HeldUntilCommit } from './group-commit.js';

/** A new execution, or one whose state changed (the dashboard's event stream and the queue listen). */
export interface ExecutionChange {
  kind: 'created' | 'state';
  id: string;
  triggerId: string;
  state: ExecutionState;
  reason: string | null;
  /** Set on `created` only. */
  concurrencyKey: string | null;
}

/** What the queue needs of a queued execution to decide whether it may start. */
export interface QueuedExecution {
  id: string;
  triggerId: string;
  concurrencyKey: string | null;
  /** It ran before and waits to run again (requeued after a rate limit). */
  started: boolean;
}

export interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  costEstimated: boolean;
  /** The part of costUsd that is the price table's estimate. */
  estimatedUsd: number | null;
}

/** The states an execution ends in once it ran. */
export type EndState = Extract<ExecutionState, 'succeeded' | 'failed' | 'cancelled' | 'timed_out' | 'interrupted'>;

export interface NewExecution {
  id: string;
  triggerId: string;
  source: ExecutionSource;
  state: ExecutionState;
  reason: string | null;
  backend: Backend;
  model: string | null;
  params: Record<string, unknown>;
  prompt: string;
  promptContext: PromptContextEntry[];
  concurrencyKey: string | null;
  deliveryId: string | null;
  replayOf: string | null;
  createdAt: string;
}

interface Row {
  seq: number;
  id: string;
  trigger_id: string;
  source: ExecutionSource;
  state: ExecutionState;
  reason: string | null;
  backend: Backend;
  model: string | null;
  account: string | null;
  attempts: string;
  params: string;
  prompt: string;
  prompt_context: string;
  concurrency_key: string | null;
  delivery_id: string | null;
  replay_of: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  exit_code: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  cost_estimated: number;
  estimated_usd: number | null;
  pgid: number | null;
  pgid_boot: string | null;
  pgid_started: number | null;
}

function summary(row: Row): ExecutionSummary {
  return {
    id: row.id,
    triggerId: row.trigger_id,
    source: row.source,
    state: row.state,
    reason: row.reason,
    backend: row.backend,
    model: row.model,
    account: row.account,
    concurrencyKey: row.concurrency_key,
    deliveryId: row.delivery_id,
    replayOf: row.replay_of,
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    exitCode: row.exit_code,
    processGroup: row.pgid,
    usage: { inputTokens: row.input_tokens, outputTokens: row.output_tokens, costUsd: row.cost_usd, costEstimated: row.cost_estimated === 1, estimatedUsd: row.estimated_usd },
  };
}

/** Which executions: every field is optional and they combine with AND. */
export interface ExecutionSelection {
  triggerId?: string;
  state?: ExecutionState;
  backend?: Backend;
  /** createdAt ≥ since (an ISO instant in UTC, as toISOString writes it: the stored form, so text order is time order). */
  since?: string;
  /** createdAt < until (same form). */
  until?: string;
}

export interface ExecutionFilter extends ExecutionSelection {
  /** seq of the last item of the previous page; none for the first page. */
  beforeSeq?: number;
  limit: number;
}

/** Counts and totals over a selection (`ExecutionTotals` in common/executions.ts). */
export interface ExecutionTotalsRow {
  total: number;
  byState: Record<ExecutionState, number>;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  costEstimated: boolean;
}

/** A further page of the queue: queued executions after `afterId`, oldest first, without those the queue knows cannot start now. */
export interface QueuePage {
  /** The last execution of the page before. */
  afterId: string;
  limit: number;
  /** Triggers none of whose queued executions can start or be acted on now (at their maxConcurrent, say). */
  skipTriggers: readonly string[];
  /** Concurrency keys whose queued executions wait (strategy `queue`, the key taken). */
  skipKeys: readonly { triggerId: string; concurrencyKey: string }[];
}

interface QueuedRow {
  id: string;
  trigger_id: string;
  concurrency_key: string | null;
  first_started_at: string | null;
}

function queuedExecutionOf(row: QueuedRow): QueuedExecution {
  return { id: row.id, triggerId: row.trigger_id, concurrencyKey: row.concurrency_key, started: row.first_started_at !== null };
}

/** The newest execution of a trigger. */
export interface LastExecutionRow {
  id: string;
  state: ExecutionState;
  createdAt: string;
  endedAt: string | null;
}

const EVERY_STATE: readonly ExecutionState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted', 'skipped'];

/** The WHERE clause of a selection, with named parameters. */
function whereOf(selection: ExecutionSelection, extra: string[] = []): string {
  const conditions = [...extra];
  if (selection.triggerId !== undefined) conditions.push('trigger_id = @triggerId');
  if (selection.state !== undefined) conditions.push('state = @state');
  if (selection.backend !== undefined) conditions.push('backend = @backend');
  if (selection.since !== undefined) conditions.push('created_at >= @since');
  if (selection.until !== undefined) conditions.push('created_at < @until');
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}

function parametersOf(selection: ExecutionSelection): Record<string, unknown> {
  const { triggerId, state, backend, since, until } = selection;
  return Object.fromEntries(Object.entries({ triggerId, state, backend, since, until }).filter(([, value]) => value !== undefined));
}

export class ExecutionRepository implements HeldUntilCommit {
  private readonly insertStatement: Database.Statement<unknown[]>;
  private readonly selectOne: Database.Statement<[string], Row>;
  private readonly countStatement: Database.Statement<[], { count: number }>;
  private readonly countInStateStatement: Database.Statement<[ExecutionState], { count: number }>;
  private readonly cancelQueuedStatement: Database.Statement<[string, string, string]>;
  private readonly skipStatement: Database.Statement<[string, string, string]>;
  private readonly failQueuedStatement: Database.Statement<[string, string, string]>;
  private readonly startStatement: Database.Statement<[string, string, string]>;
  private readonly pgidStatement: Database.Statement<[number, string, number | null, string]>;
  private readonly finishStatement: Database.Statement<[string, string | null, number | null, string, string]>;
  private readonly usageStatement: Database.Statement<[number | null, number | null, number | null, number, number | null, string]>;
  private readonly assignStatement: Database.Statement<[Backend, string | null, string | null, string]>;
  private readonly attemptSpendStatement: Database.Statement<{ id: string; attempt: number; backend: Backend; accountId: string | null; inputTokens: number | null; outputTokens: number | null; costUsd: number | null; estimatedUsd: number | null }>;
  private readonly attemptsStatement: Database.Statement<[string, string]>;
  private readonly requeueStatement: Database.Statement<[string, string]>;
  private readonly waitingStatement: Database.Statement<[string, string, string]>;
  private readonly queuedStatement: Database.Statement<[number], QueuedRow>;
  private readonly queuedAfterStatement: Database.Statement<{ afterId: string; limit: number; skipTriggers: string; skipKeys: string }, QueuedRow>;
  private readonly newestQueuedStatement: Database.Statement<{ afterId: string; keys: string }, { id: string; trigger_id: string; concurrency_key: string }>;
  private readonly queuedWithKeysStatement: Database.Statement<{ afterId: string; keys: string }, QueuedRow>;
  private readonly runningStatement: Database.Statement<[], { id: string; trigger_id: string; pgid: number | null; pgid_boot: string | null; pgid_started: number | null }>;
  private readonly lastPerTriggerStatement: Database.Statement<[string], { trigger_id: string; id: string; state: ExecutionState; created_at: string; ended_at: string | null }>;
  private readonly stateOf: Database.Statement<[string], { id: string; state: ExecutionState }>;
  private readonly db: Database.Database;
  private readonly listeners = new Set<(change: ExecutionChange) => void>();
  /** Changes made inside a transaction, told once it has ended (see emit). */
  private held: ExecutionChange[] = [];

  constructor(db: Database.Database) {
    this.db = db;
    this.insertStatement = db.prepare(
      `INSERT INTO executions (id, trigger_id, source, state, reason, backend, model, params, prompt, prompt_context, concurrency_key, delivery_id, replay_of, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.selectOne = db.prepare('SELECT * FROM executions WHERE id = ?');
    this.countStatement = db.prepare('SELECT count(*) AS count FROM executions');
    this.countInStateStatement = db.prepare('SELECT count(*) AS count FROM executions WHERE state = ?');
    this.cancelQueuedStatement = db.prepare("UPDATE executions SET state = 'cancelled', reason = ?, ended_at = ? WHERE id = ? AND state = 'queued'");
    this.skipStatement = db.prepare("UPDATE executions SET state = 'skipped', reason = ?, ended_at = ? WHERE id = ? AND state = 'queued'");
    this.failQueuedStatement = db.prepare("UPDATE executions SET state = 'failed', reason = ?, ended_at = ? WHERE id = ? AND state = 'queued'");
    // started_at is the current run's start (a requeued execution waits without one); first_started_at, set once, is the
    // period its spend counts in, also while it waits and if it is then cancelled or skipped (migration 16).
    this.startStatement = db.prepare("UPDATE executions SET state = 'running', started_at = ?, first_started_at = coalesce(first_started_at, ?) WHERE id = ? AND state = 'queued'");
    this.pgidStatement = db.prepare("UPDATE executions SET pgid = ?, pgid_boot = ?, pgid_started = ? WHERE id = ? AND state = 'running'");
    this.finishStatement = db.prepare("UPDATE executions SET state = ?, reason = ?, exit_code = ?, ended_at = ? WHERE id = ? AND state = 'running'");
    this.usageStatement = db.prepare('UPDATE executions SET input_tokens = ?, output_tokens = ?, cost_usd = ?, cost_estimated = ?, estimated_usd = ? WHERE id = ?');
    this.assignStatement = db.prepare('UPDATE executions SET backend = ?, account_id = ?, account = ? WHERE id = ?');
    this.attemptSpendStatement = db.prepare(
      `INSERT INTO attempt_spend (execution_id, attempt, backend, account_id, first_started_at, input_tokens, output_tokens, cost_usd, estimated_usd)
       SELECT id, @attempt, @backend, @accountId, first_started_at, @inputTokens, @outputTokens, @costUsd, @estimatedUsd FROM executions WHERE id = @id
       ON CONFLICT (execution_id, attempt) DO UPDATE SET backend = excluded.backend, account_id = excluded.account_id, input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens, cost_usd = excluded.cost_usd, estimated_usd = excluded.estimated_usd`,
    );
    this.attemptsStatement = db.prepare('UPDATE executions SET attempts = ? WHERE id = ?');
    this.requeueStatement = db.prepare("UPDATE executions SET state = 'queued', reason = ?, started_at = NULL, pgid = NULL, pgid_boot = NULL, pgid_started = NULL WHERE id = ? AND state = 'running'");
    this.waitingStatement = db.prepare("UPDATE executions SET reason = ? WHERE id = ? AND state = 'queued' AND coalesce(reason, '') <> ?");
    this.queuedStatement = db.prepare("SELECT id, trigger_id, concurrency_key, first_started_at FROM executions WHERE state = 'queued' ORDER BY seq LIMIT ?");
    // SQLite walks executions_by_state from afterId and drops the skipped rows itself: a skipped row costs
    // a lookup (about 0.1 µs), never an object in JavaScript (docs/executions.md, "Concurrency").
    this.queuedAfterStatement = db.prepare(
      `SELECT id, trigger_id, concurrency_key, first_started_at FROM executions
       WHERE state = 'queued' AND seq > (SELECT seq FROM executions WHERE id = @afterId)
         AND trigger_id NOT IN (SELECT value FROM json_each(@skipTriggers))
         AND (concurrency_key IS NULL OR (trigger_id, concurrency_key) NOT IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(@skipKeys)))
       ORDER BY seq LIMIT @limit`,
    );
    // One walk of executions_by_trigger per trigger named, from afterId: `+state` keeps SQLite from walking
    // the whole rest of the queue by executions_by_state instead.
    this.newestQueuedStatement = db.prepare(
      `SELECT id, trigger_id, concurrency_key, MAX(seq) FROM executions
       WHERE trigger_id IN (SELECT json_extract(value, '$[0]') FROM json_each(@keys)) AND seq > (SELECT seq FROM executions WHERE id = @afterId) AND +state = 'queued'
         AND (trigger_id, concurrency_key) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(@keys))
       GROUP BY trigger_id, concurrency_key`,
    );
    this.queuedWithKeysStatement = db.prepare(
      `SELECT id, trigger_id, concurrency_key, first_started_at FROM executions
       WHERE trigger_id IN (SELECT json_extract(value, '$[0]') FROM json_each(@keys)) AND seq > (SELECT seq FROM executions WHERE id = @afterId) AND +state = 'queued'
         AND (trigger_id, concurrency_key) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(@keys))
       ORDER BY seq`,
    );
    this.runningStatement = db.prepare("SELECT id, trigger_id, pgid, pgid_boot, pgid_started FROM executions WHERE state = 'running' ORDER BY seq");
    this.lastPerTriggerStatement = db.prepare(
      `SELECT e.trigger_id, e.id, e.state, e.created_at, e.ended_at
       FROM json_each(?) AS wanted
       JOIN executions AS e ON e.seq = (SELECT MAX(seq) FROM executions WHERE trigger_id = wanted.value)`,
    );
    this.stateOf = db.prepare('SELECT id, state FROM executions WHERE id IN (SELECT value FROM json_each(?))');
  }

  /**
   * Calls `listener` after every insert and state change made through this
   * repository: at once, or for a change made inside a transaction, once that
   * transaction has ended, and only if it committed.
   */
  onChange(listener: (change: ExecutionChange) => void): Disposable {
    this.listeners.add(listener);
    return {
      dispose: () => {
        this.listeners.delete(listener);
      },
    };
  }

  insert(execution: NewExecution): void {
    this.insertStatement.run(
      execution.id,
      execution.triggerId,
      execution.source,
      execution.state,
      execution.reason,
      execution.backend,
      execution.model,
      JSON.stringify(execution.params),
      execution.prompt,
      JSON.stringify(execution.promptContext),
      execution.concurrencyKey,
      execution.deliveryId,
      execution.replayOf,
      execution.createdAt,
    );
    this.emit({ kind: 'created', id: execution.id, triggerId: execution.triggerId, state: execution.state, reason: execution.reason, concurrencyKey: execution.concurrencyKey });
  }

  get(id: string): Execution | undefined {
    const row = this.selectOne.get(id);
    if (!row) return undefined;
    return {
      ...summary(row),
      attempts: JSON.parse(row.attempts) as Attempt[],
      params: JSON.parse(row.params) as Record<string, unknown>,
      prompt: row.prompt,
      promptContext: JSON.parse(row.prompt_context) as PromptContextEntry[],
    };
  }

  /**
   * Newest first. With a time range the order is (created_at, seq) — the same
   * order, since both grow as executions are created — which lets SQLite walk
   * executions_by_created (created_at, then rowid = seq) backwards and stop
   * after one page, instead of sorting every row of the range (a month of
   * 46,000 rows: 68 ms sorted, under 1 ms walked). The cursor stays the seq.
   */
  page(filter: ExecutionFilter): { items: ExecutionSummary[]; nextCursor: string | null } {
    const byTime = filter.since !== undefined || filter.until !== undefined;
    const cursor =
      filter.beforeSeq === undefined
        ? []
        : byTime
          ? // The first condition is what the index seeks to; the row value breaks ties within one instant.
            ['created_at <= (SELECT created_at FROM executions WHERE seq = @beforeSeq)', '(created_at, seq) < ((SELECT created_at FROM executions WHERE seq = @beforeSeq), @beforeSeq)']
          : ['seq < @beforeSeq'];
    const order = byTime ? 'created_at DESC, seq DESC' : 'seq DESC';
    const rows = this.db
      .prepare<Record<string, unknown>, Row>(`SELECT * FROM executions ${whereOf(filter, cursor)} ORDER BY ${order} LIMIT @limit`)
      .all({ ...parametersOf(filter), ...(filter.beforeSeq === undefined ? {} : { beforeSeq: filter.beforeSeq }), limit: filter.limit + 1 });
    return {
      items: rows.slice(0, filter.limit).map(summary),
      nextCursor: rows.length > filter.limit ? String(rows[filter.limit - 1]!.seq) : null,
    };
  }

  /**
   * Counts by state and summed usage over a selection, in one pass. `+state`
   * keeps SQLite from walking executions_by_state to avoid sorting the groups
   * (eight at most): with a time range it then reads only the range, by
   * executions_by_created (today of 100,000 rows: 2 ms instead of 50–110).
   */
  totals(selection: ExecutionSelection): ExecutionTotalsRow {
    const rows = this.db
      .prepare<Record<string, unknown>, { state: ExecutionState; count: number; input_tokens: number | null; output_tokens: number | null; cost_usd: number | null; estimated: number | null }>(
        `SELECT state, COUNT(*) AS count, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost_usd, MAX(cost_estimated) AS estimated
         FROM executions ${whereOf(selection)} GROUP BY +state`,
      )
      .all(parametersOf(selection));
    const totals: ExecutionTotalsRow = {
      total: 0,
      byState: Object.fromEntries(EVERY_STATE.map((state) => [state, 0])) as Record<ExecutionState, number>,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      costEstimated: false,
    };
    for (const row of rows) {
      totals.total += row.count;
      totals.byState[row.state] = row.count;
      totals.inputTokens += row.input_tokens ?? 0;
      totals.outputTokens += row.output_tokens ?? 0;
      totals.costUsd += row.cost_usd ?? 0;
      totals.costEstimated ||= row.estimated === 1;
    }
    return totals;
  }

  /**
   * The newest execution of each of these triggers, in one query: for each id
   * one seek to the end of its range in executions_by_trigger (trigger_id, seq).
   */
  lastPerTrigger(triggerIds: readonly string[]): Map<string, LastExecutionRow> {
    const rows = this.lastPerTriggerStatement.all(JSON.stringify(triggerIds));
    return new Map(rows.map((row) => [row.trigger_id, { id: row.id, state: row.state, createdAt: row.created_at, endedAt: row.ended_at }]));
  }

  /** Cancels an execution that has not started; false when it is no longer queued. */
  cancelQueued(id: string, reason: string, now: string): boolean {
    return this.changeState(id, 'cancelled', reason, this.cancelQueuedStatement.run(reason, now, id).changes);
  }

  /** Marks a queued execution as never to run (a concurrency strategy dropped it); false when it is no longer queued. */
  skip(id: string, reason: string, now: string): boolean {
    return this.changeState(id, 'skipped', reason, this.skipStatement.run(reason, now, id).changes);
  }

  /** Ends a requeued execution that may not run again (it did run: not skipped); false when it is no longer queued. */
  failQueued(id: string, reason: string, now: string): boolean {
    return this.changeState(id, 'failed', reason, this.failQueuedStatement.run(reason, now, id).changes);
  }

  /** Claims a queued execution for running; false when it is no longer queued (cancelled meanwhile). */
  start(id: string, now: string): boolean {
    return this.changeState(id, 'running', null, this.startStatement.run(now, now, id).changes);
  }

  /**
   * The process group a running execution's CLI leads, the boot of the machine it was handed out in
   * (boot-identity.ts), and when its leader started (process-group.ts leaderStart), null if unknown.
   */
  setProcessGroup(id: string, pgid: number, boot: string, leaderStarted: number | null): void {
    this.pgidStatement.run(pgid, boot, leaderStarted, id);
  }

  /** Ends a running execution; false when it was not running. */
  finish(id: string, end: { state: EndState; reason: string | null; exitCode: number | null; endedAt: string }): boolean {
    return this.changeState(id, end.state, end.reason, this.finishStatement.run(end.state, end.reason, end.exitCode, end.endedAt, id).changes);
  }

  setUsage(id: string, usage: Usage): void {
    this.usageStatement.run(usage.inputTokens, usage.outputTokens, usage.costUsd, usage.costEstimated ? 1 : 0, usage.estimatedUsd, id);
  }

  /** The backend and account an execution runs on now (a fallback changes them). */
  assign(id: string, backend: Backend, account: { id: string; name: string } | null): void {
    this.assignStatement.run(backend, account?.id ?? null, account?.name ?? null, id);
  }

  /**
   * What one attempt of a started execution has spent so far (`attempt`: its place among the execution's attempts), for
   * account budgets and the usage report by account and backend: an execution's own usage is its attempts' together,
   * and its backend and account are only the last attempt's (migration 22).
   */
  setAttemptSpend(id: string, attempt: number, spend: { backend: Backend; accountId: string | null; usage: Usage }): void {
    const { inputTokens, outputTokens, costUsd, estimatedUsd } = spend.usage;
    this.attemptSpendStatement.run({ id, attempt, backend: spend.backend, accountId: spend.accountId, inputTokens, outputTokens, costUsd, estimatedUsd });
  }

  setAttempts(id: string, attempts: readonly Attempt[]): void {
    this.attemptsStatement.run(JSON.stringify(attempts), id);
  }

  /** A running execution goes back to the queue (everything usable is rate-limited); `reason` says what it waits for. */
  requeue(id: string, reason: string): boolean {
    return this.changeState(id, 'queued', reason, this.requeueStatement.run(reason, id).changes);
  }

  /** Says why a queued execution is not starting yet (shown in the UI); notifies only when the reason changes. */
  setWaiting(id: string, reason: string): void {
    this.changeState(id, 'queued', reason, this.waitingStatement.run(reason, id, reason).changes);
  }

  /** The oldest queued executions, first in first out. */
  queued(limit: number): QueuedExecution[] {
    return this.queuedStatement.all(limit).map(queuedExecutionOf);
  }

  /** The queued executions after another, first in first out, leaving out the skipped triggers and keys. */
  queuedAfter(page: QueuePage): QueuedExecution[] {
    const { afterId, limit, skipTriggers, skipKeys } = page;
    const rows = this.queuedAfterStatement.all({ afterId, limit, skipTriggers: JSON.stringify(skipTriggers), skipKeys: JSON.stringify(skipKeys.map((key) => [key.triggerId, key.concurrencyKey])) });
    return rows.map(queuedExecutionOf);
  }

  /** For each of these concurrency keys, the id of its newest queued execution after `afterId`, if there is one. */
  newestQueued(afterId: string, keys: readonly { triggerId: string; concurrencyKey: string }[]): { triggerId: string; concurrencyKey: string; id: string }[] {
    if (keys.length === 0) return [];
    const rows = this.newestQueuedStatement.all({ afterId, keys: JSON.stringify(keys.map((key) => [key.triggerId, key.concurrencyKey])) });
    return rows.map((row) => ({ triggerId: row.trigger_id, concurrencyKey: row.concurrency_key, id: row.id }));
  }

  /** The queued executions after `afterId` that have one of these concurrency keys, first in first out. */
  queuedWithKeys(afterId: string, keys: readonly { triggerId: string; concurrencyKey: string }[]): QueuedExecution[] {
    if (keys.length === 0) return [];
    return this.queuedWithKeysStatement.all({ afterId, keys: JSON.stringify(keys.map((key) => [key.triggerId, key.concurrencyKey])) }).map(queuedExecutionOf);
  }

  /** Executions marked running, with their process groups (after a crash: the ones a dead worker left). */
  running(): { id: string; triggerId: string; pgid: number | null; pgidBoot: string | null; pgidStarted: number | null }[] {
    return this.runningStatement.all().map((row) => ({ id: row.id, triggerId: row.trigger_id, pgid: row.pgid, pgidBoot: row.pgid_boot, pgidStarted: row.pgid_started }));
  }

  count(): number {
    return this.countStatement.get()!.count;
  }

  countInState(state: ExecutionState): number {
    return this.countInStateStatement.get(state)!.count;
  }

  private changeState(id: string, state: ExecutionState, reason: string | null, changes: number): boolean {
    if (changes === 0) return false;
    if (this.listeners.size > 0) {
      const triggerId = this.selectOne.get(id)?.trigger_id ?? '';
      this.emit({ kind: 'state', id, triggerId, state, reason, concurrencyKey: null });
    }
    return true;
  }

  private emit(change: ExecutionChange): void {
    // A rolled-back transaction (a full disk, a failing item of a group commit) must not announce an execution that
    // was never stored. Transactions here are synchronous, so one has ended by the next microtask.
    if (this.db.inTransaction) {
      if (this.held.push(change) === 1) queueMicrotask(() => this.release());
      return;
    }
    for (const listener of this.listeners) listener(change);
  }

  mark(): number {
    return this.held.length;
  }

  /** The changes held since `mark` were committed, by a transaction that undid none of them: told now, without release's read. */
  committedSince(mark: number): void {
    for (const change of this.held.splice(mark)) this.emit(change);
  }

  /** Tells the held changes that were committed: a created execution that exists, a state change the row still shows. */
  private release(): void {
    const held = this.held;
    this.held = [];
    if (held.length === 0 || !this.db.open) return;
    const stored = new Map(this.stateOf.all(JSON.stringify(held.map((change) => change.id))).map((row) => [row.id, row.state]));
    // A group commit retried item by item inserted its executions twice, the first time in the run it rolled back: each is new once.
    const created = new Set<string>();
    for (const change of held) {
      const state = stored.get(change.id);
      if (change.kind === 'state') {
        if (state === change.state) this.emit(change);
      } else if (state !== undefined && !created.has(change.id)) {
        created.add(change.id);
        this.emit(change);
      }
    }
  }
}

import type Database from 'better-sqlite3';
import type { Execution, ExecutionSource, ExecutionState, ExecutionSummary, PromptContextEntry } from '../../common/executions.js';
import type { Backend } from '../../common/triggers.js';

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
    usage: { inputTokens: row.input_tokens, outputTokens: row.output_tokens, costUsd: row.cost_usd },
  };
}

export interface ExecutionFilter {
  triggerId?: string;
  state?: ExecutionState;
  /** seq of the last item of the previous page. */
  beforeSeq: number;
  limit: number;
}

export class ExecutionRepository {
  private readonly insertStatement: Database.Statement<unknown[]>;
  private readonly selectOne: Database.Statement<[string], Row>;
  private readonly countStatement: Database.Statement<[], { count: number }>;
  private readonly cancelQueuedStatement: Database.Statement<[string, string, string]>;
  private readonly db: Database.Database;

  constructor(db: Database.Database) {
    this.db = db;
    this.insertStatement = db.prepare(
      `INSERT INTO executions (id, trigger_id, source, state, reason, backend, model, params, prompt, prompt_context, concurrency_key, delivery_id, replay_of, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.selectOne = db.prepare('SELECT * FROM executions WHERE id = ?');
    this.countStatement = db.prepare('SELECT count(*) AS count FROM executions');
    this.cancelQueuedStatement = db.prepare("UPDATE executions SET state = 'cancelled', reason = ?, ended_at = ? WHERE id = ? AND state = 'queued'");
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
  }

  get(id: string): Execution | undefined {
    const row = this.selectOne.get(id);
    if (!row) return undefined;
    return {
      ...summary(row),
      attempts: JSON.parse(row.attempts) as Record<string, unknown>[],
      params: JSON.parse(row.params) as Record<string, unknown>,
      prompt: row.prompt,
      promptContext: JSON.parse(row.prompt_context) as PromptContextEntry[],
    };
  }

  /** Newest first. */
  page(filter: ExecutionFilter): { items: ExecutionSummary[]; nextCursor: string | null } {
    const conditions = ['seq < @beforeSeq'];
    if (filter.triggerId !== undefined) conditions.push('trigger_id = @triggerId');
    if (filter.state !== undefined) conditions.push('state = @state');
    const rows = this.db
      .prepare<Record<string, unknown>, Row>(`SELECT * FROM executions WHERE ${conditions.join(' AND ')} ORDER BY seq DESC LIMIT @limit`)
      .all({ beforeSeq: filter.beforeSeq, triggerId: filter.triggerId, state: filter.state, limit: filter.limit + 1 });
    return {
      items: rows.slice(0, filter.limit).map(summary),
      nextCursor: rows.length > filter.limit ? String(rows[filter.limit - 1]!.seq) : null,
    };
  }

  /** Cancels an execution that has not started; false when it is no longer queued. */
  cancelQueued(id: string, reason: string, now: string): boolean {
    return this.cancelQueuedStatement.run(reason, now, id).changes > 0;
  }

  count(): number {
    return this.countStatement.get()!.count;
  }
}

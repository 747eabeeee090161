import { z } from 'zod';
import { Attempt } from './accounts.js';
import { ExecutionState } from './execution-state.js';
import { Instant } from './instant.js';
import { Backend } from './triggers.js';

export { ExecutionState } from './execution-state.js';

export const ExecutionSource = z.enum(['webhook', 'schedule', 'manual', 'replay']);
export type ExecutionSource = z.infer<typeof ExecutionSource>;

export const PromptContextEntry = z.object({
  field: z.string(),
  /** The sanitised value, cut to a preview. */
  value: z.string(),
  /** Length of the original value, in characters. */
  length: z.number().int(),
  /** SHA-256 (hex) of the original, full value. */
  sha256: z.string(),
  truncated: z.boolean(),
});
export type PromptContextEntry = z.infer<typeof PromptContextEntry>;

export const Execution = z
  .object({
    id: z.string(),
    triggerId: z.string(),
    source: ExecutionSource,
    state: ExecutionState,
    reason: z.string().nullable(),
    backend: Backend,
    model: z.string().nullable(),
    account: z.string().nullable(),
    /** Every try on a backend and account, in order (a rate-limited try moves on to the next). */
    attempts: z.array(Attempt),
    params: z.record(z.string(), z.unknown()),
    prompt: z.string(),
    promptContext: z.array(PromptContextEntry),
    concurrencyKey: z.string().nullable(),
    deliveryId: z.string().nullable(),
    replayOf: z.string().nullable(),
    createdAt: z.string(),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    exitCode: z.number().int().nullable(),
    /** The process group the CLI ran in (its leader's pid), once it started. */
    processGroup: z.number().int().nullable(),
    usage: z.object({
      inputTokens: z.number().nullable(),
      outputTokens: z.number().nullable(),
      costUsd: z.number().nullable(),
      /** The CLI reported tokens but no cost: costUsd was computed from the price table in use then (settings `prices`, or AGENTED_PRICES). */
      costEstimated: z.boolean(),
      /** The part of costUsd that is such an estimate (all of it, unless its attempts mix reported costs and estimates); null when none is. */
      estimatedUsd: z.number().nullable(),
    }),
  })
  .meta({ id: 'Execution' });
export type Execution = z.infer<typeof Execution>;

export const ExecutionSummary = Execution.omit({ prompt: true, promptContext: true, attempts: true, params: true }).meta({ id: 'ExecutionSummary' });
export type ExecutionSummary = z.infer<typeof ExecutionSummary>;

/** The filters the history and its summary share. A time range is half-open: `since` ≤ createdAt < `until`. */
const executionFilterFields = {
  trigger: z.string().max(100).optional(),
  status: ExecutionState.optional(),
  backend: Backend.optional(),
  since: Instant.optional(),
  until: Instant.optional(),
};

const rangeInOrder = (query: { since?: string; until?: string }) =>
  query.since === undefined || query.until === undefined || Date.parse(query.since) < Date.parse(query.until);
const RANGE_MESSAGE = { message: '`since` must be earlier than `until`', path: ['until'] };

export const ExecutionListQuery = z
  .object({
    ...executionFilterFields,
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().regex(/^\d{1,15}$/, 'the nextCursor of an earlier page').optional(),
  })
  .refine(rangeInOrder, RANGE_MESSAGE);
export type ExecutionListQuery = z.input<typeof ExecutionListQuery>;

export const ExecutionSummaryQuery = z.object(executionFilterFields).refine(rangeInOrder, RANGE_MESSAGE);
export type ExecutionSummaryQuery = z.input<typeof ExecutionSummaryQuery>;

/** Counts and totals over the executions a filter selects (the dashboard's "today"). */
export const ExecutionTotals = z
  .object({
    total: z.number().int(),
    /** Every state, zero when none. */
    byState: z.record(ExecutionState, z.number().int()),
    inputTokens: z.number(),
    outputTokens: z.number(),
    costUsd: z.number(),
    /** Some of the cost was computed from the price table, not reported by the CLI. */
    costEstimated: z.boolean(),
  })
  .meta({ id: 'ExecutionTotals' });
export type ExecutionTotals = z.infer<typeof ExecutionTotals>;

export const ExecutionList = z.object({ items: z.array(ExecutionSummary), nextCursor: z.string().nullable() }).meta({ id: 'ExecutionList' });

export const ExecutionIdParams = z.object({ id: z.string().regex(/^exe_[A-Za-z0-9_-]{1,64}$/, 'an execution id') });

/**
 * What an agent CLI's output line means, the same for every backend. Each
 * adapter parses its CLI's own JSON lines into these; a line that is not one
 * of them is still kept (as a raw line), it just carries no event.
 */
export const AgentEvent = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('message'), role: z.enum(['assistant', 'user', 'system']), text: z.string() }),
    z.object({ type: z.literal('tool_call'), id: z.string().nullable(), name: z.string(), input: z.unknown() }),
    z.object({ type: z.literal('tool_result'), id: z.string().nullable(), output: z.string(), isError: z.boolean() }),
    /** Tokens and cost of one part of the run; the runner adds them up (an adapter whose CLI reports a running total reports only the final total, or differences). */
    z.object({
      type: z.literal('usage'),
      inputTokens: z.number().nullable(),
      outputTokens: z.number().nullable(),
      /** US dollars, only when the CLI reports it. */
      costUsd: z.number().nullable(),
      /**
       * A running total of the run so far, reported before the CLI's own
       * totals (Claude Code's per-message usage): each replaces the previous
       * one, and the CLI's totals replace them all. Budgets see it as it comes.
       */
      provisional: z.boolean().optional(),
    }),
    z.object({
      type: z.literal('error'),
      message: z.string(),
      /** What kind of failure, when the output says: a rate limit can be retried elsewhere, an auth failure cannot. */
      kind: z.enum(['rate_limit', 'auth', 'server', 'other']),
      /** When a rate limit resets, if the CLI says (ISO 8601). */
      retryAt: z.string().nullable(),
    }),
    z.object({ type: z.literal('result'), ok: z.boolean(), text: z.string().nullable() }),
  ])
  .meta({ id: 'AgentEvent' });
export type AgentEvent = z.infer<typeof AgentEvent>;

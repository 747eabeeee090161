import { z } from 'zod';
import { Backend } from './triggers.js';

export const BudgetScope = z.enum(['global', 'trigger', 'account']);
export type BudgetScope = z.infer<typeof BudgetScope>;

export const BudgetPeriod = z.enum(['day', 'week', 'month']);
export type BudgetPeriod = z.infer<typeof BudgetPeriod>;

const budgetFields = {
  scope: BudgetScope,
  /** The trigger or account id; absent for `global`. */
  scopeId: z.string().max(100).optional(),
  period: BudgetPeriod,
  limitUsd: z.number().positive().max(1_000_000).optional(),
  limitTokens: z.number().int().positive().max(1e12).optional(),
  /** Hard: an execution that would run over is not started, and one that crosses it while running is stopped. Soft: only notified. */
  hard: z.boolean().default(true),
};

function checkBudget(budget: { scope: BudgetScope; scopeId?: string; limitUsd?: number; limitTokens?: number }, context: z.RefinementCtx): void {
  if (budget.scope !== 'global' && budget.scopeId === undefined) context.addIssue({ code: 'custom', path: ['scopeId'], message: `a ${budget.scope} budget needs the ${budget.scope} id` });
  if (budget.scope === 'global' && budget.scopeId !== undefined) context.addIssue({ code: 'custom', path: ['scopeId'], message: 'a global budget has no scopeId' });
  if (budget.limitUsd === undefined && budget.limitTokens === undefined) context.addIssue({ code: 'custom', path: ['limitUsd'], message: 'set limitUsd, limitTokens or both' });
}

/** `POST /api/budgets`. */
export const BudgetCreate = z.object(budgetFields).strict().superRefine(checkBudget).meta({ id: 'BudgetCreate' });
export type BudgetCreate = z.input<typeof BudgetCreate>;
export type BudgetDefinition = z.output<typeof BudgetCreate>;

/**
 * `PATCH /api/budgets/:id`: the limits, the period and hard/soft; `null` removes one limit
 * (one must remain). What a budget covers (its scope) is fixed: a budget for something
 * else is a new budget, with its own alerts.
 */
export const BudgetPatch = z
  .object({
    period: BudgetPeriod,
    limitUsd: budgetFields.limitUsd.unwrap().nullable(),
    limitTokens: budgetFields.limitTokens.unwrap().nullable(),
    hard: z.boolean(),
  })
  .partial()
  .strict()
  .meta({ id: 'BudgetPatch' });
export type BudgetPatch = z.input<typeof BudgetPatch>;

export const BudgetIdParams = z.object({ id: z.string().regex(/^bud_[A-Za-z0-9_-]{1,64}$/, 'a budget id') });

/** Spend in a budget's current period. Costs a CLI did not report are estimated from the price table, and said so. */
export const Spend = z.object({
  costUsd: z.number(),
  /** Part of costUsd that is an estimate (tokens × the price table), not reported by the CLI. */
  estimatedUsd: z.number(),
  tokens: z.number().int(),
  executions: z.number().int(),
});
export type Spend = z.infer<typeof Spend>;

export const Budget = z
  .object({
    id: z.string(),
    scope: BudgetScope,
    scopeId: z.string().nullable(),
    period: BudgetPeriod,
    limitUsd: z.number().nullable(),
    limitTokens: z.number().int().nullable(),
    hard: z.boolean(),
    /** The current period: from (inclusive) to (exclusive), ISO 8601, in the server's time zone. */
    periodStart: z.string(),
    periodEnd: z.string(),
    spent: Spend,
    /** The larger of cost and token use, as a share of its limit (1 = the limit). */
    used: z.number(),
    createdAt: z.string(),
  })
  .meta({ id: 'Budget' });
export type Budget = z.infer<typeof Budget>;

export const BudgetList = z.object({ items: z.array(Budget), nextCursor: z.string().nullable() }).meta({ id: 'BudgetList' });

export const UsageQuery = z.object({ period: BudgetPeriod.default('day') });

const UsageRow = z.object({ key: z.string().nullable(), label: z.string(), costUsd: z.number(), estimatedUsd: z.number(), inputTokens: z.number().int(), outputTokens: z.number().int(), executions: z.number().int() });

/** `GET /api/usage`: cost and tokens in the current period, by trigger, backend and account. */
export const UsageReport = z
  .object({
    period: BudgetPeriod,
    periodStart: z.string(),
    periodEnd: z.string(),
    total: UsageRow,
    byTrigger: z.array(UsageRow),
    byBackend: z.array(UsageRow.extend({ key: Backend })),
    byAccount: z.array(UsageRow),
  })
  .meta({ id: 'UsageReport' });
export type UsageReport = z.infer<typeof UsageReport>;

/** Dollars per million tokens of one kind; no model is priced near the cap, a typo (an extra zero or three) is. */
const DollarsPerMTok = z
  .number({ error: 'must be a number of dollars (finite)' })
  .min(0, 'must be 0 or more')
  .max(10_000, 'must be at most 10000 dollars per million tokens');

export const Price = z.object({ inputPerMTok: DollarsPerMTok, outputPerMTok: DollarsPerMTok }).strict();
export type Price = z.infer<typeof Price>;

/** How many prices a table may hold: a price per model of four CLIs, with room, not an unbounded document. */
export const MAX_PRICES = 200;
const PRICE_KEY = new RegExp(`^(${Backend.options.join('|')})(/[^\\s]{1,200})?$`);

/**
 * Dollars per million tokens, for CLIs that report tokens but no cost. Keys: `backend` or `backend/model`
 * (`backend/model` wins). The same schema reads AGENTED_PRICES and PATCH /api/settings `prices`.
 */
export const PriceTable = z
  .record(z.string(), Price, { error: (issue) => (issue.code === 'invalid_type' ? 'must be an object of prices by backend or backend/model' : undefined) })
  .superRefine((table, context) => {
    const keys = Object.keys(table);
    if (keys.length > MAX_PRICES) context.addIssue({ code: 'custom', message: `at most ${MAX_PRICES} prices` });
    // Checked here rather than by the record's key schema, whose issue says only "Invalid key in record".
    for (const key of keys) {
      if (!PRICE_KEY.test(key)) context.addIssue({ code: 'custom', path: [key], message: `must be a backend (${Backend.options.join(', ')}) or backend/model, without spaces` });
    }
  });
export type PriceTable = z.infer<typeof PriceTable>;

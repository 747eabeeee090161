import type { Budget, BudgetCreate, BudgetPatch, BudgetPeriod, BudgetScope } from '../../../common/budgets.js';

/** What the budget form edits; an empty limit is "no limit of that kind". */
export interface BudgetDraft {
  scope: BudgetScope;
  scopeId: string;
  period: BudgetPeriod;
  limitUsd: number | '';
  limitTokens: number | '';
  hard: boolean;
}

export function emptyBudgetDraft(): BudgetDraft {
  return { scope: 'global', scopeId: '', period: 'month', limitUsd: '', limitTokens: '', hard: true };
}

export function budgetDraftOf(budget: Budget): BudgetDraft {
  return { scope: budget.scope, scopeId: budget.scopeId ?? '', period: budget.period, limitUsd: budget.limitUsd ?? '', limitTokens: budget.limitTokens ?? '', hard: budget.hard };
}

/** The body of `POST /api/budgets`; what is missing is for the server to report (a trigger budget without its trigger, no limit at all). */
export function toBudgetCreate(draft: BudgetDraft): BudgetCreate {
  const body: BudgetCreate = { scope: draft.scope, period: draft.period, hard: draft.hard };
  if (draft.scope !== 'global' && draft.scopeId !== '') body.scopeId = draft.scopeId;
  if (draft.limitUsd !== '') body.limitUsd = draft.limitUsd;
  if (draft.limitTokens !== '') body.limitTokens = draft.limitTokens;
  return body;
}

/** The body of `PATCH /api/budgets/:id`: what changed; an emptied limit is removed (`null`). The scope cannot change. */
export function toBudgetPatch(draft: BudgetDraft, budget: Budget): BudgetPatch {
  const patch: BudgetPatch = {};
  if (draft.period !== budget.period) patch.period = draft.period;
  const usd = draft.limitUsd === '' ? null : draft.limitUsd;
  if (usd !== budget.limitUsd) patch.limitUsd = usd;
  const tokens = draft.limitTokens === '' ? null : draft.limitTokens;
  if (tokens !== budget.limitTokens) patch.limitTokens = tokens;
  if (draft.hard !== budget.hard) patch.hard = draft.hard;
  return patch;
}

export const PERIOD_WORDS: Record<BudgetPeriod, string> = { day: 'per day', week: 'per week (from Monday)', month: 'per month' };

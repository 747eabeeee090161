import type { PriceTable } from '../../common/budgets.js';
import type { Backend } from '../../common/triggers.js';

/**
 * The cost of tokens at the price table's rate for this backend and model
 * (`backend/model` first, then `backend`), or null without a price. Used only
 * when the CLI reports tokens but no cost; the result is an estimate.
 */
export function estimateCost(prices: PriceTable, backend: Backend, model: string | null, tokens: { inputTokens: number | null; outputTokens: number | null }): number | null {
  const price = (model === null ? undefined : prices[`${backend}/${model}`]) ?? prices[backend];
  if (!price || (tokens.inputTokens === null && tokens.outputTokens === null)) return null;
  return ((tokens.inputTokens ?? 0) * price.inputPerMTok + (tokens.outputTokens ?? 0) * price.outputPerMTok) / 1_000_000;
}

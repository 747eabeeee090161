import type { z } from 'zod';
import { Account, AccountCreate, AccountIdParams, AccountList, AccountPatch, AccountStats } from '../../../common/accounts.js';
import { Budget, BudgetCreate, BudgetIdParams, BudgetList, BudgetPatch, UsageQuery, UsageReport } from '../../../common/budgets.js';
import { ErrorBody } from '../../../common/errors.js';
import type { AccountService } from '../../accounts/account-service.js';
import type { UsageReporter } from '../../budgets/usage-report.js';
import type { BudgetLedger } from '../../budgets/budget-ledger.js';
import { defineRoute, type Route } from '../route.js';
import { actorOf } from './triggers.js';

const errors = {
  401: { description: 'No valid key', schema: ErrorBody },
};
type AccountId = z.infer<typeof AccountIdParams>;
type BudgetId = z.infer<typeof BudgetIdParams>;

/** Accounts per backend (their keys go to the keychain and never come back), budgets, and usage by period. */
export function accountRoutes(deps: { accounts: AccountService; budgets: BudgetLedger; usage: UsageReporter }): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/accounts',
      auth: 'key',
      tag: 'accounts',
      summary: 'Every account, by backend and priority, with its cool-down when rate-limited. Never the API key.',
      responses: { 200: { description: 'The accounts', schema: AccountList }, 401: errors[401] },
      handler: () => ({ items: deps.accounts.list(), nextCursor: null }),
    }),
    defineRoute<Record<string, never>, Record<string, never>, z.input<typeof AccountCreate>>({
      method: 'post',
      path: '/api/accounts',
      auth: 'key',
      tag: 'accounts',
      summary: 'Adds an account: an API key (stored in the OS keychain) or the CLI’s own configuration folder.',
      body: AccountCreate,
      successStatus: 201,
      responses: { 201: { description: 'Created', schema: Account }, 401: errors[401], 409: { description: 'The name is taken for that backend', schema: ErrorBody } },
      handler: ({ body, req }) => deps.accounts.create(body, actorOf(req)),
    }),
    defineRoute<AccountId, Record<string, never>, z.input<typeof AccountPatch>>({
      method: 'patch',
      path: '/api/accounts/:id',
      auth: 'key',
      tag: 'accounts',
      summary: 'Changes an account; `apiKey: null` removes its key.',
      params: AccountIdParams,
      body: AccountPatch,
      responses: { 200: { description: 'The account as it is now', schema: Account }, 401: errors[401], 404: { description: 'No such account', schema: ErrorBody } },
      handler: ({ params, body, req }) => deps.accounts.update(params.id, body, actorOf(req)),
    }),
    defineRoute<AccountId>({
      method: 'delete',
      path: '/api/accounts/:id',
      auth: 'key',
      tag: 'accounts',
      summary: 'Removes an account and its key from the keychain.',
      params: AccountIdParams,
      responses: { 204: { description: 'Deleted' }, 401: errors[401], 404: { description: 'No such account', schema: ErrorBody } },
      handler: async ({ params, req, res }) => {
        await deps.accounts.delete(params.id, actorOf(req));
        res.status(204).end();
      },
    }),
    defineRoute<Record<string, never>, z.infer<typeof UsageQuery>>({
      method: 'get',
      path: '/api/accounts/stats',
      auth: 'key',
      tag: 'accounts',
      summary: 'Per account (and per backend without accounts): requests and rate limits in the period, the last rate limit, the current cool-down.',
      query: UsageQuery,
      responses: { 200: { description: 'Monitoring per account', schema: AccountStats.array() }, 401: errors[401] },
      handler: ({ query }) => deps.usage.accountStats(query.period),
    }),
    defineRoute({
      method: 'get',
      path: '/api/budgets',
      auth: 'key',
      tag: 'budgets',
      summary: 'Every budget with what has been spent in its current period.',
      responses: { 200: { description: 'The budgets', schema: BudgetList }, 401: errors[401] },
      handler: () => ({ items: deps.budgets.list(), nextCursor: null }),
    }),
    defineRoute<Record<string, never>, Record<string, never>, z.input<typeof BudgetCreate>>({
      method: 'post',
      path: '/api/budgets',
      auth: 'key',
      tag: 'budgets',
      summary: 'Adds a budget in cost and/or tokens per day, week or month, global or for one trigger or account.',
      body: BudgetCreate,
      successStatus: 201,
      responses: { 201: { description: 'Created', schema: Budget }, 401: errors[401] },
      handler: ({ body, req }) => deps.budgets.create(body, actorOf(req)),
    }),
    defineRoute<BudgetId, Record<string, never>, z.input<typeof BudgetPatch>>({
      method: 'patch',
      path: '/api/budgets/:id',
      auth: 'key',
      tag: 'budgets',
      summary: 'Changes a budget’s limits, period or hard/soft; `null` removes one limit (one must remain). The scope is fixed.',
      params: BudgetIdParams,
      body: BudgetPatch,
      responses: { 200: { description: 'The budget as it is now, with its spend', schema: Budget }, 401: errors[401], 404: { description: 'No such budget', schema: ErrorBody } },
      handler: ({ params, body, req }) => deps.budgets.update(params.id, body, actorOf(req)),
    }),
    defineRoute<BudgetId>({
      method: 'delete',
      path: '/api/budgets/:id',
      auth: 'key',
      tag: 'budgets',
      summary: 'Removes a budget.',
      params: BudgetIdParams,
      responses: { 204: { description: 'Deleted' }, 401: errors[401], 404: { description: 'No such budget', schema: ErrorBody } },
      handler: ({ params, req, res }) => {
        deps.budgets.delete(params.id, actorOf(req));
        res.status(204).end();
      },
    }),
    defineRoute<Record<string, never>, z.infer<typeof UsageQuery>>({
      method: 'get',
      path: '/api/usage',
      auth: 'key',
      tag: 'budgets',
      summary: 'Cost and tokens in the current day, week or month, by trigger, backend and account. Estimated costs (tokens × the price table) are counted apart.',
      query: UsageQuery,
      responses: { 200: { description: 'The usage report', schema: UsageReport }, 401: errors[401] },
      handler: ({ query }) => deps.usage.report(query.period),
    }),
  ];
}

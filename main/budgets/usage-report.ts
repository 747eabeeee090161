import type Database from 'better-sqlite3';
import type { AccountStats } from '../../common/accounts.js';
import type { BudgetPeriod, UsageReport } from '../../common/budgets.js';
import { Backend } from '../../common/triggers.js';
import { credentialOf, type AccountRepository } from '../storage/account-repository.js';
import type { TriggerRepository } from '../storage/trigger-repository.js';
import { toBillionths } from './amounts.js';
import { periodAt } from './periods.js';

type UsageRow = UsageReport['total'];

interface Sums {
  key: string | null;
  cost: number | null;
  estimated: number | null;
  input: number | null;
  output: number | null;
  executions: number;
}

/**
 * Spend in a period: the executions that first started in it (migration 16), so one waiting requeued still counts.
 * By backend and account it is each attempt's, where it ran (migration 22): an execution's backend and account are its
 * last attempt's, and one that moved on a rate limit counts once for each, with what each attempt spent.
 */
const sums = (column: string, from: 'executions' | 'attempt_spend') => `
  SELECT ${column} AS key, sum(cost_usd) AS cost, sum(estimated_usd) AS estimated,
         sum(input_tokens) AS input, sum(output_tokens) AS output, count(${from === 'executions' ? '*' : 'DISTINCT execution_id'}) AS executions
    FROM ${from} WHERE first_started_at >= ? AND first_started_at < ? GROUP BY ${column} ORDER BY sum(cost_usd) DESC`;

/** Cost and tokens per period, by trigger, backend and account; and the monitoring figures of each account. */
export class UsageReporter {
  private readonly statements;

  constructor(private readonly deps: { db: Database.Database; accounts: AccountRepository; triggers: TriggerRepository; now?: () => Date }) {
    this.statements = {
      total: deps.db.prepare<[string, string], Sums>(sums("'total'", 'executions')),
      byTrigger: deps.db.prepare<[string, string], Sums>(sums('trigger_id', 'executions')),
      byBackend: deps.db.prepare<[string, string], Sums>(sums('backend', 'attempt_spend')),
      byAccount: deps.db.prepare<[string, string], Sums>(sums('account_id', 'attempt_spend')),
    };
  }

  report(period: BudgetPeriod): UsageReport {
    const { start, end } = periodAt(period, this.now());
    const range = [start.toISOString(), end.toISOString()] as const;
    const accounts = new Map(this.deps.accounts.all().map((account) => [account.id, account]));
    const row = (sum: Sums, label: string): UsageRow => ({
      key: sum.key,
      label,
      costUsd: toBillionths(sum.cost ?? 0),
      estimatedUsd: toBillionths(sum.estimated ?? 0),
      inputTokens: sum.input ?? 0,
      outputTokens: sum.output ?? 0,
      executions: sum.executions,
    });
    const total = this.statements.total.get(...range);
    return {
      period,
      periodStart: range[0],
      periodEnd: range[1],
      total: row(total ?? { key: null, cost: 0, estimated: 0, input: 0, output: 0, executions: 0 }, 'all executions'),
      byTrigger: this.statements.byTrigger.all(...range).map((sum) => row(sum, (sum.key && this.deps.triggers.get(sum.key)?.definition.name) ?? 'deleted trigger')),
      byBackend: this.statements.byBackend.all(...range).flatMap((sum) => {
        const backend = Backend.safeParse(sum.key);
        return backend.success ? [{ ...row(sum, backend.data), key: backend.data }] : [];
      }),
      byAccount: this.statements.byAccount.all(...range).map((sum) => {
        const account = sum.key === null ? undefined : accounts.get(sum.key);
        return row(sum, account ? `${account.backend}: ${account.name}` : sum.key === null ? 'environment credentials' : 'deleted account');
      }),
    };
  }

  accountStats(period: BudgetPeriod): AccountStats[] {
    const now = this.now();
    const { start } = periodAt(period, now);
    const counts = this.deps.accounts.eventCounts(start.toISOString());
    const stats = (backend: Backend, accountId: string | null, name: string): AccountStats => {
      const credential = credentialOf(backend, accountId);
      const cooldown = this.deps.accounts.cooldown(credential);
      const count = counts.get(credential);
      return {
        accountId,
        backend,
        name,
        requests: count?.requests ?? 0,
        rateLimits: count?.rateLimits ?? 0,
        lastRateLimitAt: count?.lastRateLimitAt ?? null,
        coolingDownUntil: cooldown && cooldown.until > now.getTime() ? new Date(cooldown.until).toISOString() : null,
      };
    };
    return Backend.options.flatMap((backend) => {
      const accounts = this.deps.accounts.forBackend(backend);
      return accounts.length === 0 ? [stats(backend, null, 'environment credentials')] : accounts.map((account) => stats(backend, account.id, account.name));
    });
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

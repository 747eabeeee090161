import type Database from 'better-sqlite3';
import { BudgetCreate, BudgetPatch, type Budget, type BudgetPeriod, type BudgetScope, type Spend } from '../../common/budgets.js';
import type { Notifier } from '../notifications/notifier.js';
import { ApiError } from '../server/errors.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { Actor } from '../triggers/trigger-service.js';
import { newId } from '../triggers/ids.js';
import { toBillionths } from './amounts.js';
import { periodAt } from './periods.js';

interface Row {
  id: string;
  scope: BudgetScope;
  scope_id: string | null;
  period: BudgetPeriod;
  limit_usd: number | null;
  limit_tokens: number | null;
  hard: number;
  created_at: string;
}

/** Share of a budget used at which a notification goes out, once per period. */
const THRESHOLDS = [80, 100] as const;

/** Budgets in cost and tokens, per day/week/month, global or per trigger or account; what has been spent against them. */
export class BudgetLedger {
  private readonly statements;
  private readonly spendStatements: Record<BudgetScope, Database.Statement<unknown[], { cost: number | null; estimated: number | null; tokens: number | null; executions: number }>>;
  private readonly now: () => Date;

  constructor(private readonly deps: { db: Database.Database; audit: AuditRepository; notifier: Notifier; now?: () => Date }) {
    const { db } = deps;
    this.now = deps.now ?? (() => new Date());
    this.statements = {
      insert: db.prepare<[string, string, string | null, string, number | null, number | null, number, string]>(
        'INSERT INTO budgets (id, scope, scope_id, period, limit_usd, limit_tokens, hard, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      all: db.prepare<[], Row>('SELECT * FROM budgets ORDER BY created_at'),
      one: db.prepare<[string], Row>('SELECT * FROM budgets WHERE id = ?'),
      update: db.prepare<[string, number | null, number | null, number, string]>('UPDATE budgets SET period = ?, limit_usd = ?, limit_tokens = ?, hard = ? WHERE id = ?'),
      remove: db.prepare<[string]>('DELETE FROM budgets WHERE id = ?'),
      alert: db.prepare<[string, string, number, string]>('INSERT OR IGNORE INTO budget_alerts (budget_id, period_start, threshold, at) VALUES (?, ?, ?, ?)'),
      forgetAlertsAbove: db.prepare<[string, string, number]>('DELETE FROM budget_alerts WHERE budget_id = ? AND period_start = ? AND threshold > ?'),
      scopeExists: {
        trigger: db.prepare<[string], unknown>('SELECT 1 FROM triggers WHERE id = ?'),
        account: db.prepare<[string], unknown>('SELECT 1 FROM accounts WHERE id = ?'),
      },
      firstStart: db.prepare<[string], { first_started_at: string | null }>('SELECT first_started_at FROM executions WHERE id = ?'),
    };
    // An execution's spend counts in the period of its first start, also while it waits requeued (migration 16). An
    // account's is what its own attempts spent (migration 22): an execution that moved to another account on a rate
    // limit counts once for each, with what each spent.
    const spend = (table: 'executions' | 'attempt_spend', column: string | null) =>
      db.prepare<unknown[], { cost: number | null; estimated: number | null; tokens: number | null; executions: number }>(
        `SELECT sum(cost_usd) AS cost,
                sum(estimated_usd) AS estimated,
                sum(coalesce(input_tokens, 0) + coalesce(output_tokens, 0)) AS tokens,
                count(${table === 'executions' ? '*' : 'DISTINCT execution_id'}) AS executions
           FROM ${table}
          WHERE first_started_at >= ? AND first_started_at < ?${column ? ` AND ${column} = ?` : ''}`,
      );
    this.spendStatements = { global: spend('executions', null), trigger: spend('executions', 'trigger_id'), account: spend('attempt_spend', 'account_id') };
  }

  create(input: unknown, actor: Actor): Budget {
    const definition = BudgetCreate.parse(input);
    // A budget for an id that names nothing (a typo, something deleted) would never apply, while it looks like a limit in place.
    if (definition.scope !== 'global' && !this.statements.scopeExists[definition.scope].get(definition.scopeId!)) {
      throw new ApiError('ERR_VALIDATION', undefined, [{ path: 'body.scopeId', message: `no ${definition.scope} has the id ${definition.scopeId}` }]);
    }
    const id = newId('bud');
    this.statements.insert.run(id, definition.scope, definition.scopeId ?? null, definition.period, definition.limitUsd ?? null, definition.limitTokens ?? null, definition.hard ? 1 : 0, this.now().toISOString());
    this.deps.audit.record({ action: 'budget.created', ...actor, targetId: id, detail: { scope: definition.scope, period: definition.period } });
    return this.toApi(this.statements.one.get(id)!);
  }

  list(): Budget[] {
    return this.statements.all.all().map((row) => this.toApi(row));
  }

  get(id: string): Budget {
    const row = this.statements.one.get(id);
    if (!row) throw new ApiError('ERR_BUDGET_NOT_FOUND');
    return this.toApi(row);
  }

  update(id: string, input: unknown, actor: Actor): Budget {
    const patch = BudgetPatch.parse(input);
    const row = this.statements.one.get(id);
    if (!row) throw new ApiError('ERR_BUDGET_NOT_FOUND');
    // As PATCH /api/settings: a value already in place is no change to make or to record in the audit log.
    const current = this.toApi(row);
    const fields = (Object.keys(patch) as (keyof typeof patch)[]).filter((field) => patch[field] !== current[field]);
    if (fields.length === 0) return current;
    const limitUsd = patch.limitUsd === undefined ? row.limit_usd : patch.limitUsd;
    const limitTokens = patch.limitTokens === undefined ? row.limit_tokens : patch.limitTokens;
    // The same rule as on creation: a budget limits something.
    if (limitUsd === null && limitTokens === null) throw new ApiError('ERR_VALIDATION', undefined, [{ path: 'body.limitUsd', message: 'set limitUsd, limitTokens or both' }]);
    const hard = patch.hard === undefined ? row.hard : patch.hard ? 1 : 0;
    this.statements.update.run(patch.period ?? row.period, limitUsd, limitTokens, hard, id);
    this.deps.audit.record({ action: 'budget.updated', ...actor, targetId: id, detail: { fields } });
    const budget = this.toApi(this.statements.one.get(id)!);
    // An alert was about the old limits: a threshold the budget is now under is news again when it is crossed.
    this.statements.forgetAlertsAbove.run(id, budget.periodStart, budget.used * 100);
    return budget;
  }

  delete(id: string, actor: Actor): void {
    if (this.statements.remove.run(id).changes === 0) throw new ApiError('ERR_BUDGET_NOT_FOUND');
    this.deps.audit.record({ action: 'budget.deleted', ...actor, targetId: id });
  }

  /** What has been spent in a scope over a period (executions counted by when they started). */
  spend(scope: BudgetScope, scopeId: string | null, start: Date, end: Date): Spend {
    const args: unknown[] = [start.toISOString(), end.toISOString()];
    if (scope !== 'global') args.push(scopeId);
    const row = this.spendStatements[scope].get(...args)!;
    return { costUsd: toBillionths(row.cost ?? 0), estimatedUsd: toBillionths(row.estimated ?? 0), tokens: row.tokens ?? 0, executions: row.executions };
  }

  /** The first hard budget (global or this trigger's) already used up: an execution of the trigger must not start. */
  blockingStart(triggerId: string): string | null {
    return this.firstExhausted((budget) => budget.hard && (budget.scope === 'global' || (budget.scope === 'trigger' && budget.scopeId === triggerId)));
  }

  /** An account over its hard budget is not used until the period ends. */
  accountBlocked(accountId: string): { until: number; reason: string } | null {
    for (const budget of this.list()) {
      if (budget.hard && budget.scope === 'account' && budget.scopeId === accountId && budget.used >= 1) {
        return { until: Date.parse(budget.periodEnd), reason: `over its ${ADJECTIVE[budget.period]} hard budget (${spentText(budget)} this ${budget.period}, until ${budget.periodEnd})` };
      }
    }
    return null;
  }

  /**
   * A hard budget a running execution (its usage already recorded) has crossed: it must be stopped. Its spend
   * counts in the period of its first start, so a run that goes on into the next period is checked against that
   * period's budget too; the current period's counts as well (a budget used up stops what it covers).
   */
  exhaustedWhileRunning(executionId: string, triggerId: string, accountId: string | null): string | null {
    const covers = (row: Row) =>
      row.hard === 1 && (row.scope === 'global' || (row.scope === 'trigger' && row.scope_id === triggerId) || (row.scope === 'account' && accountId !== null && row.scope_id === accountId));
    const rows = this.statements.all.all().filter(covers);
    if (rows.length === 0) return null;
    for (const row of rows) {
      const budget = this.toApi(row);
      if (budget.used >= 1) return exhaustedText(budget);
    }
    for (const budget of this.periodOfFirstStart(rows, executionId)) {
      if (budget.used >= 1) return `${describe(budget)} is used up (${spentText(budget)} in the ${budget.period} the execution started in, from ${budget.periodStart} until ${budget.periodEnd})`;
    }
    return null;
  }

  /**
   * Notifies, once per budget, period and threshold, each 80% and 100% crossing of the budgets this execution counts
   * against. Its spend counts in the period of its first start, so a run that goes on into the next period (or started
   * again in it) takes that period's budgets over too, as `exhaustedWhileRunning` sees.
   */
  checkThresholds(triggerId: string, accountId: string | null, executionId: string): void {
    const rows = this.statements.all.all().filter((row) => row.scope === 'global' || (row.scope === 'trigger' && row.scope_id === triggerId) || (row.scope === 'account' && row.scope_id === accountId));
    for (const row of rows) this.notifyCrossings(this.toApi(row));
    for (const budget of this.periodOfFirstStart(rows, executionId)) this.notifyCrossings(budget);
  }

  /** These budgets over the period the execution first started in, for those whose period has ended since (the current one is the caller's). */
  private periodOfFirstStart(rows: readonly Row[], executionId: string): Budget[] {
    const firstStart = this.statements.firstStart.get(executionId)?.first_started_at;
    if (!firstStart) return [];
    const startedAt = new Date(firstStart);
    const now = this.now();
    return rows.filter((row) => periodAt(row.period, startedAt).end <= now).map((row) => this.toApi(row, startedAt));
  }

  private notifyCrossings(budget: Budget): void {
    const current = Date.parse(budget.periodEnd) > this.now().getTime();
    for (const threshold of THRESHOLDS) {
      if (budget.used * 100 < threshold) continue;
      if (this.statements.alert.run(budget.id, budget.periodStart, threshold, this.now().toISOString()).changes === 0) continue;
      this.deps.notifier.notify({
        kind: 'budget',
        title: `${describe(budget)} at ${threshold}%`,
        body: current
          ? `${spentText(budget)} this ${budget.period}${budget.hard && threshold >= 100 ? '; executions it covers are not started until the period ends' : ''}.`
          : `${spentText(budget)} in the ${budget.period} from ${budget.periodStart} until ${budget.periodEnd}, by an execution that started in it.`,
        data: { budgetId: budget.id, threshold, scope: budget.scope, scopeId: budget.scopeId, period: budget.period, periodStart: budget.periodStart, spent: budget.spent },
      });
    }
  }

  private firstExhausted(applies: (budget: Budget) => boolean): string | null {
    const budget = this.list().find((candidate) => applies(candidate) && candidate.used >= 1);
    return budget ? exhaustedText(budget) : null;
  }

  /** The budget over the period containing `at` (by default the current one). */
  private toApi(row: Row, at = this.now()): Budget {
    const { start, end } = periodAt(row.period, at);
    const spent = this.spend(row.scope, row.scope_id, start, end);
    const shares = [row.limit_usd === null ? 0 : toBillionths(spent.costUsd / row.limit_usd), row.limit_tokens === null ? 0 : spent.tokens / row.limit_tokens];
    return {
      id: row.id,
      scope: row.scope,
      scopeId: row.scope_id,
      period: row.period,
      limitUsd: row.limit_usd,
      limitTokens: row.limit_tokens,
      hard: row.hard === 1,
      periodStart: start.toISOString(),
      periodEnd: end.toISOString(),
      spent,
      used: Math.max(...shares),
      createdAt: row.created_at,
    };
  }
}

const ADJECTIVE: Record<BudgetPeriod, string> = { day: 'daily', week: 'weekly', month: 'monthly' };

function describe(budget: Budget): string {
  const owner = budget.scope === 'global' ? 'The' : `The ${budget.scope} ${budget.scopeId}'s`;
  return `${owner} ${ADJECTIVE[budget.period]} ${budget.hard ? 'hard' : 'soft'} budget`;
}

function exhaustedText(budget: Budget): string {
  return `${describe(budget)} is used up (${spentText(budget)} this ${budget.period}, until ${budget.periodEnd})`;
}

function spentText(budget: Budget): string {
  const parts: string[] = [];
  if (budget.limitUsd !== null) parts.push(`${spentDollars(budget.spent.costUsd)} of $${budget.limitUsd.toFixed(2)}${budget.spent.estimatedUsd > 0 ? ' (partly estimated)' : ''}`);
  if (budget.limitTokens !== null) parts.push(`${budget.spent.tokens} of ${budget.limitTokens} tokens`);
  return parts.join(', ');
}

/** To the cent, rounded down: $0.996 of $1.00 said as $1.00 would read as the limit reached in an 80 % alert. */
function spentDollars(amount: number): string {
  return `$${(Math.floor(toBillionths(amount * 100)) / 100).toFixed(2)}`;
}

import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Budget, UsageReport } from '../../common/budgets.js';
import { TriggerCreate } from '../../common/triggers.js';
import { BudgetLedger } from '../../main/budgets/budget-ledger.js';
import { UsageReporter } from '../../main/budgets/usage-report.js';
import type { Notification } from '../../main/notifications/notifier.js';
import { AccountRepository } from '../../main/storage/account-repository.js';
import { AuditRepository } from '../../main/storage/audit-repository.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { TriggerRepository } from '../../main/storage/trigger-repository.js';
import { keyedApi } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

const actor = { actor: 'api-key', requestId: null };

/**
 * A ledger and a usage report on a real database, with one trigger and the
 * notifications it sends; `spent` records an execution of the trigger that
 * started now and cost `costUsd`.
 */
function ledger() {
  const dir = makeTempDir('agented-budget-edges-');
  const db = openDatabase({ file: path.join(dir.dir, 'agented.db') });
  cleanups.push(dir.remove, () => db.close());
  const triggers = new TriggerRepository(db);
  triggers.insert('trg_costly', TriggerCreate.parse({ name: 'costly', kind: 'manual', promptTemplate: 'work' }), new Date().toISOString());
  const executions = new ExecutionRepository(db);
  const notifications: Notification[] = [];
  const budgets = new BudgetLedger({ db, audit: new AuditRepository(db), notifier: { notify: (notification) => notifications.push(notification) } });
  const usage = new UsageReporter({ db, accounts: new AccountRepository(db), triggers });
  let count = 0;
  const spent = (costUsd: number) => {
    const id = `exe_${++count}`;
    const at = new Date().toISOString();
    executions.insert({ id, triggerId: 'trg_costly', source: 'manual', state: 'queued', reason: null, backend: 'claude', model: null, params: {}, prompt: 'work', promptContext: [], concurrencyKey: null, deliveryId: null, replayOf: null, createdAt: at });
    expect(executions.start(id, at)).toBe(true);
    const usage = { inputTokens: 100, outputTokens: 10, costUsd, costEstimated: false, estimatedUsd: null };
    // As a run records it: the execution's total, and its one attempt's on the environment's credentials.
    executions.setUsage(id, usage);
    executions.setAttemptSpend(id, 0, { backend: 'claude', accountId: null, usage });
    budgets.checkThresholds('trg_costly', null, id);
  };
  const thresholds = () => notifications.map((notification) => notification.data?.threshold);
  return { budgets, usage, spent, thresholds, notifications };
}

describe('dollar sums that land on a limit', () => {
  // In binary floating point $0.01 + $0.09 is $0.09999999999999999, and $0.08 / $0.10 is 0.7999999999999999.
  it('$0.01 and $0.09 use up a $0.10 hard budget: it notifies at 100 %, and the next execution is not started', () => {
    const { budgets, spent, thresholds } = ledger();
    budgets.create({ scope: 'global', period: 'day', limitUsd: 0.1 }, actor);
    spent(0.01);
    spent(0.09);
    expect(budgets.list()[0]).toMatchObject({ spent: { costUsd: 0.1 }, used: 1 });
    expect(thresholds()).toEqual([80, 100]);
    expect(budgets.blockingStart('trg_costly')).toBe(`The daily hard budget is used up ($0.10 of $0.10 this day, until ${budgets.list()[0]!.periodEnd})`);
  });

  it('$0.08 of a $0.10 budget is 80 %: it notifies', () => {
    const { budgets, spent, thresholds } = ledger();
    budgets.create({ scope: 'global', period: 'day', limitUsd: 0.1, hard: false }, actor);
    spent(0.08);
    expect(budgets.list()[0]!.used).toBe(0.8);
    expect(thresholds()).toEqual([80]);
  });

  it('$0.996 of a $1.00 budget is said as $0.99 in its 80 % alert, not $1.00: rounded up, it read as the limit reached', () => {
    const { budgets, spent, notifications } = ledger();
    budgets.create({ scope: 'global', period: 'day', limitUsd: 1, hard: false }, actor);
    spent(0.5);
    spent(0.496);
    expect(notifications.map((notification) => [notification.title, notification.body])).toEqual([['The daily soft budget at 80%', '$0.99 of $1.00 this day.']]);
  });

  it('the usage report says $0.30 for $0.10 and $0.20, not $0.30000000000000004', () => {
    const { usage, spent } = ledger();
    spent(0.1);
    spent(0.2);
    const report = usage.report('day');
    expect(report.total.costUsd).toBe(0.3);
    expect(report.byTrigger[0]!.costUsd).toBe(0.3);
    expect(report.byBackend[0]!.costUsd).toBe(0.3);
    expect(report.byAccount[0]!.costUsd).toBe(0.3);
  });
});

describe('budget alerts after a PATCH', () => {
  it('a limit raised after its 80 % and 100 % alerts notifies again at 80 % and 100 % of the new limit, in the same period', () => {
    const { budgets, spent, thresholds } = ledger();
    const { id } = budgets.create({ scope: 'trigger', scopeId: 'trg_costly', period: 'day', limitUsd: 1, hard: false }, actor);
    spent(1);
    expect(thresholds()).toEqual([80, 100]);

    budgets.update(id, { limitUsd: 2 }, actor);
    spent(0.5);
    expect(thresholds()).toEqual([80, 100]);
    spent(0.2);
    expect(thresholds()).toEqual([80, 100, 80]);
    spent(0.3);
    expect(thresholds()).toEqual([80, 100, 80, 100]);
  });

  it('a PATCH that leaves the budget past a threshold does not repeat that alert', () => {
    const { budgets, spent, thresholds } = ledger();
    const { id } = budgets.create({ scope: 'global', period: 'day', limitUsd: 1, hard: false }, actor);
    spent(0.9);
    expect(thresholds()).toEqual([80]);
    budgets.update(id, { limitUsd: 1.1, hard: true }, actor);
    spent(0.05);
    expect(thresholds()).toEqual([80]);
  });
});

describe('budgets API: what a budget covers must exist', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess();
  });
  afterAll(() => server.close());

  const api = <T>(method: string, urlPath: string, body?: unknown) => keyedApi(server.key)<T>(server.url, method, urlPath, body);

  type ErrorAnswer = { error: { code: string; issues?: { path: string; message: string }[] } };

  it('a budget for a trigger or account that does not exist is refused under scopeId, and none is stored', async () => {
    const trigger = await api<ErrorAnswer>('POST', '/api/budgets', { scope: 'trigger', scopeId: 'trg_missing', period: 'day', limitUsd: 1 });
    expect(trigger.status).toBe(400);
    expect(trigger.body.error).toMatchObject({ code: 'ERR_VALIDATION', issues: [{ path: 'body.scopeId', message: 'no trigger has the id trg_missing' }] });
    const account = await api<ErrorAnswer>('POST', '/api/budgets', { scope: 'account', scopeId: 'acc_missing', period: 'day', limitUsd: 1 });
    expect(account.status).toBe(400);
    expect(account.body.error).toMatchObject({ code: 'ERR_VALIDATION', issues: [{ path: 'body.scopeId', message: 'no account has the id acc_missing' }] });
    expect((await api<{ items: Budget[] }>('GET', '/api/budgets')).body.items).toEqual([]);

    // A trigger's budget takes a trigger's id, not an account's.
    const created = await api<{ id: string }>('POST', '/api/accounts', { backend: 'claude', name: 'work', apiKey: 'sk-ant-budget-edges-0123456789' });
    expect(created.status).toBe(201);
    expect((await api<ErrorAnswer>('POST', '/api/budgets', { scope: 'trigger', scopeId: created.body.id, period: 'day', limitUsd: 1 })).status).toBe(400);
    expect((await api<Budget>('POST', '/api/budgets', { scope: 'account', scopeId: created.body.id, period: 'day', limitUsd: 1 })).status).toBe(201);
    expect((await api<UsageReport>('GET', '/api/usage?period=week')).status).toBe(200);
  });
});

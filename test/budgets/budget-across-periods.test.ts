import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BudgetPeriod } from '../../common/budgets.js';
import { TriggerCreate } from '../../common/triggers.js';
import { BudgetLedger } from '../../main/budgets/budget-ledger.js';
import type { Notification } from '../../main/notifications/notifier.js';
import { AuditRepository } from '../../main/storage/audit-repository.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { TriggerRepository } from '../../main/storage/trigger-repository.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/**
 * A ledger on a real database whose clock the test sets, with one trigger, and the notifications it sends; `running`
 * starts an execution of it at `startedAt`, with `tokens` used.
 */
function ledgerAt(now: { at: Date }) {
  const dir = makeTempDir('agented-budget-periods-');
  const db = openDatabase({ file: path.join(dir.dir, 'agented.db') });
  cleanups.push(dir.remove, () => db.close());
  new TriggerRepository(db).insert('trg_night', TriggerCreate.parse({ name: 'night', kind: 'manual', promptTemplate: 'work' }), now.at.toISOString());
  const executions = new ExecutionRepository(db);
  const notifications: Notification[] = [];
  const ledger = new BudgetLedger({ db, audit: new AuditRepository(db), notifier: { notify: (notification) => notifications.push(notification) }, now: () => now.at });
  const running = (id: string, startedAt: Date, tokens: number) => {
    executions.insert({ id, triggerId: 'trg_night', source: 'manual', state: 'queued', reason: null, backend: 'codex', model: null, params: {}, prompt: 'work', promptContext: [], concurrencyKey: null, deliveryId: null, replayOf: null, createdAt: startedAt.toISOString() });
    expect(executions.start(id, startedAt.toISOString())).toBe(true);
    executions.setUsage(id, { inputTokens: tokens, outputTokens: 0, costUsd: null, costEstimated: false, estimatedUsd: null });
  };
  return { ledger, executions, running, notifications };
}

const actor = { actor: 'api-key', requestId: null };

// The last minutes of a period and the first of the next, in local time: Sunday 6 December 2026 ends a week, 31 December a month.
const CROSSINGS: { period: BudgetPeriod; adjective: string; before: Date; after: Date; name: string }[] = [
  { period: 'day', adjective: 'daily', before: new Date(2026, 11, 7, 23, 58), after: new Date(2026, 11, 8, 0, 30), name: 'midnight' },
  { period: 'week', adjective: 'weekly', before: new Date(2026, 11, 6, 23, 58), after: new Date(2026, 11, 7, 0, 30), name: 'the start of a week' },
  { period: 'month', adjective: 'monthly', before: new Date(2026, 11, 31, 23, 58), after: new Date(2027, 0, 1, 0, 30), name: 'the start of a month' },
];

/**
 * Spend counts in the period an execution started in, so a run that crosses
 * into the next period keeps spending against the budget of the one it
 * started in: it is stopped when that budget is used up, though the new
 * period's spend is nothing.
 */
describe('hard budgets and a running execution that crosses into the next period', () => {
  for (const { period, adjective, before, after, name } of CROSSINGS) {
    it(`an execution started before ${name} is stopped when it uses up its start period's ${adjective} budget after it`, () => {
      const now = { at: before };
      const { ledger, executions, running } = ledgerAt(now);
      ledger.create({ scope: 'global', period, limitTokens: 1000 }, actor);
      running('exe_night', before, 500);
      expect(ledger.exhaustedWhileRunning('exe_night', 'trg_night', null)).toBeNull();

      now.at = after;
      expect(ledger.exhaustedWhileRunning('exe_night', 'trg_night', null)).toBeNull();
      executions.setUsage('exe_night', { inputTokens: 5_000_000, outputTokens: 0, costUsd: null, costEstimated: false, estimatedUsd: null });
      // The new period has spent nothing: its budget does not stop the execution, nor block the next one.
      expect(ledger.list()[0]!.spent.tokens).toBe(0);
      expect(ledger.blockingStart('trg_night')).toBeNull();
      expect(ledger.exhaustedWhileRunning('exe_night', 'trg_night', null)).toMatch(
        new RegExp(`^The ${adjective} hard budget is used up \\(5000000 of 1000 tokens in the ${period} the execution started in, from ${before.getFullYear()}-\\S+ until \\S+\\)$`),
      );
    });
  }

  it("an execution started before midnight is still stopped by the new day's budget when other executions use that up", () => {
    const now = { at: new Date(2026, 11, 7, 23, 58) };
    const { ledger, running } = ledgerAt(now);
    ledger.create({ scope: 'global', period: 'day', limitTokens: 1000 }, actor);
    running('exe_night', now.at, 10);
    now.at = new Date(2026, 11, 8, 0, 30);
    running('exe_morning', now.at, 2000);
    expect(ledger.exhaustedWhileRunning('exe_night', 'trg_night', null)).toMatch(/^The daily hard budget is used up \(2000 of 1000 tokens this day, until \S+\)$/);
  });

  it('an execution first started before midnight, requeued by a rate limit and started again after it, counts in its first day: that budget stops it', () => {
    const now = { at: new Date(2026, 11, 7, 23, 58) };
    const { ledger, executions, running } = ledgerAt(now);
    ledger.create({ scope: 'global', period: 'day', limitTokens: 1000 }, actor);
    running('exe_night', now.at, 500);
    executions.requeue('exe_night', 'waiting: every claude account is rate-limited');
    now.at = new Date(2026, 11, 8, 0, 10);
    expect(executions.start('exe_night', now.at.toISOString())).toBe(true);
    expect(ledger.exhaustedWhileRunning('exe_night', 'trg_night', null)).toBeNull();

    executions.setUsage('exe_night', { inputTokens: 1500, outputTokens: 0, costUsd: null, costEstimated: false, estimatedUsd: null });
    expect(ledger.exhaustedWhileRunning('exe_night', 'trg_night', null)).toMatch(/^The daily hard budget is used up \(1500 of 1000 tokens in the day the execution started in, from \S+ until \S+\)$/);
  });

  it("an execution started before midnight that takes its first day's budget to 80 % and 100 % after it is notified for that day, once each", () => {
    const now = { at: new Date(2026, 11, 7, 23, 58) };
    const { ledger, executions, running, notifications } = ledgerAt(now);
    const budget = ledger.create({ scope: 'global', period: 'day', limitTokens: 1000, hard: true }, actor);
    running('exe_night', now.at, 500);
    ledger.checkThresholds('trg_night', null, 'exe_night');
    expect(notifications).toEqual([]);

    now.at = new Date(2026, 11, 8, 0, 30);
    executions.setUsage('exe_night', { inputTokens: 1500, outputTokens: 0, costUsd: null, costEstimated: false, estimatedUsd: null });
    ledger.checkThresholds('trg_night', null, 'exe_night');
    ledger.checkThresholds('trg_night', null, 'exe_night');
    const day = `in the day from ${new Date(2026, 11, 7).toISOString()} until ${new Date(2026, 11, 8).toISOString()}, by an execution that started in it.`;
    expect(notifications.map((notification) => [notification.title, notification.body, notification.data.periodStart])).toEqual([
      ['The daily hard budget at 80%', `1500 of 1000 tokens ${day}`, new Date(2026, 11, 7).toISOString()],
      ['The daily hard budget at 100%', `1500 of 1000 tokens ${day}`, new Date(2026, 11, 7).toISOString()],
    ]);
    // The new day's budget is untouched.
    expect(ledger.get(budget.id).used).toBe(0);
  });
});

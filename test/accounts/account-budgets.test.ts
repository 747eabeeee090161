import { afterAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import type { Budget } from '../../common/budgets.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { FIRST_KEY, SECOND_KEY, keyOf, messagesOf } from '../helpers/claude-accounts.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

// A model Claude Code has a price for, so that it reports a cost (the stand-in answers any model).
const PRICED_MODEL = 'claude-sonnet-4-5';

async function engineAnswering(): Promise<Engine> {
  const engine = await startEngine({}, { respond: () => ({ text: 'Spending a little.' }) });
  cleanups.push(() => engine.close());
  return engine;
}

async function budget(engine: Engine, fields: Record<string, unknown>): Promise<Budget> {
  const created = await engine.api<Budget>('POST', '/api/budgets', { period: 'day', ...fields });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

describe('budgets before start (the real claude CLI against the Anthropic stand-in)', () => {
  it('an account over its hard budget is passed over for the next account; with every account over, the execution is skipped with the reason and nothing is spawned', async () => {
    const engine = await engineAnswering();
    const accounts: Account[] = [];
    for (const [name, apiKey, priority] of [['team-a', FIRST_KEY, 1], ['team-b', SECOND_KEY, 2]] as const) {
      const created = await engine.api<Account>('POST', '/api/accounts', { backend: 'claude', name, apiKey, priority });
      expect(created.status).toBe(201);
      accounts.push(created.body);
    }
    const [first, second] = accounts as [Account, Account];
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello', model: PRICED_MODEL });
    const spending = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped']);
    expect(spending.state, spending.reason ?? '').toBe('succeeded');
    expect(spending.account).toBe('team-a');
    expect(spending.usage.costUsd).toBeGreaterThan(0.01);

    // One cent, set after the run (a run crossing a hard budget is stopped: budget-while-running.test.ts): the account's spend today is over it.
    expect((await budget(engine, { scope: 'account', scopeId: first.id, limitUsd: 0.01 })).used).toBeGreaterThanOrEqual(1);

    const passedOver = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped']);
    expect(passedOver.state, passedOver.reason ?? '').toBe('succeeded');
    expect(passedOver.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([['team-b', 'succeeded']]);
    expect(messagesOf(engine).map(keyOf)).toEqual([FIRST_KEY, SECOND_KEY]);

    // Now the second account is over its own budget too: nothing to wait for this period.
    expect((await budget(engine, { scope: 'account', scopeId: second.id, limitUsd: 0.01 })).used).toBeGreaterThanOrEqual(1);
    const skipped = await engine.waitForState(await engine.run(trigger), ['skipped', 'succeeded', 'failed', 'queued']);
    expect(skipped.state).toBe('skipped');
    expect(skipped.reason).toMatch(/^not started: nothing is usable — claude account "team-a" is over its daily hard budget \(\$\d+\.\d\d of \$0\.01 this day, until \S+\)$/);
    expect(skipped).toMatchObject({ startedAt: null, processGroup: null, attempts: [] });
    expect(messagesOf(engine)).toHaveLength(2);

    // A soft account budget only notifies: it passes nothing over.
    const third = await engine.api<Account>('POST', '/api/accounts', { backend: 'claude', name: 'team-c', apiKey: 'sk-ant-third-account-0123456789', priority: 3 });
    await budget(engine, { scope: 'account', scopeId: third.body.id, limitUsd: 0.000_001, hard: false });
    const soft = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped']);
    expect(soft.state, soft.reason ?? '').toBe('succeeded');
    expect(soft.account).toBe('team-c');
    const again = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped']);
    expect(again.account).toBe('team-c');
  }, 90_000);

  it('a hard dollar budget (limitUsd) already spent: the next execution is skipped before start, with the reason', async () => {
    const engine = await engineAnswering();
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello', model: PRICED_MODEL });
    const first = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped']);
    expect(first.state, first.reason ?? '').toBe('succeeded');
    expect(first.usage).toMatchObject({ costEstimated: false });
    expect(first.usage.costUsd).toBeGreaterThan(0.01);
    const limited = await budget(engine, { scope: 'trigger', scopeId: trigger, limitUsd: 0.01 });
    expect(limited).toMatchObject({ limitUsd: 0.01, limitTokens: null, spent: { executions: 1 } });
    expect(limited.spent.costUsd).toBe(first.usage.costUsd);

    const second = await engine.waitForState(await engine.run(trigger), ['skipped', 'succeeded', 'failed']);
    expect(second.state).toBe('skipped');
    expect(second.reason).toMatch(new RegExp(`^not started: The trigger ${trigger}'s daily hard budget is used up \\(\\$\\d+\\.\\d\\d of \\$0\\.01 this day, until \\S+\\)$`));
    expect(second).toMatchObject({ startedAt: null, processGroup: null, attempts: [] });
    expect(messagesOf(engine)).toHaveLength(1);

    // A global dollar budget blocks every trigger the same way.
    const other = await engine.createTrigger({ promptTemplate: 'Say hello', model: PRICED_MODEL });
    await budget(engine, { scope: 'global', limitUsd: 0.01 });
    const blocked = await engine.waitForState(await engine.run(other), ['skipped', 'succeeded', 'failed']);
    expect(blocked.state).toBe('skipped');
    expect(blocked.reason).toMatch(/^not started: The daily hard budget is used up \(\$\d+\.\d\d of \$0\.01 this day, until \S+\)$/);
    expect(messagesOf(engine)).toHaveLength(1);
  }, 60_000);
});

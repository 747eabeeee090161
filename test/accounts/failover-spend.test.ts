import { afterAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import type { Budget, UsageReport } from '../../common/budgets.js';
import { openDatabase } from '../../main/storage/database.js';
import { migrations } from '../../main/storage/migrations/index.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import type { AnthropicReply } from '../helpers/stand-ins/anthropic.js';
import type { RecordedRequest } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';
import { FIRST_KEY, SECOND_KEY, keyOf, messagesOf } from '../helpers/claude-accounts.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The stand-in's token count of a request or a reply (test/helpers/stand-ins/anthropic.ts): what it bills each call. */
const standInTokens = (value: unknown) => Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));

interface Billed {
  inputTokens: number;
  outputTokens: number;
}

/**
 * The first account's Claude Code calls its Read tool, then the API call carrying the tool's result is rate-limited
 * (429): the execution moves to the second account, which answers. `billed` adds up what each key's calls were billed.
 */
function failoverStandIn() {
  const billed = new Map<string, Billed>([[FIRST_KEY, { inputTokens: 0, outputTokens: 0 }], [SECOND_KEY, { inputTokens: 0, outputTokens: 0 }]]);
  const respond = (recorded: RecordedRequest): AnthropicReply => {
    const conversation = JSON.stringify((recorded.body as { messages?: unknown } | null)?.messages ?? []);
    if (keyOf(recorded) === FIRST_KEY && conversation.includes('tool_result')) return { status: 429 };
    const sum = billed.get(keyOf(recorded))!;
    sum.inputTokens += standInTokens(recorded.body);
    if (keyOf(recorded) === SECOND_KEY) {
      sum.outputTokens += standInTokens('done');
      return { text: 'done' };
    }
    const input = { file_path: '/etc/hostname' };
    sum.outputTokens += standInTokens(input);
    return { toolUse: { name: 'Read', input } };
  };
  return { billed, respond };
}

async function twoAccounts(engine: Engine): Promise<[Account, Account]> {
  const created: Account[] = [];
  for (const [name, apiKey, priority] of [['team-a', FIRST_KEY, 1], ['team-b', SECOND_KEY, 2]] as const) {
    const account = await engine.api<Account>('POST', '/api/accounts', { backend: 'claude', name, apiKey, priority });
    expect(account.status, JSON.stringify(account.body)).toBe(201);
    created.push(account.body);
  }
  return created as [Account, Account];
}

async function budget(engine: Engine, fields: Record<string, unknown>): Promise<Budget> {
  const created = await engine.api<Budget>('POST', '/api/budgets', { period: 'day', ...fields });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

const spentOf = async (engine: Engine, budgetId: string) => (await engine.api<{ items: Budget[] }>('GET', '/api/budgets')).body.items.find((found) => found.id === budgetId)!.spent;
const usageOf = async (engine: Engine) => (await engine.api<UsageReport>('GET', '/api/usage?period=day')).body;
const tokensOf = (billed: Billed) => billed.inputTokens + billed.outputTokens;

async function failover(engine: Engine) {
  const trigger = await engine.createTrigger({ promptTemplate: 'Read /etc/hostname' });
  const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped'], 60_000);
  expect(done.state, done.reason ?? '').toBe('succeeded');
  expect(done.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([['team-a', 'rate_limited'], ['team-b', 'succeeded']]);
  return { trigger, done };
}

describe('spend after a failover counts for the account that spent it (the real claude CLI against the Anthropic stand-in)', () => {
  it("each account's budget and usage row have its own attempt's tokens and the execution once; the total is the execution's", async () => {
    const { billed, respond } = failoverStandIn();
    const engine = await startEngine({}, { respond });
    cleanups.push(() => engine.close());
    const [first, second] = await twoAccounts(engine);
    const firstBudget = await budget(engine, { scope: 'account', scopeId: first.id, limitTokens: 1_000_000, hard: false });
    const secondBudget = await budget(engine, { scope: 'account', scopeId: second.id, limitTokens: 1_000_000, hard: false });
    const { done } = await failover(engine);
    const firstBilled = billed.get(FIRST_KEY)!;
    const secondBilled = billed.get(SECOND_KEY)!;
    expect(messagesOf(engine).map(keyOf)).toEqual([FIRST_KEY, FIRST_KEY, SECOND_KEY]);
    // The execution's usage is what the stand-in billed in all.
    expect(done.usage).toMatchObject({ inputTokens: firstBilled.inputTokens + secondBilled.inputTokens, outputTokens: firstBilled.outputTokens + secondBilled.outputTokens, costEstimated: false });
    const cost = done.usage.costUsd!;

    const firstSpent = await spentOf(engine, firstBudget.id);
    const secondSpent = await spentOf(engine, secondBudget.id);
    expect(firstSpent).toMatchObject({ estimatedUsd: 0, tokens: tokensOf(firstBilled), executions: 1 });
    expect(secondSpent).toMatchObject({ estimatedUsd: 0, tokens: tokensOf(secondBilled), executions: 1 });
    // Each attempt's CLI reported its own cost (the first's as it ended on the rate limit): together, the execution's.
    expect(firstSpent.costUsd).toBeGreaterThan(0);
    expect(secondSpent.costUsd).toBeGreaterThan(0);
    expect(firstSpent.costUsd + secondSpent.costUsd).toBeCloseTo(cost, 9);
    const usage = await usageOf(engine);
    expect(usage.byAccount).toEqual(
      expect.arrayContaining([
        { key: first.id, label: 'claude: team-a', costUsd: firstSpent.costUsd, estimatedUsd: 0, ...firstBilled, executions: 1 },
        { key: second.id, label: 'claude: team-b', costUsd: secondSpent.costUsd, estimatedUsd: 0, ...secondBilled, executions: 1 },
      ]),
    );
    expect(usage.byAccount).toHaveLength(2);
    expect(usage.byBackend).toEqual([{ key: 'claude', label: 'claude', costUsd: cost, estimatedUsd: 0, inputTokens: done.usage.inputTokens, outputTokens: done.usage.outputTokens, executions: 1 }]);
    expect(usage.total).toMatchObject({ costUsd: cost, inputTokens: done.usage.inputTokens, outputTokens: done.usage.outputTokens, executions: 1 });
  }, 120_000);

  it("a hard token budget the first account's attempt used up passes that account over for the next execution", async () => {
    const { billed, respond } = failoverStandIn();
    const engine = await startEngine({}, { respond });
    cleanups.push(() => engine.close());
    const [first] = await twoAccounts(engine);
    const { trigger } = await failover(engine);
    // Set after the run, which it would have stopped (budget-while-running.test.ts); exactly what the first account spent.
    expect((await budget(engine, { scope: 'account', scopeId: first.id, limitTokens: tokensOf(billed.get(FIRST_KEY)!), hard: true })).used).toBe(1);
    // Its rate limit is over: only its budget stands in its way.
    expect((await engine.api<Account>('PATCH', `/api/accounts/${first.id}`, { enabled: true })).body.coolingDownUntil).toBeNull();

    const next = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped'], 60_000);
    expect(next.state, next.reason ?? '').toBe('succeeded');
    expect(next.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([['team-b', 'succeeded']]);
    expect(messagesOf(engine).map(keyOf)).toEqual([FIRST_KEY, FIRST_KEY, SECOND_KEY, SECOND_KEY]);
  }, 120_000);
});

describe('spend an execution recorded before attempts were counted apart (migration 22)', () => {
  it("still counts for its account, beside what the account's attempts spend since", async () => {
    const temp = makeTempDir('agented-attempt-spend-');
    cleanups.push(temp.remove);
    const dataDir = `${temp.dir}/data`;
    const old = openDatabase({ file: `${dataDir}/agented.db`, migrations: migrations.slice(0, 21) });
    const now = new Date().toISOString();
    old.prepare('INSERT INTO accounts (id, backend, name, has_api_key, config_dir, priority, enabled, created_at, updated_at) VALUES (?, ?, ?, 0, NULL, ?, 1, ?, ?)').run('acc_old_a', 'claude', 'team-a', 1, now, now);
    old.prepare('INSERT INTO accounts (id, backend, name, has_api_key, config_dir, priority, enabled, created_at, updated_at) VALUES (?, ?, ?, 0, NULL, ?, 1, ?, ?)').run('acc_old_b', 'claude', 'team-b', 2, now, now);
    const insertExecution = old.prepare(
      `INSERT INTO executions (id, trigger_id, source, state, backend, account, account_id, prompt, created_at, started_at, first_started_at, ended_at, input_tokens, output_tokens, cost_usd, cost_estimated, estimated_usd)
       VALUES (@id, 'trg_old', 'manual', @state, 'claude', @account, @accountId, 'p', @now, @started, @started, @ended, @input, @output, @cost, 0, NULL)`,
    );
    insertExecution.run({ id: 'exe_old_spent', state: 'succeeded', account: 'team-a', accountId: 'acc_old_a', now, started: now, ended: now, input: 1000, output: 50, cost: 0.25 });
    // Never started: it spent nothing, and counts for no one.
    insertExecution.run({ id: 'exe_old_skipped', state: 'skipped', account: null, accountId: null, now, started: null, ended: now, input: null, output: null, cost: null });
    old.close();

    const { billed, respond } = failoverStandIn();
    const engine = await startEngine({ AGENTED_DATA_DIR: dataDir }, { respond });
    cleanups.push(() => engine.close());
    for (const [id, apiKey] of [['acc_old_a', FIRST_KEY], ['acc_old_b', SECOND_KEY]] as const) {
      expect((await engine.api<Account>('PATCH', `/api/accounts/${id}`, { apiKey })).status).toBe(200);
    }
    const firstBudget = await budget(engine, { scope: 'account', scopeId: 'acc_old_a', limitTokens: 1_000_000, hard: false });
    expect(firstBudget.spent).toEqual({ costUsd: 0.25, estimatedUsd: 0, tokens: 1050, executions: 1 });

    const { done } = await failover(engine);
    const firstBilled = billed.get(FIRST_KEY)!;
    const firstSpent = await spentOf(engine, firstBudget.id);
    expect(firstSpent).toMatchObject({ estimatedUsd: 0, tokens: 1050 + tokensOf(firstBilled), executions: 2 });
    const usage = await usageOf(engine);
    const second = usage.byAccount.find((row) => row.key === 'acc_old_b')!;
    expect(second).toMatchObject({ ...billed.get(SECOND_KEY)!, executions: 1 });
    // The first account's cost is the old execution's and its own attempt's: the new execution's less the second account's.
    expect(firstSpent.costUsd).toBeCloseTo(0.25 + done.usage.costUsd! - second.costUsd, 9);
    expect(usage.byAccount.find((row) => row.key === 'acc_old_a')).toMatchObject({ label: 'claude: team-a', costUsd: firstSpent.costUsd, inputTokens: 1000 + firstBilled.inputTokens, outputTokens: 50 + firstBilled.outputTokens, executions: 2 });
    expect(usage.byBackend).toEqual([expect.objectContaining({ key: 'claude', inputTokens: 1000 + done.usage.inputTokens!, outputTokens: 50 + done.usage.outputTokens!, executions: 2 })]);
    expect(usage.total).toMatchObject({ inputTokens: 1000 + done.usage.inputTokens!, outputTokens: 50 + done.usage.outputTokens!, executions: 2 });
  }, 120_000);
});

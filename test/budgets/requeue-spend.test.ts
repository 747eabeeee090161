import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Budget, Spend, UsageReport } from '../../common/budgets.js';
import type { Execution } from '../../common/executions.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import type { RecordedRequest } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Claude Code calls its Read tool, then the API call that carries the tool's result is rate-limited (429). */
function readThenRateLimited(recorded: RecordedRequest) {
  const conversation = JSON.stringify((recorded.body as { messages?: unknown } | null)?.messages ?? []);
  return conversation.includes('tool_result') ? { status: 429 } : { toolUse: { name: 'Read', input: { file_path: '/etc/hostname' } } };
}

async function waitUntilRequeued(engine: Engine, id: string): Promise<Execution> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const execution = await engine.execution(id);
    if (execution.state === 'queued' && execution.attempts.length > 0) return execution;
    if (!['queued', 'running'].includes(execution.state)) throw new Error(`execution ended ${execution.state}: ${execution.reason}`);
    if (Date.now() > deadline) throw new Error(`execution still ${execution.state}`);
    await sleep(100);
  }
}

/** Runs an execution of a new trigger until it waits requeued; what it spent so far, as a budget reports spend. */
async function requeuedWithSpend(engine: Engine): Promise<{ trigger: string; waiting: Execution; spent: Spend }> {
  const trigger = await engine.createTrigger({ promptTemplate: 'Read /etc/hostname' });
  const waiting = await waitUntilRequeued(engine, await engine.run(trigger));
  expect(waiting.reason).toMatch(/^waiting: nothing is usable — claude \(environment credentials\) is rate-limited until /);
  // It shows as queued again: no current run, so no start time.
  expect(waiting.startedAt).toBeNull();
  const { inputTokens, outputTokens, costUsd, costEstimated } = waiting.usage;
  expect(inputTokens! + outputTokens!).toBeGreaterThan(0);
  return { trigger, waiting, spent: { costUsd: costUsd!, estimatedUsd: costEstimated ? costUsd! : 0, tokens: inputTokens! + outputTokens!, executions: 1 } };
}

const spentOf = async (engine: Engine, budgetId: string) => (await engine.api<{ items: Budget[] }>('GET', '/api/budgets')).body.items.find((budget) => budget.id === budgetId)!.spent;
const usageTotal = async (engine: Engine) => (await engine.api<UsageReport>('GET', '/api/usage?period=day')).body.total;

// Without AGENTED_RATE_LIMIT_BACKOFF_S the cool-down is 60 s: an execution that waits still waits when each test ends.
describe('budgets and usage: what a requeued execution spent counts in the period of its first start (the real claude CLI against the Anthropic stand-in)', () => {
  it('while it waits, and after it is cancelled', async () => {
    const engine = await startEngine({}, { respond: readThenRateLimited });
    cleanups.push(() => engine.close());
    const { waiting, spent } = await requeuedWithSpend(engine);
    const budget = (await engine.api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitTokens: 1_000_000, hard: false })).body;
    expect(budget.spent).toEqual(spent);
    expect(await usageTotal(engine)).toMatchObject({ inputTokens: waiting.usage.inputTokens, outputTokens: waiting.usage.outputTokens, executions: 1 });

    expect((await engine.api<Execution>('POST', `/api/executions/${waiting.id}/cancel`)).body).toMatchObject({ state: 'cancelled' });
    expect(await spentOf(engine, budget.id)).toEqual(spent);
    expect(await usageTotal(engine)).toMatchObject({ inputTokens: waiting.usage.inputTokens, outputTokens: waiting.usage.outputTokens, executions: 1 });
  }, 90_000);

  it('uses up a hard budget: the next execution is not started, and the spend stays once the waiting one is refused too (it ran: failed, not skipped)', async () => {
    const engine = await startEngine({}, { respond: readThenRateLimited });
    cleanups.push(() => engine.close());
    const { trigger, waiting, spent } = await requeuedWithSpend(engine);
    const budget = (await engine.api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitTokens: 1_000, hard: true })).body;
    expect(budget.spent).toEqual(spent);

    const next = await engine.waitForState(await engine.run(trigger), ['skipped', 'queued', 'running', 'failed', 'succeeded'], 30_000);
    expect(next).toMatchObject({ state: 'skipped', startedAt: null, attempts: [] });
    expect(next.reason).toMatch(/^not started: The daily hard budget is used up /);
    // The same pass finds the budget used up for the waiting execution too.
    const refused = await engine.waitForState(waiting.id, ['failed', 'skipped'], 30_000);
    expect(refused).toMatchObject({ state: 'failed', usage: waiting.usage });
    expect(refused.reason).toMatch(/^stopped while waiting: The daily hard budget is used up /);
    expect(await spentOf(engine, budget.id)).toEqual(spent);
    expect(await usageTotal(engine)).toMatchObject({ inputTokens: waiting.usage.inputTokens, outputTokens: waiting.usage.outputTokens, executions: 1 });
  }, 90_000);
});

describe('a requeued execution refused by a hard budget when it could run again (the real claude CLI against the Anthropic stand-in)', () => {
  it('ends failed, "stopped while waiting: …", with its attempt kept — it did start, so it is not skipped as "not started"', async () => {
    const engine = await startEngine({ AGENTED_RATE_LIMIT_BACKOFF_S: '2' }, { respond: readThenRateLimited });
    cleanups.push(() => engine.close());
    const trigger = await engine.createTrigger({ promptTemplate: 'Read /etc/hostname' });
    const waiting = await waitUntilRequeued(engine, await engine.run(trigger));
    expect((await engine.api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitTokens: 1, hard: true })).status).toBe(201);

    // The cool-down ends within 2 s; the queue then finds the budget used up.
    const ended = await engine.waitForState(waiting.id, ['failed', 'skipped', 'succeeded', 'running'], 30_000);
    expect(ended).toMatchObject({ state: 'failed', reason: expect.stringMatching(/^stopped while waiting: The daily hard budget is used up \(/) as unknown });
    expect(ended.attempts.map((attempt) => attempt.outcome)).toEqual(['rate_limited']);
    expect(ended.endedAt).not.toBeNull();
  }, 120_000);
});

describe('the execution repository: the start a budget period counts', () => {
  it('is the first start: a requeued execution waits without a start time, and starting again keeps the first', () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const db = openDatabase({ file: path.join(temp.dir, 'agented.db') });
    cleanups.push(() => db.close());
    const executions = new ExecutionRepository(db);
    executions.insert({ id: 'exe_a', triggerId: 'trg_a', source: 'manual', state: 'queued', reason: null, backend: 'claude', model: null, params: {}, prompt: 'p', promptContext: [], concurrencyKey: null, deliveryId: null, replayOf: null, createdAt: '2026-12-06T09:59:59.000Z' });
    const firstStart = () => (db.prepare("SELECT first_started_at FROM executions WHERE id = 'exe_a'").get() as { first_started_at: string | null }).first_started_at;
    expect(firstStart()).toBeNull();

    expect(executions.start('exe_a', '2026-12-06T10:00:00.000Z')).toBe(true);
    expect(executions.requeue('exe_a', 'waiting: nothing is usable')).toBe(true);
    expect(executions.get('exe_a')).toMatchObject({ state: 'queued', startedAt: null });
    expect(firstStart()).toBe('2026-12-06T10:00:00.000Z');

    expect(executions.start('exe_a', '2026-12-07T08:00:00.000Z')).toBe(true);
    expect(executions.get('exe_a')).toMatchObject({ state: 'running', startedAt: '2026-12-07T08:00:00.000Z' });
    expect(firstStart()).toBe('2026-12-06T10:00:00.000Z');
  });
});

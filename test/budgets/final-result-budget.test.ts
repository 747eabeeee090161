import { afterAll, describe, expect, it } from 'vitest';
import type { Budget } from '../../common/budgets.js';
import { startEngine, type Engine } from '../helpers/engine.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** An answer of ~100 output tokens: the assistant message's running usage counts 1 of them, the CLI's totals at the end all. */
const LONG_ANSWER = 'The change looks right to me. '.repeat(13);

/**
 * A hard budget crossed by the usage that comes with the CLI's final result:
 * the work is done and paid for by then, and stopping the CLI as it exits
 * would only turn a finished run into a failed one. The run keeps its
 * outcome; the budget stops what comes after.
 */
describe('a hard budget crossed by the final result', () => {
  it('the run ends as the CLI says (succeeded), its usage counted, and the next execution is not started', async () => {
    const engine: Engine = await startEngine({}, { respond: () => ({ text: LONG_ANSWER }) });
    cleanups.push(() => engine.close());
    const trigger = await engine.createTrigger({ promptTemplate: 'Review the change' });

    // A first run, with no budget, tells what one run of this trigger costs (the stand-in answers the same each time).
    const first = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(first.state).toBe('succeeded');
    const perRun = (first.usage.inputTokens ?? 0) + (first.usage.outputTokens ?? 0);
    expect(first.usage.outputTokens).toBeGreaterThan(50);

    // The second run's running usage stays under the limit (its answer's tokens come only with the result); its totals pass it.
    const limitTokens = 2 * perRun - 20;
    const budget = await engine.api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitTokens, hard: true });
    expect(budget.status).toBe(201);
    const second = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped'], 60_000);
    expect({ state: second.state, reason: second.reason }).toEqual({ state: 'succeeded', reason: null });
    expect(second.attempts.map((attempt) => attempt.outcome)).toEqual(['succeeded']);
    expect((second.usage.inputTokens ?? 0) + (second.usage.outputTokens ?? 0)).toBe(perRun);
    const [after] = (await engine.api<{ items: Budget[] }>('GET', '/api/budgets')).body.items;
    expect(after!.used).toBeGreaterThanOrEqual(1);

    const third = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped'], 60_000);
    expect(third.state).toBe('skipped');
    expect(third.reason).toMatch(/daily hard budget is used up/);
  }, 150_000);
});

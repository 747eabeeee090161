// @vitest-environment happy-dom
import { beforeAll, describe, expect, it } from 'vitest';
import { appOnScriptedWorker } from './mount-app.js';

/**
 * Figures that are not what they look like: a cost estimated from the price
 * table (the scripted agent, told "NO COST", reports 1,540 tokens and no
 * cost) and a budget just under its limit. Real worker, real execution.
 */
const harness = appOnScriptedWorker('agented-estimates-', { AGENTED_PRICES: JSON.stringify({ claude: { inputPerMTok: 3, outputPerMTok: 15 } }) });

beforeAll(async () => {
  const trigger = await harness.engine.createTrigger({ name: 'Tokens only', promptTemplate: 'NO COST' });
  const done = await harness.engine.waitForState(await harness.engine.run(trigger), ['succeeded', 'failed']);
  expect(done.state, done.reason ?? '').toBe('succeeded');
  expect(done.usage).toMatchObject({ inputTokens: 1200, outputTokens: 340, costEstimated: true });
}, 60_000);

describe('estimates and shares', () => {
  it('the dashboard marks today’s cost as estimated when part of it is', async () => {
    const app = await harness.mount();
    const today = () => app.wrapper.get('[data-testid="today"]');
    await app.until(() => today().text().includes('$0.0087'));
    expect(today().find('[data-testid="today-cost-estimated"]').exists(), today().html()).toBe(true);
  });

  it('a budget just under its limit does not read 100 %', async () => {
    const app = await harness.mount();
    await app.api.createBudget({ scope: 'global', period: 'day', limitTokens: 1541, hard: true });
    await app.open('/budgets');
    await app.until(() => app.wrapper.find('[data-testid="budget-used"]').exists());
    expect(app.wrapper.get('[data-testid="budget-used"]').text()).toBe('99 %');
  });

  it('a budget made elsewhere for a trigger made elsewhere names the trigger when the page picks it up', async () => {
    const app = await harness.mount('/budgets');
    const { engine } = harness;
    await app.until(() => app.wrapper.find('[data-testid="budget-table"]').exists() || app.wrapper.find('[data-testid="empty-new-budget"]').exists());
    const trigger = await engine.createTrigger({ name: 'Made in another window', promptTemplate: 'NO COST' });
    const budget = await app.api.createBudget({ scope: 'trigger', scopeId: trigger, period: 'week', limitUsd: 5, hard: false });
    await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
    const row = () => app.wrapper.get(`[data-testid="budget-row-${budget.id}"]`);
    // A lookup that throws counts as not yet.
    await app.until(() => row().text() !== '');
    expect(row().text()).toContain('Trigger Made in another window');
    expect(row().text()).not.toContain('deleted');
  });

  it('a token limit in the millions reads in millions, not in thousands of thousands', async () => {
    const app = await harness.mount();
    const budget = await app.api.createBudget({ scope: 'global', period: 'month', limitTokens: 2_500_000, hard: false });
    await app.open('/budgets');
    const limit = () => app.wrapper.get(`[data-testid="budget-row-${budget.id}"] td.num`).text();
    await app.until(() => limit() !== '');
    expect(limit()).toBe('2.5M tokens');
  });
});

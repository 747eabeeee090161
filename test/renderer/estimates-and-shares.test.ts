// @vitest-environment happy-dom
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, type Engine } from '../helpers/engine.js';
import { makeTempDir } from '../helpers/temp.js';
import { mountApp, type MountedApp } from './mount-app.js';

/**
 * Figures that are not what they look like: a cost estimated from the price
 * table (the agent here, in Claude Code's shape, reports 1,540 tokens and no
 * cost) and a budget just under its limit. Real worker, real execution.
 */
const temp = makeTempDir('agented-estimates-');
let engine: Engine;
let app: MountedApp | undefined;

beforeAll(async () => {
  const agent = path.join(temp.dir, 'tokens-only-agent');
  const script = path.join(temp.dir, 'tokens-only-agent.mjs');
  fs.writeFileSync(
    script,
    `process.argv.includes('--version') ? process.stdout.write('2.0.0 (Claude Code)\\n') : process.stdout.write(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'Done.', usage: { input_tokens: 1200, output_tokens: 340 } }) + '\\n');\n`,
  );
  fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`, { mode: 0o755 });
  engine = await startEngine({ AGENTED_CLAUDE_PATH: agent, AGENTED_PRICES: JSON.stringify({ claude: { inputPerMTok: 3, outputPerMTok: 15 } }) });
  const trigger = await engine.createTrigger({ name: 'Tokens only', promptTemplate: 'hello' });
  const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
  expect(done.state, done.reason ?? '').toBe('succeeded');
  expect(done.usage).toMatchObject({ inputTokens: 1200, outputTokens: 340, costEstimated: true });
}, 60_000);
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(async () => {
  await engine?.close();
  temp.remove();
});

describe('estimates and shares', () => {
  it('the dashboard marks today’s cost as estimated when part of it is', async () => {
    app = await mountApp(engine.server);
    const today = () => app!.wrapper.get('[data-testid="today"]');
    await app.until(() => today().text().includes('$0.0087'));
    expect(today().find('[data-testid="today-cost-estimated"]').exists(), today().html()).toBe(true);
  });

  it('a budget just under its limit does not read 100 %', async () => {
    app = await mountApp(engine.server);
    await app.api.createBudget({ scope: 'global', period: 'day', limitTokens: 1541, hard: true });
    await app.open('/budgets');
    await app.until(() => app!.wrapper.find('[data-testid="budget-used"]').exists());
    expect(app.wrapper.get('[data-testid="budget-used"]').text()).toBe('99 %');
  });

  it('a budget made elsewhere for a trigger made elsewhere names the trigger when the page picks it up', async () => {
    app = await mountApp(engine.server, '/budgets');
    await app.until(() => app!.wrapper.find('[data-testid="budget-table"]').exists() || app!.wrapper.find('[data-testid="empty-new-budget"]').exists());
    const trigger = await engine.createTrigger({ name: 'Made in another window', promptTemplate: 'hello' });
    const budget = await app.api.createBudget({ scope: 'trigger', scopeId: trigger, period: 'week', limitUsd: 5, hard: false });
    await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
    const row = () => app!.wrapper.get(`[data-testid="budget-row-${budget.id}"]`);
    // A lookup that throws counts as not yet.
    await app.until(() => row().text() !== '');
    expect(row().text()).toContain('Trigger Made in another window');
    expect(row().text()).not.toContain('deleted');
  });
});

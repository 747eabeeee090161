// @vitest-environment happy-dom
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import { appOnScriptedWorker } from './mount-app.js';

/**
 * The execution page in the whole renderer against a real worker, for two
 * real executions of test/fixtures/scripted-agent.mjs: one that succeeds
 * (reporting 1,200 tokens in, 340 out and $0.0125) and one that exits with
 * code 3. What the page shows is checked against what the API recorded.
 */
const harness = appOnScriptedWorker('agented-execution-page-');
const TOPIC = 'Rivers of Europe — the Danube, the Rhine and the Loire';
let succeeded: Execution;
let failed: Execution;

beforeAll(async () => {
  const { engine } = harness;
  const writer = await engine.createTrigger({ name: 'Writer', promptTemplate: 'Write a note about {{params.topic}}. WORK 300', params: [{ name: 'topic', type: 'string', required: true }] });
  const broken = await engine.createTrigger({ name: 'Broken', promptTemplate: 'FAIL please' });
  succeeded = await engine.waitForState(await engine.run(writer, { topic: TOPIC }), ['succeeded', 'failed']);
  failed = await engine.waitForState(await engine.run(broken), ['succeeded', 'failed']);
  expect(succeeded.state, succeeded.reason ?? '').toBe('succeeded');
  expect(failed.state).toBe('failed');
}, 60_000);

/** The page's stat strip as label → value. */
function stats(): Record<string, string> {
  return Object.fromEntries(harness.app.wrapper.findAll('[data-testid="execution-stats"] > div').map((stat) => [stat.get('dt').text(), stat.get('dd').text()]));
}

const seconds = (execution: Execution) => (Date.parse(execution.endedAt!) - Date.parse(execution.startedAt!)) / 1_000;

describe('execution page', () => {
  it('shows the duration, the exit code, the tokens and the cost the execution recorded', async () => {
    const app = await harness.mount(`/executions/${succeeded.id}`);
    await app.until(() => app.wrapper.get('[data-testid="stream-state"]').text().includes('complete'), 10_000);
    expect(app.wrapper.get('[data-testid="execution-state"]').attributes('data-state')).toBe('succeeded');
    expect(succeeded.usage).toMatchObject({ inputTokens: 1_200, outputTokens: 340, costUsd: 0.0125 });
    const shown = stats();
    expect(shown).toMatchObject({ exit: '0', 'tokens in': '1,200', 'tokens out': '340', cost: '$0.01', CLI: 'claude' });
    // The agent worked 300 ms; the whole run (process start included) took a few tenths of a second to a few seconds.
    expect(seconds(succeeded)).toBeGreaterThanOrEqual(0.3);
    expect(shown.duration).toBe(seconds(succeeded) < 1 ? `${Math.round(seconds(succeeded) * 1_000)} ms` : `${seconds(succeeded).toFixed(1)} s`);
    // The output arrived over the stream (drawing it is log-view.test.ts's part).
    await app.until(() => Number(app.wrapper.get('[data-testid="line-count"]').text()) > 0, 2_000);
  });

  it('shows a failed execution’s exit code and reason', async () => {
    const app = await harness.mount(`/executions/${failed.id}`);
    await app.until(() => app.wrapper.find('[data-testid="execution-reason"]').exists() && app.wrapper.get('[data-testid="stream-state"]').text().includes('complete'), 10_000);
    expect(failed.exitCode).toBe(3);
    expect(stats().exit).toBe('3');
    expect(app.wrapper.get('[data-testid="execution-reason"]').text()).toBe(failed.reason);
    expect(app.wrapper.get('[data-testid="execution-reason"]').classes()).toContain('bad');
  });

  it('audits the prompt’s context: the field, its value, its length and the SHA-256 of the original value, with copy', async () => {
    const app = await harness.mount(`/executions/${succeeded.id}`);
    await app.until(() => app.wrapper.find('[data-testid="prompt-panel"] tbody tr').exists());
    expect(succeeded.promptContext).toHaveLength(1);
    const entry = succeeded.promptContext[0]!;
    expect(entry.sha256).toBe(createHash('sha256').update(TOPIC).digest('hex'));

    const panel = app.wrapper.get('[data-testid="prompt-panel"]');
    expect(panel.get('summary').text()).toContain(`(1 field, ${succeeded.prompt.length.toLocaleString('en')} characters)`);
    expect(panel.get('.prompt-block').text()).toBe(succeeded.prompt);
    const cells = panel.findAll('tbody tr td');
    expect(cells[0]!.text()).toBe('params.topic');
    expect(entry.field).toBe('params.topic');
    expect(cells[1]!.text()).toContain(TOPIC);
    expect(cells[2]!.text()).toBe(String(TOPIC.length));
    expect(cells[3]!.get('[title]').attributes('title')).toBe(entry.sha256);
    expect(cells[3]!.text()).toContain(`${entry.sha256.slice(0, 12)}…`);
    const copy = cells[3]!.get('button');
    expect(copy.attributes('aria-label')).toBe(`Copy: ${entry.sha256}`);
    await copy.trigger('click');
    await app.until(() => copy.text() === 'Copied');
    expect(await navigator.clipboard.readText()).toBe(entry.sha256);
    // The params as given.
    expect(panel.text()).toContain(JSON.stringify({ topic: TOPIC }, null, 2).split('\n')[1]!.trim());
  });
  it('opens a line of the log from the keyboard: ArrowDown selects one and shows its detail, Escape closes it, Enter opens the selection again', async () => {
    const app = await harness.mount(`/executions/${succeeded.id}`);
    await app.until(() => app.wrapper.get('[data-testid="stream-state"]').text().includes('complete') && app.wrapper.find('[data-testid="log-row"]').exists(), 10_000);
    const log = app.wrapper.get('[data-testid="log-viewport"]');
    (log.element as HTMLElement).focus();
    expect(document.activeElement).toBe(log.element);
    const detail = () => app.wrapper.find('[data-testid="line-detail"]');
    const selectedRows = () => app.wrapper.findAll('[data-testid="log-row"].selected');
    expect(detail().exists()).toBe(false);

    await log.trigger('keydown', { key: 'ArrowDown' });
    expect(selectedRows()).toHaveLength(1);
    const seq = selectedRows()[0]!.attributes('data-seq');
    await app.until(() => detail().exists());
    expect(detail().get('h3').text()).toContain(`Line ${seq}`);

    // Escape drops the selection and closes its detail.
    await log.trigger('keydown', { key: 'Escape' });
    await app.until(() => !detail().exists());
    expect(selectedRows()).toHaveLength(0);

    // Closed with its button, the selected line opens again with Enter, as a click would.
    await log.trigger('keydown', { key: 'ArrowDown' });
    await app.until(() => detail().exists());
    await detail().get('button[aria-label="Close the line"]').trigger('click');
    await app.until(() => !detail().exists());
    await log.trigger('keydown', { key: 'Enter' });
    await app.until(() => detail().exists());
    expect(detail().get('h3').text()).toContain(`Line ${selectedRows()[0]!.attributes('data-seq')}`);
  });
  it('Escape in the log closes the detail of a line opened with a click', async () => {
    const app = await harness.mount(`/executions/${succeeded.id}`);
    await app.until(() => app.wrapper.get('[data-testid="stream-state"]').text().includes('complete') && app.wrapper.find('[data-testid="log-row"]').exists(), 10_000);
    const detail = () => app.wrapper.find('[data-testid="line-detail"]');
    await app.wrapper.get('[data-testid="log-row"]').trigger('click');
    await app.until(() => detail().exists());
    const log = app.wrapper.get('[data-testid="log-viewport"]');
    (log.element as HTMLElement).focus();
    await log.trigger('keydown', { key: 'Escape' });
    expect(app.wrapper.findAll('[data-testid="log-row"].selected')).toHaveLength(0);
    await app.until(() => !detail().exists());
  });
});

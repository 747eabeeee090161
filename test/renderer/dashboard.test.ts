// @vitest-environment happy-dom
import { beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionTotals } from '../../common/executions.js';
import { readVersion } from '../../main/version.js';
import { appOnScriptedWorker } from './mount-app.js';

/**
 * The dashboard against a real worker with real executions of a scripted
 * agent CLI (test/fixtures/scripted-agent.mjs, configured as Claude Code
 * through AGENTED_CLAUDE_PATH, with no credentials): one that failed, one that
 * succeeded, one running and one queued behind it (the trigger runs one at a
 * time). Codex, Gemini and OpenCode are not installed on the server's PATH.
 */
const harness = appOnScriptedWorker('agented-dashboard-', { ANTHROPIC_API_KEY: '', PATH: '/usr/bin:/bin', AGENTED_MAX_CONCURRENT: '4' });
let longTrigger: string;
let running: string;
let queued: string;
let failed: string;

beforeAll(async () => {
  const { engine } = harness;
  const broken = await engine.createTrigger({ name: 'Broken job', promptTemplate: 'FAIL now' });
  const quick = await engine.createTrigger({ name: 'Quick job', promptTemplate: 'quick' });
  longTrigger = await engine.createTrigger({ name: 'Long job', promptTemplate: 'WORK 120000', maxConcurrent: 1 });
  failed = await engine.run(broken);
  expect((await engine.waitForState(failed, ['failed', 'succeeded'])).state).toBe('failed');
  expect((await engine.waitForState(await engine.run(quick), ['failed', 'succeeded'])).state).toBe('succeeded');
  running = await engine.run(longTrigger);
  await engine.waitForState(running, ['running']);
  queued = await engine.run(longTrigger);
  expect((await engine.execution(queued)).state).toBe('queued');
}, 60_000);

const text = (testId: string) => harness.app.wrapper.find(`[data-testid="${testId}"]`).text();

describe('dashboard', () => {
  it('shows the exact fix command for a CLI that is not authenticated and one that is not installed, each with a copy button that copies it', async () => {
    const app = await harness.mount();
    await app.until(() => app.wrapper.find('[data-testid="backend-codex"]').exists(), 30_000);

    const claude = app.wrapper.get('[data-testid="backend-claude"]');
    expect(claude.text()).toContain('not ready');
    expect(claude.text()).toContain('2.0.0 (Claude Code)');
    expect(claude.text()).toMatch(/authenticated\s*no/);
    const claudeCommands = claude.findAll('.command-text').map((command) => command.text());
    expect(claudeCommands).toEqual(['claude', '/login', 'claude setup-token']);

    const codex = app.wrapper.get('[data-testid="backend-codex"]');
    expect(codex.text()).toMatch(/installed\s*no/);
    expect(codex.findAll('.command-text').map((command) => command.text())).toEqual(['npm install -g @openai/codex']);
    const copy = codex.get('.command-line button');
    expect(copy.attributes('aria-label')).toBe('Copy: npm install -g @openai/codex');
    await copy.trigger('click');
    await app.until(() => copy.text() === 'Copied');
    expect(await navigator.clipboard.readText()).toBe('npm install -g @openai/codex');

    // Nothing is usable, and the page says what that means.
    expect(text('checklist')).toContain('0 of 4 ready');
    expect(text('checklist')).toContain('No agent CLI is usable');
  });

  it('lists the running and the queued execution, follows them live, and ticks the running one’s duration', async () => {
    const app = await harness.mount();
    await app.until(() => app.wrapper.find(`[data-testid="active-${queued}"]`).text().includes('Long job') && text('live-status').includes('Live'));
    const runningRow = app.wrapper.get(`[data-testid="active-${running}"]`);
    expect(runningRow.text()).toContain('Long job');
    expect(runningRow.find('[data-state]').attributes('data-state')).toBe('running');
    const queuedRow = app.wrapper.get(`[data-testid="active-${queued}"]`);
    expect(queuedRow.find('[data-state]').attributes('data-state')).toBe('queued');
    // Waiting for its trigger's one slot, for as long as it has been queued.
    expect(queuedRow.find('.exec-when').text()).toMatch(/^waiting \d/);

    const before = runningRow.find('.exec-when').text();
    await app.until(() => app.wrapper.get(`[data-testid="active-${running}"]`).find('.exec-when').text() !== before, 3_000);

    // Cancelled through the API: the dashboard hears it on the live stream, the queued one starts in its place.
    expect((await harness.engine.api('POST', `/api/executions/${running}/cancel`)).status).toBe(200);
    await app.until(() => !app.wrapper.find(`[data-testid="active-${running}"]`).exists(), 15_000);
    await app.until(() => app.wrapper.find(`[data-testid="active-${queued}"] [data-state="running"]`).exists(), 15_000);
    running = queued;
  });

  it('shows the recent failure with its reason, and today’s executions and cost as the server adds them up', async () => {
    const app = await harness.mount();
    await app.until(() => app.wrapper.find('[data-testid="failures"] .exec-row').exists() && text('today-total') !== '—');
    const failure = await harness.engine.execution(failed);
    const rows = app.wrapper.findAll('[data-testid="failures"] .exec-row');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.attributes('href')).toBe(`/executions/${failed}`);
    expect(rows[0]!.text()).toContain('Broken job');
    expect(failure.reason).toBeTruthy();
    expect(rows[0]!.text()).toContain(failure.reason);

    const since = new Date(new Date().getFullYear(), new Date().getMonth(), new Date().getDate()).toISOString();
    const totals = (await harness.engine.api<ExecutionTotals>('GET', `/api/executions/summary?since=${encodeURIComponent(since)}`)).body;
    // Broken, Quick, the cancelled Long job and the one that took its place.
    expect(totals.total).toBe(4);
    const stats = Object.fromEntries(app.wrapper.findAll('[data-testid="today"] .stat').map((stat) => [stat.get('dt').text(), stat.get('dd').text()]));
    expect(stats).toEqual({ executions: '4', succeeded: '1', failed: '1', cost: '$0.01', tokens: '1,540' });
    expect(totals.costUsd).toBeCloseTo(0.0125);
  });

  it('shows the server’s readiness, version, queue and live connection, and the tunnel once one is set', async () => {
    const app = await harness.mount();
    await app.until(() => text('server-status').includes('connected') && text('tunnel-status') !== 'unknown');
    const facts = Object.fromEntries(app.wrapper.findAll('[data-testid="server-status"] dl > div').map((fact) => [fact.get('dt').text(), fact.get('dd').text()]));
    expect(facts).toMatchObject({ status: 'ready', version: readVersion(), keys: 'from the environment', queue: '1 running, 0 queued', 'live updates': 'connected' });
    expect(facts.database).toMatch(/^ok, schema \d+$/);
    expect(facts.tunnel).toBe('off — GitHub and other senders cannot reach this machine');

    expect((await harness.engine.api('PUT', '/api/tunnel', { provider: 'custom', publicUrl: 'https://agented.example.com' })).status).toBe(200);
    await app.open('/executions');
    await app.open('/');
    await app.until(() => text('tunnel-status') === 'custom — https://agented.example.com', 10_000);
  });
});

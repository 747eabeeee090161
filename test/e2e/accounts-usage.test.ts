import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import { agentClisBin } from '../helpers/agent-clis.js';
import { artifactPath, launchBrowser } from '../helpers/browser.js';
import { scriptedReply } from '../helpers/engine.js';
import { runCli, type ReadyLine, type ServeProcess } from '../helpers/serve.js';
import { startAnthropicStandIn } from '../helpers/stand-ins/anthropic.js';
import { startOpenAiStandIn } from '../helpers/stand-ins/openai.js';
import type { StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

/**
 * Issue 7 in the UI, end to end: `agented serve` (real worker, SQLite, the
 * built renderer) in Debian's Chromium. An account and a budget are made
 * through the pages; real executions (Claude Code against the Anthropic
 * stand-in on that account, Codex against the OpenAI stand-in with its cost
 * estimated from AGENTED_PRICES) give the usage page something to chart.
 */
const API_KEY = 'e2e-accounts-key-0123456789abcdefghij';
const ACCOUNT_KEY = 'sk-ant-e2e-account-0123456789';
const WEBHOOK_TOKEN = 'whtoken-0123456789abcdef';
const temp = makeTempDir();
let anthropic: StandIn;
let openAi: StandIn;
let cli: ServeProcess;
let ready: ReadyLine;
/** While true, the Anthropic stand-in answers every request with 429: the account is rate-limited. */
let rateLimited = false;

beforeAll(async () => {
  anthropic = await startAnthropicStandIn((recorded) => (rateLimited ? { status: 429 } : scriptedReply(recorded)));
  openAi = await startOpenAiStandIn(() => ({ text: 'Done by codex.' }));
  const codexHome = path.join(temp.dir, 'codex-home');
  fs.mkdirSync(codexHome);
  fs.writeFileSync(
    path.join(codexHome, 'config.toml'),
    ['model_provider = "stand-in"', '[model_providers.stand-in]', 'name = "OpenAI stand-in"', `base_url = "${openAi.url}/v1"`, 'env_key = "STAND_IN_OPENAI_KEY"', 'wire_api = "responses"', 'request_max_retries = 0', 'stream_max_retries = 0', ''].join('\n'),
  );
  cli = runCli({
    env: {
      HOME: temp.dir,
      PATH: `${agentClisBin()}${path.delimiter}${process.env.PATH ?? ''}`,
      AGENTED_API_KEY: API_KEY,
      AGENTED_DATA_DIR: `${temp.dir}/data`,
      AGENTED_LOG_DIR: `${temp.dir}/logs`,
      AGENTED_STOP_GRACE_MS: '500',
      AGENTED_RATE_LIMIT_BACKOFF_S: '4',
      AGENTED_PRICES: JSON.stringify({ codex: { inputPerMTok: 2, outputPerMTok: 8 } }),
      ANTHROPIC_BASE_URL: anthropic.url,
      ANTHROPIC_API_KEY: 'sk-ant-stand-in-0123456789',
      CLAUDE_CODE_MAX_RETRIES: '0',
      DISABLE_AUTOUPDATER: '1',
      CODEX_HOME: codexHome,
      STAND_IN_OPENAI_KEY: 'sk-openai-stand-in-0123',
    },
  });
  ready = await cli.ready;
}, 60_000);

afterAll(async () => {
  await cli?.stop('SIGINT');
  await anthropic?.close();
  await openAi?.close();
  temp.remove();
});

async function api<T>(method: string, urlPath: string, body?: unknown): Promise<T> {
  const response = await fetch(`${ready.url}${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.ok, `${method} ${urlPath}: ${response.status}`).toBe(true);
  return (await response.json()) as T;
}

const start = async (triggerId: string) => (await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params: {} })).executionId;

async function runToEnd(triggerId: string, started?: string): Promise<Execution> {
  const executionId = started ?? (await start(triggerId));
  for (let waited = 0; waited < 90_000; waited += 200) {
    const execution = await api<Execution>('GET', `/api/executions/${executionId}`);
    if (['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped'].includes(execution.state)) return execution;
    await sleep(200);
  }
  throw new Error(`execution ${executionId} did not end`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: artifactPath(`renderer-${name}.png`), fullPage: true });
}

/** Follows a link of the main navigation and waits for its page. */
async function nav(page: Page, name: string, pathname: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
  await page.waitForURL((url) => url.pathname === pathname);
  await page.locator('h1', { hasText: name }).waitFor();
}

/**
 * Pixels of a chart's canvas in the bar colour (the stylesheet's --accent): bars that were drawn,
 * not the axes, grid and labels an empty chart has too.
 */
const barPixels = (page: Page, selector: string): Promise<number> =>
  // A string: this file is type-checked without the DOM library.
  page.evaluate(`(() => {
    const canvas = document.querySelector(${JSON.stringify(selector)});
    const accent = getComputedStyle(document.documentElement).getPropertyValue('--accent').trim();
    const [r, g, b] = [1, 3, 5].map((at) => parseInt(accent.slice(at, at + 2), 16));
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let bar = 0;
    for (let index = 0; index < pixels.length; index += 4) {
      if (Math.abs(pixels[index] - r) < 8 && Math.abs(pixels[index + 1] - g) < 8 && Math.abs(pixels[index + 2] - b) < 8 && pixels[index + 3] > 200) bar++;
    }
    return bar;
  })()`);

describe('accounts, budgets and usage in Chromium against agented serve', () => {
  it('an account and a budget made in the UI, real executions on them, the usage charted with estimates marked, the attempts and the notification channels', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 1360, height: 900 });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      await page.goto(ready.loginUrl);
      await page.getByRole('navigation', { name: 'Main' }).waitFor();

      // Accounts: the empty state says what to do; the form shows the server's rule under the credential, then creates.
      await nav(page, 'Accounts', '/accounts');
      await expect.poll(() => page.getByTestId('empty-state').textContent()).toContain('Add an account');
      await shot(page, 'accounts-empty');
      await page.getByTestId('new-account').click();
      await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('account-name');
      await page.keyboard.type('e2e-team');
      await page.getByTestId('account-save').click();
      await expect.poll(() => page.getByTestId('account-error-credential').textContent()).toBe('an account needs an API key or a configuration folder');
      await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('account-key');
      await shot(page, 'account-form-errors');
      await page.getByTestId('account-key').fill(ACCOUNT_KEY);
      await page.getByTestId('account-priority').fill('10');
      await page.getByTestId('account-save').click();
      const row = page.getByTestId('account-row-e2e-team');
      await expect.poll(() => row.textContent()).toContain('API key (stored, hidden)');
      expect(await page.content()).not.toContain(ACCOUNT_KEY);

      // Real executions: Claude Code runs on the new account, Codex on the environment's credentials.
      const claudeTrigger = await api<{ id: string }>('POST', '/api/triggers', { name: 'Claude reviews', kind: 'manual', backend: 'claude', promptTemplate: 'Say hello' });
      const codexTrigger = await api<{ id: string }>('POST', '/api/triggers', { name: 'Codex fixes', kind: 'manual', backend: 'codex', promptTemplate: 'Say hello' });
      const claudeRun = await runToEnd(claudeTrigger.id);
      expect(claudeRun.state, claudeRun.reason ?? '').toBe('succeeded');
      expect(claudeRun.account).toBe('e2e-team');
      const codexRun = await runToEnd(codexTrigger.id);
      expect(codexRun.state, codexRun.reason ?? '').toBe('succeeded');
      expect(codexRun.usage.costEstimated).toBe(true);
      expect(anthropic.requests.some((recorded) => recorded.headers['x-api-key'] === ACCOUNT_KEY)).toBe(true);

      // The account's monitoring counts the request (the page follows executions live).
      await expect.poll(() => row.getByTestId('account-requests').textContent(), { timeout: 15_000 }).toBe('1');
      await expect.poll(() => row.getByTestId('account-cooldown').textContent()).toBe('usable');
      await expect.poll(() => page.getByTestId('accounts-codex').textContent()).toContain('runs with the credentials of Agented’s environment — 1 request, 0 rate limits, usable');
      await shot(page, 'accounts');

      // Budgets: a trigger budget needs its trigger (the server says so under the field), then shows its spend.
      await nav(page, 'Budgets', '/budgets');
      await page.getByTestId('empty-state').waitFor();
      await page.getByTestId('new-budget').click();
      await page.getByTestId('budget-scope').selectOption('trigger');
      await page.getByTestId('budget-limit-usd').fill('5');
      await page.getByTestId('budget-save').click();
      await expect.poll(() => page.getByTestId('budget-error-scope-id').textContent()).toBe('a trigger budget needs the trigger id');
      await page.getByTestId('budget-scope-id').selectOption({ label: 'Claude reviews' });
      await page.getByTestId('budget-save').click();
      const budgetRow = page.getByTestId('budget-table').locator('tbody tr').first();
      await expect.poll(() => budgetRow.textContent()).toContain('Trigger Claude reviews');
      await expect.poll(() => budgetRow.getByTestId('budget-spent').textContent()).toContain(`$${claudeRun.usage.costUsd!.toFixed(claudeRun.usage.costUsd! < 0.01 ? 4 : 2)}`);
      // Edit: add a token limit and make it soft; the spend against it shows at once.
      await page.getByTestId('edit-budget').click();
      await page.getByTestId('budget-limit-tokens').fill('100000');
      await page.getByTestId('budget-soft').check();
      await page.getByTestId('budget-save').click();
      await expect.poll(() => budgetRow.textContent()).toContain('soft');
      await expect.poll(() => budgetRow.getByTestId('budget-spent').textContent()).toContain('tokens');
      await expect.poll(async () => Number((await budgetRow.getByTestId('budget-used').textContent())!.replace(/\D/g, ''))).toBeGreaterThanOrEqual(0);
      await shot(page, 'budgets');

      // Usage: six charts drawn from the report, the estimate said.
      await nav(page, 'Usage', '/usage');
      await expect.poll(() => page.getByTestId('usage-chart').count(), { timeout: 15_000 }).toBe(6);
      await expect.poll(() => page.getByTestId('usage-total-executions').textContent()).toBe('2');
      const costByTrigger = page.getByTestId('usage-byTrigger').getByTestId('usage-chart').first();
      expect(Number(await costByTrigger.getAttribute('data-total'))).toBeCloseTo(claudeRun.usage.costUsd! + codexRun.usage.costUsd!, 3);
      await expect.poll(() => barPixels(page, '[data-testid="usage-byTrigger"] canvas'), { timeout: 10_000 }).toBeGreaterThan(2_000);
      await expect.poll(() => page.getByTestId('usage-estimate-note').textContent()).toContain('estimate');
      await expect.poll(() => page.getByTestId('usage-byTrigger').textContent()).toContain('est.');
      await expect.poll(() => page.getByTestId('price-table').textContent()).toContain('codex');
      await expect.poll(() => page.getByTestId('usage-byAccount').textContent()).toContain('claude: e2e-team');
      await shot(page, 'usage');

      // Rate-limited with no other account: the execution waits, and its page and the account say why and until when.
      rateLimited = true;
      const waiting = await start(claudeTrigger.id);
      await page.goto(`${ready.url}/executions/${waiting}`);
      await expect.poll(() => page.getByTestId('execution-reason').textContent(), { timeout: 30_000 }).toMatch(/^Why it is waiting: nothing is usable — claude account "e2e-team" is rate-limited until /);
      await expect.poll(() => page.getByTestId('execution-state').getAttribute('data-state')).toBe('queued');
      await expect.poll(() => page.locator('.log-panel').textContent()).toContain('Queued, keeping its place');
      await shot(page, 'execution-waiting');
      await nav(page, 'Accounts', '/accounts');
      await expect.poll(() => row.getByTestId('account-cooldown').textContent()).toMatch(/^cooling down until .* \(\d+ min\)$/);
      await expect.poll(() => row.textContent()).toMatch(/last (just now|\d+ s ago)/);
      await shot(page, 'accounts-cooling');
      rateLimited = false;
      const recovered = await runToEnd(claudeTrigger.id, waiting);
      expect(recovered.state, recovered.reason ?? '').toBe('succeeded');
      await page.goto(`${ready.url}/executions/${waiting}`);
      // More than one attempt: the table is open, each try with its outcome.
      const attempts = page.getByTestId('attempt-row');
      await expect.poll(() => attempts.count()).toBeGreaterThanOrEqual(2);
      await expect.poll(() => attempts.first().textContent()).toMatch(/claude\s*e2e-team\s*rate limited/);
      await expect.poll(() => attempts.last().textContent()).toMatch(/claude\s*e2e-team\s*succeeded/);
      await shot(page, 'execution-attempts-rate-limited');

      // The executions say which account ran them, and how: attempts, an estimated cost.
      await page.goto(`${ready.url}/executions/${claudeRun.id}`);
      await page.getByTestId('attempts-panel').locator('summary').click();
      await expect.poll(() => page.getByTestId('attempt-row').first().textContent()).toMatch(/claude\s*e2e-team\s*succeeded/);
      await shot(page, 'execution-attempts');
      await page.goto(`${ready.url}/executions/${codexRun.id}`);
      await page.getByTestId('cost-estimated').waitFor();

      // Notification channels: an http URL to another machine is refused under its field; a URL, once stored, is never shown again.
      await nav(page, 'Settings', '/settings');
      await page.getByTestId('notify-webhook-url').fill('http://hooks.example.com/agented');
      await page.getByTestId('notify-save').click();
      await expect.poll(() => page.getByTestId('notifications-panel').locator('#webhookUrl-error').textContent()).toContain('https');
      await page.getByTestId('notify-webhook-url').fill(`https://hooks.example.com/agented?token=${WEBHOOK_TOKEN}`);
      await page.getByTestId('notify-save').click();
      await expect.poll(() => page.getByTestId('webhook-state').textContent()).toContain('hooks.example.com');
      expect(await page.getByTestId('notify-webhook-url').inputValue()).toBe('');
      expect(await page.content()).not.toContain(WEBHOOK_TOKEN);
      await page.getByTestId('notifications-panel').screenshot({ path: artifactPath('renderer-notifications.png') });

      // Dark mode follows the OS, charts included.
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${ready.url}/usage`);
      await expect.poll(() => page.getByTestId('usage-chart').count(), { timeout: 15_000 }).toBe(6);
      await expect.poll(() => barPixels(page, '[data-testid="usage-byTrigger"] canvas'), { timeout: 10_000 }).toBeGreaterThan(2_000);
      await shot(page, 'usage-dark');
      await page.goto(`${ready.url}/accounts`);
      await page.getByTestId('account-row-e2e-team').waitFor();
      await shot(page, 'accounts-dark');

      // The form's 400s are the only errors the console saw: no CSP violation, no script error.
      expect(problems.filter((problem) => !/400 \(Bad Request\)/.test(problem))).toEqual([]);
    } catch (error) {
      for (const page of browser.context.pages()) await page.screenshot({ path: artifactPath('renderer-accounts-failure.png'), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await browser.close();
    }
  }, 240_000);
});

import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVersion } from '../../main/version.js';
import { agentClisBin } from '../helpers/agent-clis.js';
import { artifactPath, launchBrowser } from '../helpers/browser.js';
import { scriptedReply } from '../helpers/engine.js';
import { githubExample, githubHeaders } from '../helpers/github-deliveries.js';
import { runCli, type ReadyLine, type ServeProcess } from '../helpers/serve.js';
import { startAnthropicStandIn } from '../helpers/stand-ins/anthropic.js';
import type { StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The UI end to end: `agented serve` (real worker, real SQLite, the built
 * renderer), Debian's Chromium, and the real Claude Code CLI answering
 * through the Anthropic stand-in on 127.0.0.1. The test plays GitHub: it
 * signs and sends the deliveries itself.
 */
const API_KEY = 'e2e-renderer-key-0123456789abcdefghij';
const temp = makeTempDir();
let standIn: StandIn;
let cli: ServeProcess;
let ready: ReadyLine;

beforeAll(async () => {
  standIn = await startAnthropicStandIn((recorded) => scriptedReply(recorded));
  cli = runCli({
    env: {
      HOME: temp.dir,
      PATH: `${agentClisBin()}${path.delimiter}${process.env.PATH ?? ''}`,
      AGENTED_API_KEY: API_KEY,
      AGENTED_DATA_DIR: `${temp.dir}/data`,
      AGENTED_LOG_DIR: `${temp.dir}/logs`,
      AGENTED_STOP_GRACE_MS: '500',
      ANTHROPIC_BASE_URL: standIn.url,
      ANTHROPIC_API_KEY: 'sk-ant-stand-in-0123456789',
      CLAUDE_CODE_MAX_RETRIES: '0',
      DISABLE_AUTOUPDATER: '1',
    },
  });
  ready = await cli.ready;
}, 60_000);

afterAll(async () => {
  await cli?.stop('SIGINT');
  await standIn?.close();
  temp.remove();
});

async function sendPullRequest(webhookUrl: string, secret: string, title: string): Promise<string> {
  const payload = githubExample('pull_request', 'opened');
  payload.pull_request.title = title;
  const body = JSON.stringify(payload);
  const response = await fetch(webhookUrl, { method: 'POST', headers: githubHeaders({ secret, event: 'pull_request', body }), body });
  expect(response.status).toBe(202);
  return ((await response.json()) as { executionId: string }).executionId;
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

const stateOf = (page: Page) => page.getByTestId('execution-state').getAttribute('data-state');

describe('the UI in Chromium against agented serve', () => {
  it('log in, checklist, a GitHub trigger made in the UI, a signed delivery streaming live, cancel, replay, the delivery inspector, settings, sign out and in', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 1360, height: 900 });
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));

      // Log in through the one-time URL: the dashboard opens, the checklist comes first.
      await page.goto(ready.loginUrl);
      await page.getByTestId('checklist').waitFor();
      await expect.poll(() => page.getByTestId('backend-claude').textContent(), { timeout: 20_000 }).toContain('ready');
      await expect.poll(() => page.getByTestId('version').textContent(), { timeout: 10_000 }).toContain(readVersion());
      await page.getByTestId('recheck').click();
      await expect.poll(() => page.getByTestId('recheck').textContent(), { timeout: 30_000 }).toContain('Check again');
      await expect.poll(() => page.getByTestId('live-status').textContent()).toContain('Live');
      await shot(page, 'dashboard');

      // An empty trigger list says what to do next.
      await nav(page, 'Triggers', '/triggers');
      await page.getByTestId('empty-state').waitFor();
      await shot(page, 'triggers-empty');

      // Create a GitHub trigger in the UI; the server's validation shows per field first.
      await page.getByTestId('new-trigger').click();
      await page.getByTestId('kind-github').check();
      await page.getByTestId('field-name').fill('Review pull requests');
      await page.getByTestId('field-template').fill('Review {{payload.pull_request.title}}');
      await page.getByTestId('field-workdir').fill('relative/path');
      await page.getByTestId('save-trigger').click();
      await expect.poll(() => page.getByTestId('error-github-events').textContent()).toContain('>=1');
      await expect.poll(() => page.getByTestId('error-workdir').textContent()).toContain('absolute');
      await shot(page, 'trigger-form-errors');
      await page.getByTestId('field-github-events').fill('pull_request.opened');
      await page.getByTestId('field-workdir').fill('');
      await page.getByTestId('save-trigger').click();

      // The secret is shown once, with the webhook URL and the GitHub steps.
      const secret = (await page.getByTestId('secret-value').textContent())!.trim();
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      const webhookUrl = (await page.getByTestId('webhook-url').textContent())!.trim();
      expect(webhookUrl).toMatch(new RegExp(`^${ready.url}/hooks/trg_`));
      await expect.poll(() => page.getByTestId('webhook-panel').textContent()).toContain('application/json');
      await expect.poll(() => page.getByTestId('concurrency-words').textContent()).toContain('One execution of this trigger runs at a time');
      await shot(page, 'trigger');

      // A signed delivery: the execution appears in the open history page by itself, then streams live.
      await nav(page, 'Executions', '/executions');
      await page.getByTestId('empty-state').waitFor();
      const first = await sendPullRequest(webhookUrl, secret, 'Tidy the parser READ 3');
      await page.getByTestId(`execution-row-${first}`).waitFor({ timeout: 15_000 });
      await page.getByTestId(`execution-row-${first}`).getByRole('link').click();
      await page.getByTestId('log-viewport').waitFor();
      await expect.poll(() => stateOf(page), { timeout: 60_000 }).toBe('succeeded');
      await expect.poll(() => page.getByTestId('log-viewport').textContent()).toContain('tool call');
      await expect.poll(() => page.getByTestId('log-viewport').textContent()).toContain('All done.');
      await expect.poll(() => page.getByTestId('stream-state').textContent()).toContain('complete');
      await page.locator('[data-testid="log-row"].kind-tool_call').first().click();
      await expect.poll(() => page.getByTestId('line-detail').textContent()).toContain('"tool_call"');
      await page.getByTestId('prompt-panel').locator('summary').click();
      await expect.poll(() => page.getByTestId('prompt-panel').textContent()).toContain('payload.pull_request.title');
      await shot(page, 'execution');
      await page.getByTestId('view-raw').click();
      await expect.poll(() => page.getByTestId('log-viewport').textContent()).toContain('"type":"assistant"');
      await shot(page, 'execution-raw');

      // One that hangs: watch it run, then cancel it from its page.
      await nav(page, 'Executions', '/executions');
      const second = await sendPullRequest(webhookUrl, secret, 'Rewrite everything HANG');
      await page.getByTestId(`execution-row-${second}`).getByRole('link').click({ timeout: 15_000 });
      await expect.poll(() => stateOf(page), { timeout: 30_000 }).toBe('running');
      await expect.poll(async () => Number((await page.getByTestId('line-count').textContent())!.replace(/\D/g, '')), { timeout: 30_000 }).toBeGreaterThan(0);
      await page.getByTestId('cancel-execution').click();
      await expect.poll(() => stateOf(page), { timeout: 30_000 }).toBe('cancelled');
      await expect.poll(() => page.getByTestId('execution-reason').textContent()).toContain('cancelled');

      // Replay the first one: a new execution, linked to it, runs to the end.
      await page.goto(`${ready.url}/executions/${first}`);
      await page.getByTestId('replay-execution').click();
      await page.waitForURL((url) => /\/executions\/exe_/.test(url.pathname) && !url.pathname.endsWith(first));
      await expect.poll(() => page.locator('.page-lede').first().textContent()).toContain(`replay of ${first}`);
      await expect.poll(() => stateOf(page), { timeout: 60_000 }).toBe('succeeded');

      await nav(page, 'Executions', '/executions');
      await page.getByTestId('execution-table').waitFor();
      await expect.poll(() => page.getByTestId('execution-totals').textContent()).toContain('1 cancelled');
      await shot(page, 'executions');
      // The filters run on the server: the cancelled one alone, then a CLI nothing ran on.
      await page.getByTestId('filter-state').selectOption('cancelled');
      await expect.poll(() => page.getByTestId('execution-table').locator('tbody tr').count()).toBe(1);
      await expect.poll(() => page.getByTestId('execution-totals').textContent()).toMatch(/^\s*1 execution match: 1 cancelled/);
      await page.getByTestId('filter-backend').selectOption('codex');
      await page.getByTestId('empty-state').waitFor();
      expect(new URL(page.url()).search).toBe('?state=cancelled&backend=codex');
      await page.getByRole('button', { name: 'Clear filters' }).click();
      await expect.poll(() => page.getByTestId('execution-table').locator('tbody tr').count()).toBeGreaterThanOrEqual(3);

      // The delivery inspector: pick a field of the body into the prompt, save it to the trigger.
      await nav(page, 'Triggers', '/triggers');
      // The last run comes with the trigger list: the replay, which succeeded.
      await expect.poll(() => page.getByTestId('trigger-table').getByTestId('last-run').textContent()).toContain('succeeded');
      await shot(page, 'triggers');
      await page.getByTestId('trigger-table').getByRole('link', { name: 'Review pull requests' }).click();
      await page.getByTestId('open-deliveries').click();
      await page.getByTestId('delivery-detail').waitFor();
      await expect.poll(() => page.getByTestId('delivery-verified').textContent()).toBe('verified');
      await page.getByRole('button', { name: 'Open pull_request', exact: true }).click();
      await page.getByTestId('inspector-template').fill('Summarise ');
      await page.getByTestId('json-key-pull_request.title').click();
      await expect.poll(() => page.getByTestId('inspector-template').inputValue()).toBe('Summarise {{payload.pull_request.title}}');
      await page.getByTestId('inspector-save').click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
      await shot(page, 'deliveries');

      // Settings: the key is never in the page; rotation says what breaks and which command does it.
      await nav(page, 'Settings', '/settings');
      await expect.poll(() => page.getByTestId('settings-version').textContent()).toContain(readVersion());
      await expect.poll(() => page.getByTestId('api-key-panel').textContent()).toContain('agented key show');
      expect(await page.content()).not.toContain(API_KEY);
      // The tunnel: off at first; a wrong URL is refused under its field; a tunnel of one's own is shown as up.
      await expect.poll(() => page.getByTestId('tunnel-state').textContent()).toContain('Off');
      await page.getByTestId('tunnel-custom').check();
      await page.locator('#tunnel-public-url').fill('not a url');
      await page.getByTestId('tunnel-save').click();
      await expect.poll(() => page.getByTestId('tunnel-panel').locator('.field-error').first().textContent()).toContain('http');
      await page.locator('#tunnel-public-url').fill('https://agented.example.com');
      await page.getByTestId('tunnel-save').click();
      await expect.poll(() => page.getByTestId('tunnel-state').textContent(), { timeout: 15_000 }).toContain('Up');
      await shot(page, 'settings');

      // Dark mode follows the OS.
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.goto(`${ready.url}/executions/${first}`);
      await expect.poll(() => stateOf(page)).toBe('succeeded');
      await shot(page, 'execution-dark');
      await page.goto(ready.url);
      await expect.poll(() => page.getByTestId('backend-claude').textContent(), { timeout: 20_000 }).toContain('ready');
      await shot(page, 'dashboard-dark');
      await page.emulateMedia({ colorScheme: 'light' });

      // Sign out, then in again with the pasted key.
      await nav(page, 'Settings', '/settings');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByTestId('login-secret').waitFor();
      await page.getByTestId('login-secret').fill('not-the-key');
      await page.getByTestId('login-submit').click();
      await expect.poll(() => page.getByTestId('login-failure').textContent()).toContain('agented key show');
      await shot(page, 'login');
      await page.getByTestId('login-secret').fill(API_KEY);
      await page.getByTestId('login-submit').click();
      // Back where the reader was, live again.
      await page.getByTestId('settings-version').waitFor();
      await expect.poll(() => page.getByTestId('live-status').textContent()).toContain('Live');

      // The 400 of the invalid form and the 401s of the wrong key and the signed-out session are the only errors the console saw: no CSP violation, no script error.
      expect(problems.filter((problem) => !/(400 \(Bad Request\)|401 \(Unauthorized\))/.test(problem))).toEqual([]);
    } catch (error) {
      // What the page showed when it went wrong: the first thing to look at.
      for (const page of browser.context.pages()) await page.screenshot({ path: artifactPath('renderer-failure.png'), fullPage: true }).catch(() => undefined);
      throw error;
    } finally {
      await browser.close();
    }
  }, 240_000);
});

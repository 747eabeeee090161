import fs from 'node:fs';
import path from 'node:path';
import type { Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution, ExecutionState } from '../../common/executions.js';
import { launchBrowser } from '../helpers/browser.js';
import { repoRoot, runCli, type ReadyLine, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * A page's first load overtaken by the reloads live changes ask for, as on a
 * busy worker over a slow link: the page still shows what it opened. Chromium
 * against `agented serve` (its Claude Code the scripted agent); answers are
 * held back or slowed in the browser, as a slow network would.
 */
const API_KEY = 'renderer-first-load-key-0123456789abcdef';
const temp = makeTempDir('agented-first-load-');
let cli: ServeProcess | undefined;
let server: ReadyLine;

beforeAll(async () => {
  const agent = path.join(temp.dir, 'scripted-agent');
  fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'scripted-agent.mjs')}" "$@"\n`, { mode: 0o755 });
  cli = runCli({ env: { HOME: temp.dir, AGENTED_API_KEY: API_KEY, AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: `${temp.dir}/logs`, AGENTED_CLAUDE_PATH: agent } });
  server = await cli.ready;
}, 60_000);

afterAll(async () => {
  await cli?.stop('SIGINT');
  temp.remove();
});

async function api<T>(method: string, urlPath: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.url}${urlPath}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  return (await response.json()) as T;
}

async function signIn(page: Page, to: string): Promise<void> {
  await page.goto(`${server.url}/login?next=${encodeURIComponent(to)}`);
  await page.getByTestId('login-secret').fill(API_KEY);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => url.pathname === to);
}

async function reaches(id: string, states: ExecutionState[]): Promise<Execution> {
  for (let waited = 0; waited < 20_000; waited += 100) {
    const execution = await api<Execution>('GET', `/api/executions/${id}`);
    if (states.includes(execution.state)) return execution;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`execution ${id} did not reach ${states.join(' or ')}`);
}

describe('a first load overtaken by live changes', () => {
  it('the execution page opens the log stream and names the trigger when a live change reloads it before the first answer is shown', async () => {
    const triggerId = (await api<{ id: string }>('POST', '/api/triggers', { name: 'Overtaken trigger', kind: 'manual', promptTemplate: 'WORK 30000' })).id;
    const executionId = (await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params: {} })).executionId;
    await reaches(executionId, ['running']);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/executions');
      await page.getByTestId(`execution-row-${executionId}`).waitFor();

      // Every answer for the execution is held, each made by the server at once, until let through.
      const held: { route: Route; response: Awaited<ReturnType<Route['fetch']>> }[] = [];
      let holding = true;
      await page.route(
        (url) => url.pathname === `/api/executions/${executionId}`,
        async (route) => {
          if (!holding) return route.continue();
          held.push({ route, response: await route.fetch() });
        },
      );
      await page.getByTestId(`execution-row-${executionId}`).getByRole('link').click();
      await expect.poll(() => held.length).toBe(1);
      // The run ends: the page's live change asks for the execution again.
      await api('POST', `/api/executions/${executionId}/cancel`);
      await expect.poll(() => held.length).toBe(2);

      // The first answer comes, then the reload's.
      const [first] = held;
      await first!.route.fulfill({ response: first!.response });
      await page.waitForTimeout(300);
      holding = false;
      for (const { route, response } of held.slice(1)) await route.fulfill({ response });

      await expect.poll(() => page.getByTestId('execution-state').getAttribute('data-state')).toBe('cancelled');
      await expect.poll(() => page.getByTestId('stream-state').textContent()).toContain('complete');
      await expect.poll(() => page.locator('.execution-title').textContent()).toContain('Overtaken trigger');
    } finally {
      await browser.close();
    }
  });

  it('the executions list shows its first page while runs keep changing and each answer takes longer than a reload\'s wait', async () => {
    const triggerId = (await api<{ id: string }>('POST', '/api/triggers', { name: 'Busy trigger', kind: 'manual', promptTemplate: 'hello' })).id;
    const first = (await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params: {} })).executionId;
    await reaches(first, ['succeeded']);
    const browser = await launchBrowser();
    let busy = true;
    // Runs one after another: a change every few hundred milliseconds, each reloading the list.
    const runs = (async () => {
      for (const until = Date.now() + 20_000; busy && Date.now() < until; ) {
        const id = (await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params: {} })).executionId;
        await reaches(id, ['succeeded', 'failed']);
      }
    })();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/');
      await page.route(
        (url) => url.pathname.startsWith('/api/executions'),
        async (route) => {
          const response = await route.fetch();
          await new Promise((resolve) => setTimeout(resolve, 1_200));
          // The browser may have closed meanwhile, at the end of the test.
          await route.fulfill({ response }).catch(() => undefined);
        },
      );
      await page.getByRole('link', { name: 'Executions', exact: true }).click();
      await expect.poll(() => page.getByTestId(`execution-row-${first}`).count(), { timeout: 8_000 }).toBe(1);
    } finally {
      busy = false;
      await runs;
      await browser.close();
    }
  }, 40_000);
});

import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettingsView } from '../../common/api.js';
import type { Execution } from '../../common/executions.js';
import { agentClisBin } from '../helpers/agent-clis.js';
import { artifactPath, launchBrowser } from '../helpers/browser.js';
import { runCli, type ReadyLine, type ServeProcess } from '../helpers/serve.js';
import { startOpenAiStandIn } from '../helpers/stand-ins/openai.js';
import type { StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

/**
 * The price table edited on the Usage page in Debian's Chromium against
 * `agented serve` (no AGENTED_PRICES): a price saved there estimates the next
 * Codex execution (real CLI, OpenAI stand-in) without a restart; a refused
 * price is shown under its cell; figures in the tables are right-aligned
 * (`.num` over `.table td`), labels left.
 */
const API_KEY = 'e2e-prices-key-0123456789abcdefghij';
const temp = makeTempDir();
let openAi: StandIn;
let cli: ServeProcess;
let ready: ReadyLine;

beforeAll(async () => {
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
      CODEX_HOME: codexHome,
      STAND_IN_OPENAI_KEY: 'sk-openai-stand-in-0123',
    },
  });
  ready = await cli.ready;
}, 60_000);

afterAll(async () => {
  await cli?.stop('SIGINT');
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

async function runToEnd(triggerId: string): Promise<Execution> {
  const { executionId } = await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params: {} });
  for (let waited = 0; waited < 90_000; waited += 200) {
    const execution = await api<Execution>('GET', `/api/executions/${executionId}`);
    if (['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped'].includes(execution.state)) return execution;
    await sleep(200);
  }
  throw new Error(`execution ${executionId} did not end`);
}

/** The computed `text-align` of every element the selector finds (a string: this file is type-checked without the DOM library). */
const alignments = (page: Page, selector: string): Promise<string[]> =>
  page.evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].map((element) => getComputedStyle(element).textAlign)`);

describe('the price table in Chromium against agented serve', () => {
  it('a price saved on the Usage page estimates the next Codex execution; a refused price shows under its cell; numbers right-aligned', async () => {
    const trigger = (await api<{ id: string }>('POST', '/api/triggers', { name: 'Codex fixes', kind: 'manual', backend: 'codex', promptTemplate: 'Say hello' })).id;
    const unpriced = await runToEnd(trigger);
    expect(unpriced.state).toBe('succeeded');
    expect(unpriced.usage.costEstimated).toBe(false);

    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 1360, height: 900 });
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      await page.goto(ready.loginUrl);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage', exact: true }).click();
      await page.getByTestId('price-table-empty').waitFor();

      // Figures right, labels left: in the usage tables and in their headers.
      const cells = await alignments(page, '[data-testid="usage-byTrigger"] td.num, [data-testid="usage-byTrigger"] th.num');
      expect(cells.length).toBeGreaterThanOrEqual(12);
      expect(new Set(cells)).toEqual(new Set(['right']));
      expect(await alignments(page, '[data-testid="usage-byTrigger"] th:not(.num)')).toEqual(['left', 'left']);

      await page.getByTestId('price-add').click();
      await page.getByLabel('CLI or model, row 1').fill('codex');
      await page.getByLabel('Input, dollars per million tokens, row 1').fill('2');
      await page.getByLabel('Output, dollars per million tokens, row 1').fill('-8');
      await page.getByTestId('price-save').click();
      await page.getByTestId('price-output-error').waitFor();
      expect(await page.getByTestId('price-output-error').textContent()).toContain('0 or more');
      await page.getByTestId('price-table').screenshot({ path: artifactPath('renderer-price-table-refused.png') });
      expect((await api<SettingsView>('GET', '/api/settings')).settings.prices?.value).toEqual({});

      await page.getByLabel('Output, dollars per million tokens, row 1').fill('8');
      await page.getByTestId('price-save').click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      expect((await api<SettingsView>('GET', '/api/settings')).settings.prices).toMatchObject({ value: { codex: { inputPerMTok: 2, outputPerMTok: 8 } }, source: 'stored' });
      expect(await alignments(page, '[data-testid="price-row"] td.num input')).toEqual(['right', 'right']);

      const priced = await runToEnd(trigger);
      expect(priced.usage.costEstimated).toBe(true);
      expect(priced.usage.costUsd).toBeCloseTo(((priced.usage.inputTokens ?? 0) * 2 + (priced.usage.outputTokens ?? 0) * 8) / 1e6, 12);
      // The page hears of the execution and shows the estimate.
      await page.getByTestId('usage-estimate-note').waitFor({ timeout: 15_000 });
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: artifactPath('renderer-usage-prices.png'), fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 180_000);
});

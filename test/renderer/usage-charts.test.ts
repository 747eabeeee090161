// @vitest-environment happy-dom
import fs from 'node:fs';
import path from 'node:path';
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bar } from 'vue-chartjs';
import { createMemoryHistory, createRouter } from 'vue-router';
import type { UsageReport } from '../../common/budgets.js';
import { ApiClient } from '../../renderer/src/api/client.js';
import { ApiKey } from '../../renderer/src/api/inject.js';
import UsageChart from '../../renderer/src/components/UsageChart.vue';
import UsagePage from '../../renderer/src/pages/UsagePage.vue';
import { startEngine, type Engine } from '../helpers/engine.js';
import { startOpenAiStandIn } from '../helpers/stand-ins/openai.js';
import type { StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * The usage page against the real worker after real executions: Claude Code
 * (reports its cost) and Codex (reports only tokens, so its cost is estimated
 * from AGENTED_PRICES), both against stand-in providers. The charts must get
 * exactly the series of GET /api/usage, the estimate as a dataset of its own.
 */
const PRICES = { codex: { inputPerMTok: 2, outputPerMTok: 8 } };
let engine: Engine;
let openAi: StandIn;
const home = makeTempDir('agented-usage-codex-');
let report: UsageReport;
let api: ApiClient;
let claudeTrigger: string;
let codexTrigger: string;

beforeAll(async () => {
  openAi = await startOpenAiStandIn(() => ({ text: 'Done by codex.' }));
  const codexHome = path.join(home.dir, '.codex');
  fs.mkdirSync(codexHome);
  fs.writeFileSync(
    path.join(codexHome, 'config.toml'),
    ['model_provider = "stand-in"', '[model_providers.stand-in]', 'name = "OpenAI stand-in"', `base_url = "${openAi.url}/v1"`, 'env_key = "STAND_IN_OPENAI_KEY"', 'wire_api = "responses"', 'request_max_retries = 0', 'stream_max_retries = 0', ''].join('\n'),
  );
  engine = await startEngine({ CODEX_HOME: codexHome, STAND_IN_OPENAI_KEY: 'sk-openai-stand-in-0123', AGENTED_PRICES: JSON.stringify(PRICES) });
  claudeTrigger = await engine.createTrigger({ name: 'Claude reviews', promptTemplate: 'Say hello' });
  codexTrigger = await engine.createTrigger({ name: 'Codex fixes', backend: 'codex', promptTemplate: 'Say hello' });
  for (const trigger of [claudeTrigger, codexTrigger]) {
    const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
  }
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(engine.server.url);
  api = new ApiClient({ headers: { Authorization: `Bearer ${engine.server.key}` } });
  report = await api.usage('day');
}, 150_000);

afterAll(async () => {
  await engine?.close();
  await openAi?.close();
  home.remove();
});

async function mountPage(): Promise<VueWrapper> {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:path(.*)*', component: { template: '<div />' } }] });
  const wrapper = mount(UsagePage, { global: { plugins: [createPinia(), router], provide: { [ApiKey as symbol]: api } }, attachTo: document.body });
  // Loaded: the report (the charts) and the settings (the price table).
  for (let index = 0; index < 40 && (wrapper.findAllComponents(UsageChart).length === 0 || !wrapper.get('[data-testid="price-table"]').find('table').exists()); index++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    await flushPromises();
  }
  return wrapper;
}

/** What one chart was handed: per dataset label, its values by bar label. */
function drawn(chart: VueWrapper): Record<string, Record<string, number>> {
  const data = chart.findComponent(Bar).props('data') as { labels: string[]; datasets: { label: string; data: number[] }[] };
  return Object.fromEntries(data.datasets.map((dataset) => [dataset.label, Object.fromEntries(data.labels.map((label, index) => [label, dataset.data[index]!]))]));
}

describe('usage charts', () => {
  it('the API counts both executions: the Claude cost reported, the Codex cost estimated from the price table', () => {
    const claude = report.byTrigger.find((row) => row.label === 'Claude reviews')!;
    const codex = report.byTrigger.find((row) => row.label === 'Codex fixes')!;
    expect(claude.costUsd).toBeGreaterThan(0);
    expect(claude.estimatedUsd).toBe(0);
    expect(codex.inputTokens).toBeGreaterThan(0);
    expect(codex.estimatedUsd).toBeCloseTo((codex.inputTokens * 2 + codex.outputTokens * 8) / 1e6, 9);
    expect(codex.costUsd).toBe(codex.estimatedUsd);
  });

  it('each chart receives the series of the API response, the estimate as its own dataset, beside a table of the same figures', async () => {
    const wrapper = await mountPage();
    const charts = wrapper.findAllComponents(UsageChart);
    // Cost and tokens for each of trigger, CLI and account.
    expect(charts).toHaveLength(6);
    const [costByTrigger, tokensByTrigger, costByBackend, tokensByBackend] = charts;

    const round = (usd: number) => Math.round(usd * 10_000) / 10_000;
    const rows = Object.fromEntries(report.byTrigger.map((row) => [row.label, row]));
    expect(drawn(costByTrigger!)).toEqual({
      'Cost reported by the CLI': { 'Claude reviews': round(rows['Claude reviews']!.costUsd), 'Codex fixes': 0 },
      'Cost estimated from the price table': { 'Claude reviews': 0, 'Codex fixes': round(rows['Codex fixes']!.estimatedUsd) },
    });
    expect(drawn(tokensByTrigger!)).toEqual({
      'Input tokens': { 'Claude reviews': rows['Claude reviews']!.inputTokens, 'Codex fixes': rows['Codex fixes']!.inputTokens },
      'Output tokens': { 'Claude reviews': rows['Claude reviews']!.outputTokens, 'Codex fixes': rows['Codex fixes']!.outputTokens },
    });
    const backends = Object.fromEntries(report.byBackend.map((row) => [row.label, row]));
    expect(Object.keys(drawn(costByBackend!)['Cost estimated from the price table']!).sort()).toEqual(['claude', 'codex']);
    expect(drawn(tokensByBackend!)['Input tokens']).toEqual({ claude: backends.claude!.inputTokens, codex: backends.codex!.inputTokens });
    // Neither account existed: both ran on the environment's credentials, one bar.
    expect(drawn(charts[5]!)['Input tokens']).toEqual({ 'environment credentials': report.total.inputTokens });

    // The estimate is said in words too: the note, the table's mark, the price table in use.
    expect(wrapper.get('[data-testid="usage-estimate-note"]').text()).toContain('estimate');
    const codexRow = wrapper.get('[data-testid="usage-byTrigger"]').findAll('[data-testid="usage-row"]').find((row) => row.text().includes('Codex fixes'))!;
    expect(codexRow.text()).toContain('est.');
    expect(wrapper.get('[data-testid="price-table"]').text()).toMatch(/codex\s*2\s*8/);
    expect(wrapper.get('[data-testid="usage-total-executions"]').text()).toBe('2');
    wrapper.unmount();
  });

  it('a chart without estimates shows no estimate dataset, and each bar chart has a label for screen readers', async () => {
    const claudeOnly = { ...report, byTrigger: report.byTrigger.filter((row) => row.estimatedUsd === 0) };
    const { withoutEmpty, costSeries } = await import('../../renderer/src/lib/usage-series.js');
    const wrapper = mount(UsageChart, { props: { series: withoutEmpty(costSeries(claudeOnly.byTrigger)), unit: 'usd', label: 'Cost today by trigger' } });
    expect(Object.keys(drawn(wrapper))).toEqual(['Cost reported by the CLI']);
    expect(wrapper.get('canvas').attributes('aria-label')).toBe('Cost today by trigger');
    expect(wrapper.get('canvas').attributes('role')).toBe('img');
    wrapper.unmount();
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettingsView } from '../../common/api.js';
import type { Execution } from '../../common/executions.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { startOpenAiStandIn } from '../helpers/stand-ins/openai.js';
import type { StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';

/**
 * Prices set through the API reach the estimate of the next execution, without
 * a restart: the real Codex CLI (it reports tokens, never a cost) against the
 * OpenAI stand-in, the real worker, no AGENTED_PRICES.
 */
let engine: Engine;
let openAi: StandIn;
const home = makeTempDir('agented-price-estimate-');

beforeAll(async () => {
  openAi = await startOpenAiStandIn(() => ({ text: 'Done by codex.' }));
  const codexHome = path.join(home.dir, '.codex');
  fs.mkdirSync(codexHome);
  fs.writeFileSync(
    path.join(codexHome, 'config.toml'),
    ['model_provider = "stand-in"', '[model_providers.stand-in]', 'name = "OpenAI stand-in"', `base_url = "${openAi.url}/v1"`, 'env_key = "STAND_IN_OPENAI_KEY"', 'wire_api = "responses"', 'request_max_retries = 0', 'stream_max_retries = 0', ''].join('\n'),
  );
  engine = await startEngine({ CODEX_HOME: codexHome, STAND_IN_OPENAI_KEY: 'sk-openai-stand-in-0123' });
}, 60_000);

afterAll(async () => {
  await engine?.close();
  await openAi?.close();
  home.remove();
});

async function runCodex(trigger: string): Promise<Execution> {
  const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
  expect(done.state, done.reason ?? '').toBe('succeeded');
  expect(done.usage.inputTokens).toBeGreaterThan(0);
  return done;
}

async function setPrices(prices: unknown): Promise<void> {
  const patched = await engine.api<SettingsView>('PATCH', '/api/settings', { prices });
  expect(patched.status).toBe(200);
  expect(patched.body.settings.prices).toMatchObject({ value: prices, source: 'stored', restartRequired: false });
}

const at = (usage: Execution['usage'], input: number, output: number) => ((usage.inputTokens ?? 0) * input + (usage.outputTokens ?? 0) * output) / 1e6;

describe('cost estimates from the price table set through the API', () => {
  it('no price, no estimate; a stored price applies to the next execution; backend/model wins over backend; what was recorded keeps its price', async () => {
    expect(process.env.AGENTED_PRICES).toBeUndefined();
    const codex = await engine.createTrigger({ name: 'Codex', backend: 'codex', promptTemplate: 'Say hello' });
    const codexModel = await engine.createTrigger({ name: 'Codex on a model', backend: 'codex', model: 'gpt-stand-in', promptTemplate: 'Say hello' });

    const unpriced = await runCodex(codex);
    expect(unpriced.usage).toMatchObject({ costUsd: null, costEstimated: false });

    await setPrices({ codex: { inputPerMTok: 2, outputPerMTok: 8 } });
    const priced = await runCodex(codex);
    expect(priced.usage.costEstimated).toBe(true);
    expect(priced.usage.costUsd).toBeCloseTo(at(priced.usage, 2, 8), 12);

    await setPrices({ codex: { inputPerMTok: 2, outputPerMTok: 8 }, 'codex/gpt-stand-in': { inputPerMTok: 40, outputPerMTok: 160 } });
    const [byModel, byBackend] = [await runCodex(codexModel), await runCodex(codex)];
    expect(byModel.usage.costUsd).toBeCloseTo(at(byModel.usage, 40, 160), 12);
    expect(byBackend.usage.costUsd).toBeCloseTo(at(byBackend.usage, 2, 8), 12);

    // Estimates are recorded with the execution: a later price does not rewrite them.
    expect((await engine.execution(priced.id)).usage.costUsd).toBe(priced.usage.costUsd);
    const usage = (await engine.api<{ byTrigger: { label: string; estimatedUsd: number }[] }>('GET', '/api/usage?period=day')).body;
    expect(usage.byTrigger.find((row) => row.label === 'Codex on a model')?.estimatedUsd).toBeCloseTo(byModel.usage.costUsd!, 9);
  }, 240_000);
});

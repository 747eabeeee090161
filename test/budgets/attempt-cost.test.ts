import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SettingsView } from '../../common/api.js';
import type { Budget, UsageReport } from '../../common/budgets.js';
import type { Execution } from '../../common/executions.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { startGeminiStandIn } from '../helpers/stand-ins/gemini.js';
import { startOpenAiStandIn, toolCallOutputs, writeCodexConfig, type OpenAiReply } from '../helpers/stand-ins/openai.js';
import type { RecordedRequest } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Codex's first call runs a command; the call after it is rate-limited (429), so the execution moves to the fallback backend. */
function codexReadThenRateLimited(recorded: RecordedRequest): OpenAiReply {
  return toolCallOutputs(recorded.body).length > 0 ? { status: 429 } : { functionCall: { name: 'exec_command', arguments: { cmd: 'cat notes.txt' } } };
}

/**
 * The real worker with the real codex against the OpenAI stand-in (its first
 * call answered, the second rate-limited), the real claude against the
 * Anthropic stand-in, and the real gemini against the Gemini stand-in.
 */
async function fallbackEngine(): Promise<{ engine: Engine; work: string }> {
  const openai = await startOpenAiStandIn(codexReadThenRateLimited);
  const gemini = await startGeminiStandIn(() => ({ text: 'Done by gemini.' }));
  cleanups.push(() => openai.close(), () => gemini.close());
  const home = makeTempDir('agented-attempt-cost-home-');
  const work = makeTempDir('agented-attempt-cost-');
  cleanups.push(home.remove, work.remove);
  const codexHome = path.join(home.dir, '.codex');
  fs.mkdirSync(codexHome);
  writeCodexConfig(codexHome, openai);
  fs.mkdirSync(path.join(home.dir, '.gemini'));
  // Its default model is the one in its settings (without one, it routes each prompt through a classifier call the stand-in does not answer).
  fs.writeFileSync(
    path.join(home.dir, '.gemini', 'settings.json'),
    JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, general: { maxAttempts: 1 }, model: { name: 'gemini-2.5-flash' }, privacy: { usageStatisticsEnabled: false } }),
  );
  fs.writeFileSync(path.join(work.dir, 'notes.txt'), 'a note\n');
  const engine = await startEngine({
    HOME: home.dir,
    CODEX_HOME: codexHome,
    STAND_IN_OPENAI_KEY: 'sk-stand-in-0123456789',
    GEMINI_API_KEY: 'stand-in-gemini-key',
    GOOGLE_GEMINI_BASE_URL: gemini.url,
  });
  cleanups.push(() => engine.close());
  return { engine, work: work.dir };
}

async function setPrices(engine: Engine, prices: unknown): Promise<void> {
  expect((await engine.api<SettingsView>('PATCH', '/api/settings', { prices })).status).toBe(200);
}

/** Runs a codex trigger with this fallback to its end: codex rate-limited, then the fallback succeeding. */
async function runWithFallback(engine: Engine, work: string, fallback: 'claude' | 'gemini'): Promise<Execution> {
  const trigger = await engine.createTrigger({ backend: 'codex', fallbackBackends: [fallback], model: 'gpt-stand-in', promptTemplate: 'Read notes.txt', workingDirectory: work, permissionMode: 'read-only' });
  const ended = await engine.waitForState(await engine.run(trigger), ['failed', 'succeeded', 'cancelled', 'timed_out'], 90_000);
  expect(ended.state, ended.reason ?? '').toBe('succeeded');
  expect(ended.attempts.map((attempt) => [attempt.backend, attempt.outcome])).toEqual([
    ['codex', 'rate_limited'],
    [fallback, 'succeeded'],
  ]);
  return ended;
}

/** The totals the fallback CLI reported (the last attempt's: codex was rate-limited before any). */
async function fallbackTotals(engine: Engine, id: string): Promise<{ inputTokens: number; outputTokens: number; costUsd: number | null }> {
  const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, { authorization: `Bearer ${engine.server.key}` });
  await within(stream.ended, 10_000, 'the stream of a finished execution ending');
  const totals = logLines(stream.events)
    .flatMap((line) => line.events ?? [])
    .filter((event): event is { type: 'usage'; inputTokens: number; outputTokens: number; costUsd: number | null; provisional?: boolean } => event.type === 'usage')
    .filter((event) => event.provisional !== true);
  expect(totals).toHaveLength(1);
  return totals[0]!;
}

const at = (tokens: { inputTokens: number; outputTokens: number }, input: number, output: number) => (tokens.inputTokens * input + tokens.outputTokens * output) / 1e6;

/**
 * An execution's cost is the sum of its attempts' costs, each the cost its
 * CLI reported or, without one, the estimate at that attempt's backend and
 * model (a fallback backend runs its default model): a later attempt neither
 * replaces an earlier one's estimate nor reprices its tokens.
 */
describe('the cost of an execution over several attempts', () => {
  it("a fallback that reports its cost adds it to the rate-limited attempt's estimate, and the total is marked estimated", async () => {
    const { engine, work } = await fallbackEngine();
    await setPrices(engine, { 'codex/gpt-stand-in': { inputPerMTok: 10_000, outputPerMTok: 10_000 } });
    const ended = await runWithFallback(engine, work, 'claude');
    const claude = await fallbackTotals(engine, ended.id);
    expect(claude.costUsd).toBeGreaterThan(0);

    const codex = { inputTokens: ended.usage.inputTokens! - claude.inputTokens, outputTokens: ended.usage.outputTokens! - claude.outputTokens };
    expect(codex.inputTokens).toBeGreaterThan(0);
    expect(ended.usage.costEstimated).toBe(true);
    expect(ended.usage.costUsd).toBeCloseTo(at(codex, 10_000, 10_000) + claude.costUsd!, 9);

    // Only the codex attempt's part is an estimate: the execution, the usage report and a budget count the reported part apart.
    const estimated = at(codex, 10_000, 10_000);
    expect(ended.usage.estimatedUsd).toBeCloseTo(estimated, 9);
    const report = (await engine.api<UsageReport>('GET', '/api/usage?period=day')).body;
    expect(report.total.costUsd).toBeCloseTo(estimated + claude.costUsd!, 6);
    expect(report.total.estimatedUsd).toBeCloseTo(estimated, 6);
    const budget = (await engine.api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitUsd: 1_000_000, hard: false })).body;
    expect(budget.spent.estimatedUsd).toBeCloseTo(estimated, 6);
  }, 150_000);

  it("a fallback that reports no cost is estimated at its own backend's price and default model, and the earlier attempt keeps its own", async () => {
    const { engine, work } = await fallbackEngine();
    // `gemini/gpt-stand-in` names the trigger's model, which the gemini fallback does not run.
    await setPrices(engine, {
      'codex/gpt-stand-in': { inputPerMTok: 10_000, outputPerMTok: 10_000 },
      gemini: { inputPerMTok: 1, outputPerMTok: 2 },
      'gemini/gpt-stand-in': { inputPerMTok: 5_000, outputPerMTok: 5_000 },
    });
    const ended = await runWithFallback(engine, work, 'gemini');
    const gemini = await fallbackTotals(engine, ended.id);
    expect(gemini.costUsd).toBeNull();

    const codex = { inputTokens: ended.usage.inputTokens! - gemini.inputTokens, outputTokens: ended.usage.outputTokens! - gemini.outputTokens };
    expect(codex.inputTokens).toBeGreaterThan(0);
    expect(ended.usage.costEstimated).toBe(true);
    expect(ended.usage.costUsd).toBeCloseTo(at(codex, 10_000, 10_000) + at(gemini, 1, 2), 9);
  }, 150_000);
});

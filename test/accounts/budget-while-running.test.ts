import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Budget } from '../../common/budgets.js';
import type { Execution } from '../../common/executions.js';
import type { TriggerCreate } from '../../common/triggers.js';
import { groupAlive } from '../../main/executions/process-group.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import type { AnthropicReply } from '../helpers/stand-ins/anthropic.js';
import { openEventStream, logLines } from '../helpers/sse.js';
import { functionResponses, startGeminiStandIn, toolThenText, type GeminiReply } from '../helpers/stand-ins/gemini.js';
import { startOpenAiStandIn, toolCallOutputs, writeCodexConfig, type OpenAiReply } from '../helpers/stand-ins/openai.js';
import type { RecordedRequest, StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** First step: a tool call (its usage is reported when the step ends); the step after it never finishes. */
function oneStepThenHang(recorded: RecordedRequest): AnthropicReply {
  const conversation = JSON.stringify((recorded.body as { messages?: unknown } | null)?.messages ?? []);
  return conversation.includes('tool_result') ? { hangAfterText: 'Still reading' } : { toolUse: { name: 'read', input: { filePath: 'notes.txt' } } };
}

/** The same for Gemini CLI: a read_file call, then an answer that never finishes. */
function geminiReadThenHang(recorded: RecordedRequest): GeminiReply {
  return functionResponses(recorded.body).length > 0 ? { hangAfterText: 'Still reading' } : { functionCall: { name: 'read_file', args: { file_path: 'notes.txt' } } };
}

/** The real worker with the real gemini against the Gemini stand-in (API-key login in its home's settings, one attempt a call), and a folder with notes.txt. */
async function geminiEngine(respond: (recorded: RecordedRequest) => GeminiReply): Promise<{ engine: Engine; gemini: StandIn; work: string }> {
  const gemini = await startGeminiStandIn(respond);
  cleanups.push(() => gemini.close());
  const home = makeTempDir('agented-budget-gemini-home-');
  const work = makeTempDir('agented-budget-gemini-');
  cleanups.push(home.remove, work.remove);
  fs.mkdirSync(path.join(home.dir, '.gemini'));
  fs.writeFileSync(
    path.join(home.dir, '.gemini', 'settings.json'),
    JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } }, general: { maxAttempts: 1 }, privacy: { usageStatisticsEnabled: false } }),
  );
  fs.writeFileSync(path.join(work.dir, 'notes.txt'), 'a note\n');
  const engine = await startEngine({ HOME: home.dir, GEMINI_API_KEY: 'stand-in-gemini-key', GOOGLE_GEMINI_BASE_URL: gemini.url });
  cleanups.push(() => engine.close());
  return { engine, gemini, work: work.dir };
}

/** The same for Codex: a shell command, then an answer that never finishes. */
function codexReadThenHang(recorded: RecordedRequest): OpenAiReply {
  return toolCallOutputs(recorded.body).length > 0 ? { hangAfterText: 'Still reading' } : { functionCall: { name: 'exec_command', arguments: { cmd: 'cat notes.txt' } } };
}

/** The real worker with the real codex against the OpenAI stand-in (its second call never finishes), and a folder with notes.txt. */
async function codexEngine(): Promise<{ engine: Engine; openai: StandIn; work: string }> {
  const openai = await startOpenAiStandIn(codexReadThenHang);
  cleanups.push(() => openai.close());
  const codexHome = makeTempDir('agented-budget-codex-home-');
  const work = makeTempDir('agented-budget-codex-');
  cleanups.push(codexHome.remove, work.remove);
  writeCodexConfig(codexHome.dir, openai);
  fs.writeFileSync(path.join(work.dir, 'notes.txt'), 'a note\n');
  const engine = await startEngine({ CODEX_HOME: codexHome.dir, STAND_IN_OPENAI_KEY: 'sk-stand-in-0123456789' });
  cleanups.push(() => engine.close());
  return { engine, openai, work: work.dir };
}

/**
 * A daily hard budget of 1 token, then a run of a new trigger with `fields`
 * that only the budget can end: it is stopped mid-run, as its one attempt, with
 * the budget's reason and the tokens counted so far, its process group gone.
 */
async function stoppedByHardBudget(engine: Engine, fields: Partial<TriggerCreate>, endWithinMs = 60_000): Promise<{ ended: Execution; trigger: string }> {
  const budget = await engine.api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitTokens: 1 });
  expect(budget.body.used).toBe(0);
  const trigger = await engine.createTrigger(fields);
  const id = await engine.run(trigger);
  const running = await engine.waitForState(id, ['running', 'failed', 'succeeded'], 60_000);
  const ended = await engine.waitForState(id, ['failed', 'succeeded', 'cancelled', 'timed_out'], endWithinMs);
  expect(ended.state).toBe('failed');
  expect(ended.reason).toMatch(/^stopped: The daily hard budget is used up \(\d+ of 1 tokens this day/);
  expect(ended.attempts.map((attempt) => attempt.outcome)).toEqual(['failed']);
  expect(ended.usage.inputTokens).toBeGreaterThan(0);
  expect(groupAlive(running.processGroup!)).toBe(false);
  return { ended, trigger };
}

/**
 * A hard budget stopping an execution mid-run: the real CLIs against the
 * stand-ins, whose second step never finishes — only the budget can end the
 * run. OpenCode reports usage after every step; Claude Code reports its
 * totals only at the end, so its running total comes from the usage each
 * assistant message carries; Gemini CLI and Codex print theirs only at the
 * end too, so theirs comes from the file each writes per API call (its
 * telemetry, its session rollout).
 */
describe('budgets while running', () => {
  it('a running execution that crosses a hard token budget is stopped, whole process group, with the reason', async () => {
    const engine: Engine = await startEngine({ OPENCODE_DISABLE_MODELS_FETCH: '1', npm_config_offline: 'true' }, { respond: oneStepThenHang });
    cleanups.push(() => engine.close());
    const work = makeTempDir('agented-budget-work-');
    cleanups.push(work.remove);
    fs.writeFileSync(path.join(work.dir, 'notes.txt'), 'a note\n');
    fs.writeFileSync(path.join(work.dir, 'opencode.json'), JSON.stringify({ $schema: 'https://opencode.ai/config.json', provider: { anthropic: { options: { baseURL: `${engine.standIn.url}/v1` } } } }));

    // Stopped mid-run (the second step never finishes, so nothing else could have ended it), and nothing of it is left.
    const { trigger } = await stoppedByHardBudget(engine, { backend: 'opencode', model: 'anthropic/claude-haiku-4-5', promptTemplate: 'Read notes.txt', workingDirectory: work.dir, permissionMode: 'read-only' }, 90_000);
    expect((await engine.api<{ items: Budget[] }>('GET', '/api/budgets')).body.items[0]!.used).toBeGreaterThan(1);

    // And the next execution is not started at all.
    const next = await engine.waitForState(await engine.run(trigger), ['skipped', 'running', 'failed']);
    expect(next.state).toBe('skipped');
  }, 150_000);

  it('Claude Code is stopped by a hard token budget between its API calls, on the running total of its messages', async () => {
    const engine: Engine = await startEngine({}, { respond: oneStepThenHang });
    cleanups.push(() => engine.close());
    const work = makeTempDir('agented-budget-claude-');
    cleanups.push(work.remove);
    fs.writeFileSync(path.join(work.dir, 'notes.txt'), 'a note\n');

    const { ended } = await stoppedByHardBudget(engine, { promptTemplate: 'Read notes.txt', workingDirectory: work.dir, permissionMode: 'read-only' });
    // The tokens of the finished call are counted (from its message, or from the totals Claude Code may print when interrupted).
    expect(ended.usage.outputTokens).toBeGreaterThan(0);
    // Only the first call finished: the budget, not the end of the run, stopped it.
    expect(engine.standIn.requests.filter((request) => request.path.startsWith('/v1/messages')).length).toBeLessThanOrEqual(2);
  }, 120_000);

  it('Gemini CLI is stopped by a hard token budget between its API calls, on the usage its telemetry file has for each call', async () => {
    const { engine, gemini, work } = await geminiEngine(geminiReadThenHang);
    // The CLI writes its telemetry in batches, at most 5 s after a call.
    const { ended } = await stoppedByHardBudget(engine, { backend: 'gemini', model: 'gemini-2.5-flash', promptTemplate: 'Read notes.txt', workingDirectory: work, permissionMode: 'read-only' });
    // The first call's tokens, as its telemetry record has them (the CLI prints no totals when stopped).
    expect(ended.usage.outputTokens).toBeGreaterThan(0);
    // The second call was made and never answered: the budget, not the end of the run, stopped it.
    const calls = gemini.requests.filter((request) => request.path.includes(':streamGenerateContent'));
    expect(calls).toHaveLength(2);
    expect(functionResponses(calls[1]?.body)).toHaveLength(1);
  }, 120_000);

  it("Gemini CLI's running total is replaced by its result's totals, not added to them (the telemetry file's last records come after the result)", async () => {
    const { engine, work } = await geminiEngine(toolThenText('read_file', { file_path: 'notes.txt' }, 'The note says hello.'));
    const trigger = await engine.createTrigger({ backend: 'gemini', model: 'gemini-2.5-flash', promptTemplate: 'Read notes.txt', workingDirectory: work, permissionMode: 'read-only' });
    const id = await engine.run(trigger);
    const ended = await engine.waitForState(id, ['failed', 'succeeded', 'cancelled', 'timed_out'], 60_000);
    expect(ended.state, ended.reason ?? '').toBe('succeeded');

    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, { authorization: `Bearer ${engine.server.key}` });
    await within(stream.ended, 10_000, 'the stream of a finished execution ending');
    const totals = logLines(stream.events)
      .flatMap((line) => line.events ?? [])
      .filter((event): event is { type: 'usage'; inputTokens: number; outputTokens: number } => event.type === 'usage');
    expect(totals).toHaveLength(1);
    expect(ended.usage).toMatchObject({ inputTokens: totals[0]!.inputTokens, outputTokens: totals[0]!.outputTokens });
  }, 120_000);

  it('Codex is stopped by a hard token budget between its API calls, on the token counts of its session rollout', async () => {
    const { engine, openai, work } = await codexEngine();
    const { ended } = await stoppedByHardBudget(engine, { backend: 'codex', model: 'gpt-stand-in', promptTemplate: 'Read notes.txt', workingDirectory: work, permissionMode: 'read-only' });
    expect(ended.usage.outputTokens).toBeGreaterThan(0);
    const calls = openai.requests.filter((request) => request.path === '/v1/responses');
    expect(calls).toHaveLength(2);
    expect(toolCallOutputs(calls[1]?.body)).toHaveLength(1);
  }, 120_000);

  it("Codex is stopped by a hard dollar budget between its API calls, on the price table's estimate of its running total", async () => {
    const { engine, openai, work } = await codexEngine();
    // Codex reports tokens, never a cost: only the estimate can count against a dollar budget.
    expect((await engine.api('PATCH', '/api/settings', { prices: { codex: { inputPerMTok: 10, outputPerMTok: 40 } } })).status).toBe(200);
    expect((await engine.api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitUsd: 0.000001 })).status).toBe(201);
    const trigger = await engine.createTrigger({ backend: 'codex', model: 'gpt-stand-in', promptTemplate: 'Read notes.txt', workingDirectory: work, permissionMode: 'read-only', timeoutSeconds: 60 });
    const id = await engine.run(trigger);
    const running = await engine.waitForState(id, ['running', 'failed', 'succeeded'], 60_000);
    const ended = await engine.waitForState(id, ['failed', 'succeeded', 'cancelled', 'timed_out'], 30_000);

    expect(ended.state).toBe('failed');
    expect(ended.reason).toMatch(/^stopped: The daily hard budget is used up \(\$\d+\.\d\d of \$0\.00 \(partly estimated\) this day/);
    expect(ended.usage.costEstimated).toBe(true);
    expect(ended.usage.costUsd).toBeCloseTo(((ended.usage.inputTokens ?? 0) * 10 + (ended.usage.outputTokens ?? 0) * 40) / 1e6, 12);
    expect(groupAlive(running.processGroup!)).toBe(false);
    const calls = openai.requests.filter((request) => request.path === '/v1/responses');
    expect(calls).toHaveLength(2);
  }, 120_000);
});

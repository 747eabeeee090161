import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import type { Budget } from '../../common/budgets.js';
import type { Execution } from '../../common/executions.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import type { AnthropicReply } from '../helpers/stand-ins/anthropic.js';
import { startOpenAiStandIn } from '../helpers/stand-ins/openai.js';
import type { RecordedRequest, StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir, listFiles } from '../helpers/temp.js';
import { FIRST_KEY, SECOND_KEY, keyOf } from '../helpers/claude-accounts.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const rateLimited: AnthropicReply = { status: 429 };

async function engineWith(env: Record<string, string>, respond: (recorded: RecordedRequest) => AnthropicReply): Promise<Engine> {
  const engine = await startEngine(env, { respond });
  cleanups.push(() => engine.close());
  return engine;
}

async function addAccount(engine: Engine, fields: Record<string, unknown>): Promise<Account> {
  const created = await engine.api<Account>('POST', '/api/accounts', fields);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body;
}

/** The execution once it is back in the queue after an attempt (waiting out a cool-down). */
function waitingAfterAnAttempt(engine: Engine, id: string): Promise<Execution> {
  return engine.waitForState(id, ['queued', 'failed', 'succeeded'], 30_000).then(async function untilWaiting(execution): Promise<Execution> {
    return execution.state === 'queued' && execution.attempts.length > 0 ? execution : untilWaiting(await engine.execution(id));
  });
}

describe('accounts: rotation and fallback on rate limits (real CLIs against stand-in providers)', () => {
  it('two claude accounts, the first rate-limited: the execution succeeds on the second, both attempts recorded; no key ever shows', async () => {
    const engine = await engineWith({}, (recorded) => (keyOf(recorded) === FIRST_KEY ? rateLimited : { text: 'Done on the second account.' }));
    const first = await addAccount(engine, { backend: 'claude', name: 'team-a', apiKey: FIRST_KEY, priority: 1 });
    const second = await addAccount(engine, { backend: 'claude', name: 'team-b', apiKey: SECOND_KEY, priority: 2 });
    expect(JSON.stringify(first)).not.toContain(FIRST_KEY);
    expect(first).toMatchObject({ hasApiKey: true, coolingDownUntil: null });

    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const id = await engine.run(trigger);
    const done = await engine.waitForState(id, ['succeeded', 'failed']);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    expect(done).toMatchObject({ account: 'team-b', backend: 'claude' });
    expect(done.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([
      ['team-a', 'rate_limited'],
      ['team-b', 'succeeded'],
    ]);
    expect(engine.standIn.requests.filter((recorded) => recorded.path.startsWith('/v1/messages')).map(keyOf)).toEqual([FIRST_KEY, SECOND_KEY]);

    // The stream says so as it happens.
    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, { authorization: `Bearer ${engine.server.key}` });
    await stream.ended;
    expect(logLines(stream.events).map((line) => line.text)).toContain('rate-limited on claude account "team-a"; retrying on claude account "team-b"');
    const accounts = (await engine.api<{ items: Account[] }>('GET', '/api/accounts')).body.items;
    expect(accounts.find((account) => account.id === first.id)!.coolingDownUntil).not.toBeNull();
    expect(accounts.find((account) => account.id === second.id)!.coolingDownUntil).toBeNull();
    const stats = (await engine.api<{ accountId: string | null; requests: number; rateLimits: number }[]>('GET', '/api/accounts/stats')).body;
    expect(stats.find((row) => row.accountId === first.id)).toMatchObject({ requests: 1, rateLimits: 1 });
    expect(stats.find((row) => row.accountId === second.id)).toMatchObject({ requests: 1, rateLimits: 0 });

    // Keys live in the keychain stand-in for this setup (sealed in SQLite), never in logs or the execution.
    const everything = [JSON.stringify(await engine.execution(id)), ...listFiles(engine.server.logDir).map((file) => fs.readFileSync(file, 'utf8'))].join('\n');
    expect(everything).not.toContain(FIRST_KEY);
    expect(everything).not.toContain(SECOND_KEY);
  });

  it('every claude account rate-limited, codex next in the fallback list: the execution succeeds on codex', async () => {
    const openAi: StandIn = await startOpenAiStandIn(() => ({ text: 'Done by codex.' }));
    cleanups.push(() => openAi.close());
    const home = makeTempDir('agented-fallback-');
    cleanups.push(home.remove);
    const codexHome = path.join(home.dir, '.codex');
    fs.mkdirSync(codexHome);
    fs.writeFileSync(
      path.join(codexHome, 'config.toml'),
      ['model_provider = "stand-in"', '[model_providers.stand-in]', 'name = "OpenAI stand-in"', `base_url = "${openAi.url}/v1"`, 'env_key = "STAND_IN_OPENAI_KEY"', 'wire_api = "responses"', 'request_max_retries = 0', 'stream_max_retries = 0', ''].join('\n'),
    );
    const engine = await engineWith({ CODEX_HOME: codexHome, STAND_IN_OPENAI_KEY: 'sk-openai-stand-in-0123' }, () => rateLimited);
    await addAccount(engine, { backend: 'claude', name: 'only', apiKey: FIRST_KEY });

    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello', fallbackBackends: ['codex'], model: 'claude-sonnet-4-5' });
    const id = await engine.run(trigger);
    const done = await engine.waitForState(id, ['succeeded', 'failed'], 60_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    expect(done.backend).toBe('codex');
    expect(done.attempts.map((attempt) => [attempt.backend, attempt.outcome])).toEqual([
      ['claude', 'rate_limited'],
      ['codex', 'succeeded'],
    ]);
    expect(openAi.requests.some((recorded) => recorded.path.startsWith('/v1/responses'))).toBe(true);
  }, 90_000);

  it('nothing usable: the execution waits queued saying why, then starts when the cool-down ends', async () => {
    let limited = true;
    const engine = await engineWith({ AGENTED_RATE_LIMIT_BACKOFF_S: '2' }, () => (limited ? rateLimited : { text: 'Done after the wait.' }));
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const id = await engine.run(trigger);
    const waiting = await waitingAfterAnAttempt(engine, id);
    limited = false;
    expect(waiting.reason).toMatch(/^waiting: nothing is usable — claude \(environment credentials\) is rate-limited until /);
    expect(waiting.attempts).toHaveLength(1);
    const done = await engine.waitForState(id, ['succeeded', 'failed'], 30_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    expect(done.attempts.map((attempt) => attempt.outcome)).toEqual(['rate_limited', 'succeeded']);
    expect(Date.parse(done.attempts[1]!.startedAt) - Date.parse(done.attempts[0]!.endedAt)).toBeGreaterThanOrEqual(1_900);
  }, 60_000);
});

describe('budgets', () => {
  it('a budget already spent: no process is spawned and the reason is shown', async () => {
    const engine = await engineWith({}, () => ({ text: 'Spending tokens.' }));
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const first = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
    expect(first.state).toBe('succeeded');
    const tokens = (first.usage.inputTokens ?? 0) + (first.usage.outputTokens ?? 0);
    expect(tokens).toBeGreaterThan(0);

    const budget = await engine.api<Budget>('POST', '/api/budgets', { scope: 'trigger', scopeId: trigger, period: 'day', limitTokens: tokens });
    expect(budget.status).toBe(201);
    expect(budget.body).toMatchObject({ used: 1, spent: { tokens, executions: 1 } });

    const requestsBefore = engine.standIn.requests.length;
    const second = await engine.waitForState(await engine.run(trigger), ['skipped', 'succeeded', 'failed']);
    expect(second.state).toBe('skipped');
    expect(second.reason).toMatch(/^not started: The trigger trg_\S+'s daily hard budget is used up \(\d+ of \d+ tokens this day/);
    expect(second).toMatchObject({ startedAt: null, processGroup: null, attempts: [] });
    expect(engine.standIn.requests.length).toBe(requestsBefore);

    // Another trigger is not covered by that budget.
    const other = await engine.createTrigger({ promptTemplate: 'Say hello' });
    expect((await engine.waitForState(await engine.run(other), ['succeeded', 'failed', 'skipped'])).state).toBe('succeeded');
    const usage = (await engine.api<{ total: { executions: number }; byTrigger: { key: string; executions: number }[] }>('GET', '/api/usage?period=day')).body;
    expect(usage.total.executions).toBe(2);
    expect(usage.byTrigger.find((row) => row.key === trigger)!.executions).toBe(1);
  });
});

describe('accounts: a waiting execution and a new account', () => {
  it('an execution waiting out a long cool-down starts at once on an account added meanwhile', async () => {
    const engine = await engineWith({ AGENTED_RATE_LIMIT_BACKOFF_S: '600' }, (recorded) => (keyOf(recorded) === SECOND_KEY ? { text: 'Done on the new account.' } : rateLimited));
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const id = await engine.run(trigger);
    const waiting = await waitingAfterAnAttempt(engine, id);
    expect(waiting.reason).toMatch(/^waiting: nothing is usable — claude \(environment credentials\) is rate-limited until /);
    const added = Date.now();
    await addAccount(engine, { backend: 'claude', name: 'second', apiKey: SECOND_KEY });
    const done = await engine.waitForState(id, ['succeeded', 'failed'], 60_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    expect(done.account).toBe('second');
    expect(done.attempts.map((attempt) => attempt.outcome)).toEqual(['rate_limited', 'succeeded']);
    // Started by the account's arrival, not by the cool-down's end ten minutes away.
    expect(Date.parse(done.attempts[1]!.startedAt) - added).toBeLessThan(30_000);
  }, 90_000);
});

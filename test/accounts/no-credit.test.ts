import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import { startCodexEngine, startEngine } from '../helpers/engine.js';
import { INSUFFICIENT_QUOTA, startOpenAiStandIn } from '../helpers/stand-ins/openai.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const NO_CREDIT_KEY = 'sk-openai-no-credit-0123456789';
const PAID_KEY = 'sk-openai-paid-0123456789';

/**
 * An account without credit is set aside for a day, not for a minute's backoff
 * (docs/accounts.md): the real codex CLI against the OpenAI stand-in, which
 * answers `insufficient_quota` to one account's key until credit is bought.
 */
describe('a codex account without credit (OpenAI insufficient_quota)', () => {
  it('is set aside for a day and the execution moves to the next account; switching the account off and on tries it again', async () => {
    let credit = false;
    const { engine, openAi, addAccount: add } = await startCodexEngine(
      (recorded) => (recorded.headers.authorization === `Bearer ${NO_CREDIT_KEY}` && !credit ? { status: 429, body: INSUFFICIENT_QUOTA } : { text: 'Done by codex.' }),
      (step) => cleanups.push(step),
    );
    const noCredit = await add('no-credit', NO_CREDIT_KEY, 1);
    await add('paid', PAID_KEY, 2);
    const trigger = await engine.createTrigger({ backend: 'codex', model: 'gpt-stand-in', promptTemplate: 'Say hello' });

    const before = Date.now();
    const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    expect(done.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([
      ['no-credit', 'rate_limited'],
      ['paid', 'succeeded'],
    ]);
    expect(done.attempts[0]!.reason).toMatch(/^Quota exceeded\. Check your plan and billing details\./);
    const account = async () => (await engine.api<{ items: Account[] }>('GET', '/api/accounts')).body.items.find((item) => item.id === noCredit.id)!;
    const until = Date.parse((await account()).coolingDownUntil ?? '');
    expect(until).toBeGreaterThanOrEqual(before + 24 * 3_600_000);
    expect((await account()).coolingDownReason).toBe('no_credit');

    // Passed over: the next execution goes straight to the paid account.
    const next = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(next.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([['paid', 'succeeded']]);

    // Credit bought: switched off and on again, the account is tried at once.
    credit = true;
    expect((await engine.api('PATCH', `/api/accounts/${noCredit.id}`, { enabled: false })).status).toBe(200);
    const enabled = await engine.api<Account>('PATCH', `/api/accounts/${noCredit.id}`, { enabled: true });
    expect(enabled.body).toMatchObject({ coolingDownUntil: null, coolingDownReason: null });
    const after = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(after.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([['no-credit', 'succeeded']]);
    expect(openAi.requests.map((recorded) => recorded.headers.authorization)).toEqual([`Bearer ${NO_CREDIT_KEY}`, `Bearer ${PAID_KEY}`, `Bearer ${PAID_KEY}`, `Bearer ${NO_CREDIT_KEY}`]);
  }, 120_000);
});

/** What codex's ChatGPT backend answers a plan that does not include Codex (codex-rs maps it to "To use Codex with your ChatGPT plan, upgrade to Plus…"). */
const USAGE_NOT_INCLUDED = { error: { type: 'usage_not_included' } };

describe('a codex account whose ChatGPT plan does not include Codex (usage_not_included)', () => {
  it('is set aside for a day like one without credit, the next account runs; with none left the execution waits, saying the account has no credit', async () => {
    const PLAN_KEY = 'sk-openai-free-plan-0123456789';
    const { engine, addAccount: add } = await startCodexEngine(
      (recorded) => (recorded.headers.authorization === `Bearer ${PLAN_KEY}` ? { status: 429, body: USAGE_NOT_INCLUDED } : { text: 'Done by codex.' }),
      (step) => cleanups.push(step),
    );
    const free = await add('free-plan', PLAN_KEY, 1);
    const paid = await add('paid', PAID_KEY, 2);
    const trigger = await engine.createTrigger({ backend: 'codex', model: 'gpt-stand-in', promptTemplate: 'Say hello' });

    const before = Date.now();
    const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(done.attempts.map((attempt) => [attempt.accountName, attempt.outcome]), done.reason ?? '').toEqual([
      ['free-plan', 'rate_limited'],
      ['paid', 'succeeded'],
    ]);
    expect(done.attempts[0]!.reason).toMatch(/^To use Codex with your ChatGPT plan, upgrade to Plus/);
    const listed = (await engine.api<{ items: Account[] }>('GET', '/api/accounts')).body.items.find((item) => item.id === free.id)!;
    expect(Date.parse(listed.coolingDownUntil ?? '')).toBeGreaterThanOrEqual(before + 24 * 3_600_000);
    expect(listed.coolingDownReason).toBe('no_credit');

    // Nothing else left: the execution waits, and says why in words that fit.
    expect((await engine.api('PATCH', `/api/accounts/${paid.id}`, { enabled: false })).status).toBe(200);
    const waiting = await engine.run(trigger);
    await expect.poll(async () => (await engine.execution(waiting)).reason, { timeout: 30_000 }).toMatch(/^waiting: nothing is usable — codex account "free-plan" has no credit \(set aside until .+\)$/);
    expect((await engine.api('POST', `/api/executions/${waiting}/cancel`)).status).toBe(200);
  }, 120_000);
});

/**
 * OpenCode on OpenAI: the account's folder holds what `opencode auth login` keeps for an OpenAI key, and the project's
 * opencode.json points the openai provider at the stand-in (https://opencode.ai/docs/providers/). opencode retries a 429
 * five times, waiting what retry-after says: 0 keeps the test short.
 */
describe('an opencode account on OpenAI without credit (insufficient_quota)', () => {
  it('is set aside for a day, as a codex account is, and the execution moves to the next account', async () => {
    const openAi = await startOpenAiStandIn((recorded) =>
      recorded.headers.authorization === `Bearer ${NO_CREDIT_KEY}` ? { status: 429, body: INSUFFICIENT_QUOTA, headers: { 'retry-after': '0' } } : { text: 'Done by opencode.' },
    );
    cleanups.push(() => openAi.close());
    const home = makeTempDir('agented-opencode-no-credit-');
    cleanups.push(home.remove);
    const folderWithKey = (name: string, key: string) => {
      const dir = path.join(home.dir, name);
      fs.mkdirSync(path.join(dir, 'opencode'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'opencode', 'auth.json'), JSON.stringify({ openai: { type: 'api', key } }));
      return dir;
    };
    const work = path.join(home.dir, 'work');
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'opencode.json'), JSON.stringify({ $schema: 'https://opencode.ai/config.json', provider: { openai: { options: { baseURL: `${openAi.url}/v1` } } } }));
    const engine = await startEngine({
      HOME: home.dir,
      XDG_CONFIG_HOME: path.join(home.dir, '.config'),
      XDG_CACHE_HOME: path.join(home.dir, '.cache'),
      XDG_STATE_HOME: path.join(home.dir, '.local/state'),
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      npm_config_offline: 'true',
    });
    cleanups.push(() => engine.close());
    const add = async (name: string, key: string, priority: number) =>
      (await engine.api<Account>('POST', '/api/accounts', { backend: 'opencode', name, configDir: folderWithKey(name, key), priority })).body;
    const noCredit = await add('no-credit', NO_CREDIT_KEY, 1);
    await add('paid', PAID_KEY, 2);
    const trigger = await engine.createTrigger({ backend: 'opencode', model: 'openai/gpt-4.1', promptTemplate: 'Say hello', workingDirectory: work, permissionMode: 'read-only' });

    const before = Date.now();
    const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 90_000);
    expect(done.attempts.map((attempt) => [attempt.accountName, attempt.outcome]), done.reason ?? '').toEqual([
      ['no-credit', 'rate_limited'],
      ['paid', 'succeeded'],
    ]);
    expect(done.attempts[0]!.reason).toMatch(/^Quota exceeded\. Check your plan and billing details\./);
    const listed = (await engine.api<{ items: Account[] }>('GET', '/api/accounts')).body.items.find((item) => item.id === noCredit.id)!;
    expect(Date.parse(listed.coolingDownUntil ?? '')).toBeGreaterThanOrEqual(before + 24 * 3_600_000);
    expect(listed.coolingDownReason).toBe('no_credit');
  }, 150_000);
});

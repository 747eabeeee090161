import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import { startEngine } from '../helpers/engine.js';
import { startOpenAiStandIn, writeCodexConfig } from '../helpers/stand-ins/openai.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const NO_CREDIT_KEY = 'sk-openai-no-credit-0123456789';
const PAID_KEY = 'sk-openai-paid-0123456789';

/** OpenAI's answer to a key whose organisation has no credit left (https://platform.openai.com/docs/guides/error-codes: 429 "You exceeded your current quota"). */
const INSUFFICIENT_QUOTA = {
  error: {
    message: 'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
    type: 'insufficient_quota',
    param: null,
    code: 'insufficient_quota',
  },
};

/**
 * An account without credit is set aside for a day, not for a minute's backoff
 * (docs/accounts.md): the real codex CLI against the OpenAI stand-in, which
 * answers `insufficient_quota` to one account's key until credit is bought.
 */
describe('a codex account without credit (OpenAI insufficient_quota)', () => {
  it('is set aside for a day and the execution moves to the next account; switching the account off and on tries it again', async () => {
    let credit = false;
    const openAi = await startOpenAiStandIn((recorded) =>
      recorded.headers.authorization === `Bearer ${NO_CREDIT_KEY}` && !credit ? { status: 429, body: INSUFFICIENT_QUOTA } : { text: 'Done by codex.' },
    );
    cleanups.push(() => openAi.close());
    const home = makeTempDir('agented-no-credit-');
    cleanups.push(home.remove);
    const codexHome = path.join(home.dir, '.codex');
    fs.mkdirSync(codexHome);
    // The provider reads its key from OPENAI_API_KEY, where each account's key goes.
    writeCodexConfig(codexHome, openAi, 'OPENAI_API_KEY');
    const engine = await startEngine({ CODEX_HOME: codexHome });
    cleanups.push(() => engine.close());
    const add = async (name: string, apiKey: string, priority: number) => {
      const created = await engine.api<Account>('POST', '/api/accounts', { backend: 'codex', name, apiKey, priority });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return created.body;
    };
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

    // Passed over: the next execution goes straight to the paid account.
    const next = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(next.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([['paid', 'succeeded']]);

    // Credit bought: switched off and on again, the account is tried at once.
    credit = true;
    expect((await engine.api('PATCH', `/api/accounts/${noCredit.id}`, { enabled: false })).status).toBe(200);
    const enabled = await engine.api<Account>('PATCH', `/api/accounts/${noCredit.id}`, { enabled: true });
    expect(enabled.body.coolingDownUntil).toBeNull();
    const after = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 60_000);
    expect(after.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([['no-credit', 'succeeded']]);
    expect(openAi.requests.map((recorded) => recorded.headers.authorization)).toEqual([`Bearer ${NO_CREDIT_KEY}`, `Bearer ${PAID_KEY}`, `Bearer ${PAID_KEY}`, `Bearer ${NO_CREDIT_KEY}`]);
  }, 120_000);
});

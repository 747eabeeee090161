// @vitest-environment happy-dom
import { afterAll, describe, expect, it } from 'vitest';
import { startCodexEngine } from '../helpers/engine.js';
import { INSUFFICIENT_QUOTA } from '../helpers/stand-ins/openai.js';
import { mountApp, type MountedApp } from './mount-app.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const NO_CREDIT_KEY = 'sk-openai-no-credit-0123456789';
const LIMITED_KEY = 'sk-openai-rate-limited-0123456789';

/**
 * The Accounts page says why an account is set aside: the real codex CLI
 * against the OpenAI stand-in, one account without credit, one rate-limited.
 */
describe('the accounts page, an account cooling down', () => {
  it('says "no credit" for an account without credit, and "cooling down" for a rate-limited one', { timeout: 90_000 }, async () => {
    const { engine, addAccount: add } = await startCodexEngine(
      (recorded) => (recorded.headers.authorization === `Bearer ${NO_CREDIT_KEY}` ? { status: 429, body: INSUFFICIENT_QUOTA } : { status: 429 }),
      (step) => cleanups.push(step),
    );
    await add('no-credit', NO_CREDIT_KEY, 1);
    await add('limited', LIMITED_KEY, 2);
    const trigger = await engine.createTrigger({ backend: 'codex', model: 'gpt-stand-in', promptTemplate: 'Say hello', onRateLimit: 'fail' });
    const done = await engine.waitForState(await engine.run(trigger), ['failed'], 60_000);
    expect(done.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([
      ['no-credit', 'rate_limited'],
      ['limited', 'rate_limited'],
    ]);

    const app: MountedApp = await mountApp(engine.server, '/accounts');
    cleanups.push(() => app.close());
    const cooldown = (name: string) => app.wrapper.get(`[data-testid="account-row-${name}"] [data-testid="account-cooldown"]`).text();
    await app.until(() => cooldown('no-credit') !== '');
    expect(cooldown('no-credit')).toMatch(/^no credit: set aside until .+ \(24 h\); once paid, switch it off and on$/);
    expect(cooldown('limited')).toMatch(/^cooling down until .+ \(1 min\)$/);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import { startEngine } from '../helpers/engine.js';
import { waitFor } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * An account rate-limited on its key, given another key: the cool-down was
 * the old key's, so the account is usable at once, and an execution waiting
 * for it runs now instead of at the old key's reset time. (The real claude
 * CLI against the Anthropic stand-in, which answers 429 to the first key.)
 */
describe("an account's cool-down when its key changes", () => {
  it('a new key ends the cool-down: the account is usable, and the waiting execution runs on the new key at once', async () => {
    const engine = await startEngine({}, { respond: (recorded) => (recorded.headers['x-api-key'] === 'sk-ant-first-key-0123456789' ? { status: 429 } : { text: 'Done on the new key.' }) });
    cleanups.push(() => engine.close());
    const created = await engine.api<Account>('POST', '/api/accounts', { backend: 'claude', name: 'work', apiKey: 'sk-ant-first-key-0123456789' });
    expect(created.status).toBe(201);

    // Rate-limited (60 s backoff without a reset time): it waits queued.
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const id = await engine.run(trigger);
    const waiting = await waitFor(
      'the execution requeued',
      async () => {
        const current = await engine.execution(id);
        return current.state === 'queued' && current.attempts.length > 0 ? current : undefined;
      },
      30_000,
    );
    expect(waiting.reason).toMatch(/^waiting: nothing is usable — claude account "work" is rate-limited until /);
    expect((await engine.api<{ items: Account[] }>('GET', '/api/accounts')).body.items[0]!.coolingDownUntil).not.toBeNull();

    const patched = await engine.api<Account>('PATCH', `/api/accounts/${created.body.id}`, { apiKey: 'sk-ant-second-key-0123456789' });
    expect(patched.status).toBe(200);
    expect(patched.body.coolingDownUntil).toBeNull();
    const done = await engine.waitForState(id, ['succeeded', 'failed'], 15_000);
    expect(done.state).toBe('succeeded');
    expect(done.attempts.map((attempt) => attempt.outcome)).toEqual(['rate_limited', 'succeeded']);
  }, 90_000);
});

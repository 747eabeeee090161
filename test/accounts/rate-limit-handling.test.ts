import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Account, AccountStats } from '../../common/accounts.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import type { AnthropicReply } from '../helpers/stand-ins/anthropic.js';
import type { RecordedRequest } from '../helpers/stand-ins/server.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';
import { messagesOf } from '../helpers/claude-accounts.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function engineWith(env: Record<string, string>, respond: (recorded: RecordedRequest, index: number) => AnthropicReply): Promise<Engine> {
  let index = 0;
  const engine = await startEngine(env, { respond: (recorded) => respond(recorded, index++) });
  cleanups.push(() => engine.close());
  return engine;
}

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

describe('rate limits (the real claude CLI against the Anthropic stand-in)', () => {
  it('onRateLimit "fail": rate-limited with nothing else usable, the execution fails at once saying why; the next one is not started', async () => {
    // Without AGENTED_RATE_LIMIT_BACKOFF_S the cool-down is 60 s: an execution that waited would still be queued.
    const engine = await engineWith({}, () => ({ status: 429 }));
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello', onRateLimit: 'fail' });
    const id = await engine.run(trigger);
    const failed = await engine.waitForState(id, ['failed', 'succeeded', 'skipped'], 30_000);
    expect(failed.state).toBe('failed');
    expect(failed.reason).toMatch(
      new RegExp(`^rate-limited on claude \\(environment credentials\\), and nothing is usable — claude \\(environment credentials\\) is rate-limited until ${ISO} \\(the trigger fails rather than waits\\)$`),
    );
    expect(failed.attempts.map((attempt) => attempt.outcome)).toEqual(['rate_limited']);
    expect(messagesOf(engine)).toHaveLength(1);

    // Still cooling down: the next execution is skipped before any process starts.
    const next = await engine.waitForState(await engine.run(trigger), ['skipped', 'failed', 'succeeded', 'queued'], 30_000);
    expect(next.state).toBe('skipped');
    expect(next.reason).toMatch(new RegExp(`^not started: nothing is usable — claude \\(environment credentials\\) is rate-limited until ${ISO} \\(the trigger fails rather than waits\\)$`));
    expect(next).toMatchObject({ startedAt: null, processGroup: null, attempts: [] });
    expect(messagesOf(engine)).toHaveLength(1);

    // A trigger that waits (the default) is held queued instead, saying so.
    const patient = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const held = await engine.waitForState(await engine.run(patient), ['queued', 'skipped', 'failed'], 30_000);
    expect(held.state).toBe('queued');
    expect(held.reason).toMatch(/^waiting: nothing is usable — claude \(environment credentials\) is rate-limited until /);
  }, 60_000);

  it('an execution waiting out a rate limit after it ran, then cancelled, ends its log with a closing line before the status', async () => {
    const engine = await engineWith({}, () => ({ status: 429 }));
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const id = await engine.run(trigger);
    for (let waited = 0; (await engine.execution(id)).attempts.length === 0; waited += 50) {
      if (waited > 30_000) throw new Error('the execution never ran');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const waiting = await engine.waitForState(id, ['queued'], 30_000);
    expect(waiting.reason).toMatch(/^waiting: /);
    expect((await engine.api('POST', `/api/executions/${id}/cancel`)).status).toBe(200);
    const stream = openEventStream(engine.server.url, `/api/executions/${id}/stream`, { authorization: `Bearer ${engine.server.key}` });
    await stream.ended;
    const lines = logLines(stream.events);
    expect(lines.at(-1)).toMatchObject({ stream: 'system', text: 'cancelled: cancelled through the API (key)' });
    expect(stream.events.at(-1)).toMatchObject({ event: 'status' });
    expect(JSON.parse(stream.events.at(-1)!.data)).toMatchObject({ state: 'cancelled' });
  }, 60_000);

  it("the reset time Claude Code reports (Anthropic's unified rate-limit headers) becomes the account's cool-down end", async () => {
    const resetsAt = Math.floor(Date.now() / 1000) + 2 * 3600;
    const resetIso = new Date(resetsAt * 1000).toISOString();
    const headers = { 'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-reset': String(resetsAt), 'anthropic-ratelimit-unified-representative-claim': 'five_hour' };
    // Subscription logins (Claude Code reads these headers only for one): each account its own folder, with what `claude /login` writes there.
    const engine = await engineWith({ ANTHROPIC_API_KEY: '' }, (_recorded, index) => (index === 0 ? { status: 429, headers } : { text: 'Done on the second login.' }));
    const folders = makeTempDir('agented-claude-logins-');
    cleanups.push(folders.remove);
    const accounts: Account[] = [];
    for (const [name, priority] of [['five-hour', 1], ['spare', 2]] as const) {
      const folder = path.join(folders.dir, name);
      fs.mkdirSync(folder);
      const login = { claudeAiOauth: { accessToken: `sk-ant-oat01-${name}`, refreshToken: `sk-ant-ort01-${name}`, expiresAt: Date.now() + 3_600_000, scopes: ['user:inference', 'user:profile'], subscriptionType: 'max' } };
      fs.writeFileSync(path.join(folder, '.credentials.json'), JSON.stringify(login));
      const created = await engine.api<Account>('POST', '/api/accounts', { backend: 'claude', name, configDir: folder, priority });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      accounts.push(created.body);
    }
    const [limited, spare] = accounts as [Account, Account];

    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 30_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    expect(done.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([
      ['five-hour', 'rate_limited'],
      ['spare', 'succeeded'],
    ]);
    // Each attempt on its account's own login.
    expect(messagesOf(engine).map((recorded) => recorded.headers.authorization)).toEqual(['Bearer sk-ant-oat01-five-hour', 'Bearer sk-ant-oat01-spare']);

    // The reset time, not the 60 s backoff.
    const stats = (await engine.api<AccountStats[]>('GET', '/api/accounts/stats')).body;
    expect(stats.find((row) => row.accountId === limited.id)).toMatchObject({ requests: 1, rateLimits: 1, coolingDownUntil: resetIso });
    expect(stats.find((row) => row.accountId === limited.id)!.lastRateLimitAt).not.toBeNull();
    expect(stats.find((row) => row.accountId === spare.id)).toMatchObject({ requests: 1, rateLimits: 0, coolingDownUntil: null });
    const listed = (await engine.api<{ items: Account[] }>('GET', '/api/accounts')).body.items;
    expect(listed.find((account) => account.id === limited.id)).toMatchObject({ coolingDownUntil: resetIso, coolingDownReason: 'rate_limit' });

    // Until then it is passed over: the next execution goes straight to the spare login.
    const next = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 30_000);
    expect(next.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([['spare', 'succeeded']]);
  }, 60_000);
});

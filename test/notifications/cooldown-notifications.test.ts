import { afterAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import type { Execution } from '../../common/executions.js';
import type { NotificationSettings } from '../../common/notifications.js';
import { startEngine, type Engine } from '../helpers/engine.js';
import { workerLogRecords } from '../helpers/in-process.js';
import { SLACK_HOOK_PATH, startReceiver, startSlackStandIn } from '../helpers/stand-ins/notification-receivers.js';
import type { AnthropicReply } from '../helpers/stand-ins/anthropic.js';
import type { RecordedRequest } from '../helpers/stand-ins/server.js';
import { sleep, untilTrue, within } from '../helpers/time.js';
import { messagesOf } from '../helpers/claude-accounts.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function engineWith(env: Record<string, string>, respond: (recorded: RecordedRequest) => AnthropicReply): Promise<Engine> {
  const engine = await startEngine(env, { respond });
  cleanups.push(() => engine.close());
  return engine;
}

/** Queued again after `attempts` tries: the execution waits for a cool-down. */
async function waitingAfter(engine: Engine, id: string, attempts: number): Promise<Execution> {
  return within(
    (async () => {
      for (;;) {
        const execution = await engine.execution(id);
        if (execution.state !== 'queued' && execution.state !== 'running') throw new Error(`the execution ended ${execution.state}: ${execution.reason}`);
        if (execution.state === 'queued' && execution.attempts.length >= attempts) return execution;
        await sleep(50);
      }
    })(),
    30_000,
    `the execution waiting after ${attempts} attempts`,
  );
}

describe('cool-down notifications (the real claude CLI against the Anthropic stand-in, Slack stand-in)', () => {
  it('every claude account rate-limited: one Slack message says so, not another for the next rate limit of the same episode; a new episode says it again', async () => {
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    let limited = true;
    const engine = await engineWith({ AGENTED_RATE_LIMIT_BACKOFF_S: '1' }, () => (limited ? { status: 429 } : { text: 'Through at last.' }));
    expect((await engine.api('PUT', '/api/notifications', { slackUrl: slack.hookUrl })).status).toBe(200);
    for (const [name, priority] of [['team-a', 1], ['team-b', 2]] as const) {
      expect((await engine.api<Account>('POST', '/api/accounts', { backend: 'claude', name, apiKey: `sk-ant-${name}-0123456789`, priority })).status).toBe(201);
    }

    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const id = await engine.run(trigger);
    // Both accounts tried and rate-limited: every claude account is cooling down.
    await waitingAfter(engine, id, 2);
    await untilTrue(() => slack.texts().length === 1, 'the cool-down message');
    // The cool-downs (1 s) end; both are tried again and rate-limited again: the same episode, nothing new to say.
    await waitingAfter(engine, id, 4);
    await sleep(1_000);
    expect(slack.texts()).toHaveLength(1);

    const [text] = slack.texts();
    expect(text).toMatch(/^\*Every claude account is rate-limited\*\nThe earliest is usable again at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\. Executions move to the fallback backends, or wait\.$/);
    // Slack's documented request: a JSON POST with only `text`, to the hook's path.
    expect(slack.requests.map((received) => [received.method, received.path, received.headers['content-type']])).toEqual([['POST', SLACK_HOOK_PATH, 'application/json']]);
    expect(Object.keys(JSON.parse(slack.requests[0]!.rawBody) as object)).toEqual(['text']);

    limited = false;
    const done = await engine.waitForState(id, ['succeeded', 'failed'], 30_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    const tries = done.attempts.map((attempt) => [attempt.accountName, attempt.outcome]);
    expect(tries.slice(0, 4)).toEqual([
      ['team-a', 'rate_limited'],
      ['team-b', 'rate_limited'],
      ['team-a', 'rate_limited'],
      ['team-b', 'rate_limited'],
    ]);
    expect(tries.at(-1)).toEqual([expect.any(String), 'succeeded']);
    expect(tries.slice(0, -1).every(([, outcome]) => outcome === 'rate_limited')).toBe(true);

    // An account got through: the episode is over, and the next time all of them cool down is said again.
    limited = true;
    const next = await engine.run(trigger);
    await waitingAfter(engine, next, 2);
    await untilTrue(() => slack.texts().length === 2, 'the second episode’s message');
    expect(slack.texts()[1]).toMatch(/^\*Every claude account is rate-limited\*\n/);
    const cooldowns = (await engine.api<NotificationSettings>('GET', '/api/notifications')).body.recent.filter((entry) => entry.kind === 'cooldown');
    expect(cooldowns.map((entry) => [entry.channel, entry.status])).toEqual([
      ['slack', 'delivered'],
      ['slack', 'delivered'],
    ]);
    expect((await engine.api('POST', `/api/executions/${next}/cancel`)).status).toBeLessThan(300);
  }, 120_000);

  it('one of two claude accounts rate-limited: the execution moves on, and nothing is said', async () => {
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const engine = await engineWith({}, (recorded) => (recorded.headers['x-api-key'] === 'sk-ant-team-a-0123456789' ? { status: 429 } : { text: 'Done on team-b.' }));
    expect((await engine.api('PUT', '/api/notifications', { slackUrl: slack.hookUrl })).status).toBe(200);
    for (const [name, priority] of [['team-a', 1], ['team-b', 2]] as const) {
      expect((await engine.api<Account>('POST', '/api/accounts', { backend: 'claude', name, apiKey: `sk-ant-${name}-0123456789`, priority })).status).toBe(201);
    }
    const done = await engine.waitForState(await engine.run(await engine.createTrigger({ promptTemplate: 'Say hello' })), ['succeeded', 'failed']);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    expect(done.attempts.map((attempt) => [attempt.accountName, attempt.outcome])).toEqual([
      ['team-a', 'rate_limited'],
      ['team-b', 'succeeded'],
    ]);
    await sleep(1_000);
    expect(slack.requests).toEqual([]);
    expect((await engine.api<NotificationSettings>('GET', '/api/notifications')).body.recent).toEqual([]);
  }, 60_000);

  it('Slack unreachable (a closed port): the execution still succeeds at once, and the notification stays pending, retried, with the connection error logged', async () => {
    const closed = await startReceiver(() => ({ status: 200 }));
    const slackUrl = `${closed.url}${SLACK_HOOK_PATH}`;
    await closed.close();
    const engine = await engineWith({}, () => ({ text: 'Done.' }));
    expect((await engine.api('PUT', '/api/notifications', { slackUrl })).status).toBe(200);
    // A soft budget of one token: any run crosses 80 % and 100 % at once, two notifications.
    expect((await engine.api('POST', '/api/budgets', { scope: 'global', period: 'day', limitTokens: 1, hard: false })).status).toBe(201);

    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed'], 30_000);
    expect(done.state, done.reason ?? '').toBe('succeeded');
    expect(messagesOf(engine)).toHaveLength(1);
    // On time: well within the sender's 10 s answer timeout, so nothing of the execution waited on a delivery.
    expect(Date.parse(done.endedAt!) - Date.parse(done.startedAt!)).toBeLessThan(10_000);

    // Retried (the first retry is due 1 s after the first failure), never delivered, never given up.
    const recent = async () => (await engine.api<NotificationSettings>('GET', '/api/notifications')).body.recent;
    await untilTrue(async () => (await recent()).length === 2 && (await recent()).every((entry) => entry.attempts >= 2), 'two attempts of each notification');
    for (const entry of await recent()) {
      expect(entry).toMatchObject({ channel: 'slack', kind: 'budget', status: 'pending', lastError: 'network error: ECONNREFUSED' });
      expect(entry.nextAttemptAt).not.toBeNull();
    }
    // The first attempts failed after the execution had ended: it never waited for them.
    const failures = workerLogRecords(engine.server).filter((line) => line.msg === 'notification delivery failed; will retry');
    expect(failures.length).toBeGreaterThanOrEqual(4);
    for (const line of failures) expect(line).toMatchObject({ level: 'warn', channel: 'slack', reason: 'network error: ECONNREFUSED' });
    expect(workerLogRecords(engine.server).some((line) => line.msg === 'execution ended' && line.state === 'succeeded')).toBe(true);
    expect(JSON.stringify(failures)).not.toContain(SLACK_HOOK_PATH);
  }, 90_000);
});

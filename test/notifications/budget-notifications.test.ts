import { afterAll, describe, expect, it } from 'vitest';
import type { Budget } from '../../common/budgets.js';
import type { NotificationSettings } from '../../common/notifications.js';
import { startEngine } from '../helpers/engine.js';
import { startSlackStandIn } from '../helpers/stand-ins/notification-receivers.js';
import { sleep, untilTrue } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('budget notifications (the real claude CLI against the Anthropic stand-in, Slack stand-in)', () => {
  it('a budget crossing 80 % and then 100 % sends one Slack message each, not one per execution', async () => {
    const slack = await startSlackStandIn();
    cleanups.push(() => slack.close());
    const engine = await startEngine();
    cleanups.push(() => engine.close());
    expect((await engine.api('PUT', '/api/notifications', { slackUrl: slack.hookUrl })).status).toBe(200);

    // A first run, before any budget, says how many tokens one run of this trigger uses.
    const trigger = await engine.createTrigger({ promptTemplate: 'Say hello' });
    const first = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed']);
    expect(first.state, first.reason ?? '').toBe('succeeded');
    const tokens = (first.usage.inputTokens ?? 0) + (first.usage.outputTokens ?? 0);
    expect(tokens).toBeGreaterThan(0);

    // 2.4 runs' worth: the second run takes it past 80 % (~83 %), the third past 100 % (~125 %).
    const created = await engine.api<Budget>('POST', '/api/budgets', { scope: 'trigger', scopeId: trigger, period: 'day', limitTokens: Math.round(tokens * 2.4), hard: false });
    expect(created.status).toBe(201);
    expect(created.body.used).toBeLessThan(0.8);
    const used = async () => (await engine.api<{ items: Budget[] }>('GET', '/api/budgets')).body;

    const runOnce = async () => {
      const done = await engine.waitForState(await engine.run(trigger), ['succeeded', 'failed', 'skipped']);
      expect(done.state, done.reason ?? '').toBe('succeeded');
      return done;
    };

    await runOnce();
    expect((await used()).items[0]!.used).toBeGreaterThanOrEqual(0.8);
    expect((await used()).items[0]!.used).toBeLessThan(1);
    await untilTrue(() => slack.texts().length === 1, 'the 80 % message', 15_000);

    await runOnce();
    expect((await used()).items[0]!.used).toBeGreaterThanOrEqual(1);
    await untilTrue(() => slack.texts().length === 2, 'the 100 % message', 15_000);

    // Over budget already: a soft budget lets it run, and there is nothing new to say.
    await runOnce();
    await sleep(1_500);

    const texts = slack.texts();
    expect(texts).toHaveLength(2);
    expect(texts[0]).toMatch(new RegExp(`^\\*The trigger ${trigger}'s daily soft budget at 80%\\*\\n\\d+ of \\d+ tokens this day\\.$`));
    expect(texts[1]).toMatch(new RegExp(`^\\*The trigger ${trigger}'s daily soft budget at 100%\\*\\n\\d+ of \\d+ tokens this day\\.$`));
    // Slack's documented request: a JSON POST with `text`, to the hook's own path.
    for (const request of slack.requests) {
      expect(request.method).toBe('POST');
      expect(request.headers['content-type']).toBe('application/json');
      expect(Object.keys(JSON.parse(request.rawBody) as object)).toEqual(['text']);
    }

    const outbox = (await engine.api<NotificationSettings>('GET', '/api/notifications')).body.recent;
    expect(outbox.filter((entry) => entry.kind === 'budget').map((entry) => [entry.channel, entry.status, entry.attempts])).toEqual([
      ['slack', 'delivered', 1],
      ['slack', 'delivered', 1],
    ]);
  }, 120_000);
});

import { afterEach, describe, expect, it } from 'vitest';
import { startEngine } from '../helpers/engine.js';
import { sleep } from '../helpers/time.js';

describe('execution queue: waking when a cool-down ends (the real claude CLI against the Anthropic stand-in)', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('a cool-down further away than a timer can wait (2^31 − 1 ms, about 24.8 days) leaves the queue idle until then', async () => {
    // A weekly limit reset 30 days ahead, as Anthropic's unified rate-limit headers can say (Claude Code reads them for a subscription's login).
    const resetsAt = Math.floor(Date.now() / 1000) + 30 * 86_400;
    const headers = { 'anthropic-ratelimit-unified-status': 'rejected', 'anthropic-ratelimit-unified-reset': String(resetsAt), 'anthropic-ratelimit-unified-representative-claim': 'seven_day' };
    const engine = await startEngine({ ANTHROPIC_API_KEY: '', CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-stand-in-0123456789' }, { respond: () => ({ status: 429, headers }) });
    cleanups.push(() => engine.close());
    // Node fires a longer timer after 1 ms, saying so with a TimeoutOverflowWarning (https://nodejs.org/api/timers.html#settimeoutcallback-delay-args).
    let overflows = 0;
    const onWarning = (warning: Error) => {
      if (warning.name === 'TimeoutOverflowWarning') overflows += 1;
    };
    process.on('warning', onWarning);
    cleanups.push(() => process.off('warning', onWarning));

    const id = await engine.run(await engine.createTrigger({ promptTemplate: 'Say hello' }));
    let waiting = await engine.execution(id);
    for (const deadline = Date.now() + 30_000; waiting.attempts.length === 0 && Date.now() < deadline; waiting = await engine.execution(id)) await sleep(100);
    expect(waiting).toMatchObject({ state: 'queued', attempts: [{ outcome: 'rate_limited' }] });
    expect(waiting.reason).toContain(`is rate-limited until ${new Date(resetsAt * 1000).toISOString()}`);
    const requests = engine.standIn.requests.length;

    await sleep(1_500);
    expect(overflows).toBe(0);
    expect(await engine.execution(id)).toMatchObject({ state: 'queued', reason: waiting.reason });
    expect(engine.standIn.requests).toHaveLength(requests);
  }, 60_000);
});

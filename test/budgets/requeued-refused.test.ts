import { afterAll, describe, expect, it } from 'vitest';
import type { Budget } from '../../common/budgets.js';
import type { Execution } from '../../common/executions.js';
import { startEngine } from '../helpers/engine.js';
import type { RecordedRequest } from '../helpers/stand-ins/server.js';
import { sleep } from '../helpers/time.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Claude Code calls its Read tool, then the API call that carries the tool's result is rate-limited (429). */
function readThenRateLimited(recorded: RecordedRequest) {
  const conversation = JSON.stringify((recorded.body as { messages?: unknown } | null)?.messages ?? []);
  return conversation.includes('tool_result') ? { status: 429 } : { toolUse: { name: 'Read', input: { file_path: '/etc/hostname' } } };
}

/**
 * An execution that ran, was rate-limited and went back to the queue to
 * wait, and is then refused by a hard budget when it could run again. It
 * did start: it is not `skipped` (which says an execution never started)
 * and its reason does not say "not started"; it ends `failed`, as a running
 * execution stopped by the budget does, and says it was stopped while waiting.
 */
describe('a requeued execution refused by a hard budget (the real claude CLI against the Anthropic stand-in)', () => {
  it('ends failed, "stopped while waiting: …", with its attempt kept — not skipped as "not started"', async () => {
    const engine = await startEngine({ AGENTED_RATE_LIMIT_BACKOFF_S: '2' }, { respond: readThenRateLimited });
    cleanups.push(() => engine.close());
    const trigger = await engine.createTrigger({ promptTemplate: 'Read /etc/hostname' });
    const id = await engine.run(trigger);
    let waiting: Execution | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
      const current = await engine.execution(id);
      if (current.state === 'queued' && current.attempts.length > 0) {
        waiting = current;
        break;
      }
      expect(['queued', 'running']).toContain(current.state);
    }
    expect(waiting?.reason).toMatch(/^waiting: /);
    expect((await engine.api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitTokens: 1, hard: true })).status).toBe(201);

    // The cool-down ends within 2 s; the queue then finds the budget used up.
    const ended = await engine.waitForState(id, ['failed', 'skipped', 'succeeded', 'running'], 30_000);
    expect({ state: ended.state, reason: ended.reason }).toEqual({ state: 'failed', reason: expect.stringMatching(/^stopped while waiting: The daily hard budget is used up \(/) as unknown });
    expect(ended.attempts.map((attempt) => attempt.outcome)).toEqual(['rate_limited']);
    expect(ended.endedAt).not.toBeNull();
  }, 120_000);
});

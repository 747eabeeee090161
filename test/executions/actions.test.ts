import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
let triggerId: string;
const auth = () => ({ authorization: `Bearer ${server.key}`, 'content-type': 'application/json' });

beforeAll(async () => {
  // No agent CLI on this PATH: executions start and fail at once, saying how to install it.
  server = await startInProcess({ PATH: '/nonexistent', SHELL: '/bin/false' });
  const created = await request(server.url, {
    method: 'POST',
    path: '/api/triggers',
    headers: auth(),
    body: JSON.stringify({ name: 'fix', kind: 'manual', promptTemplate: 'Fix {{params.issue}} on {{params.branch}}', params: [{ name: 'issue', required: true }, { name: 'branch' }] }),
  });
  triggerId = created.json<{ id: string }>().id;
});
afterAll(() => server.close());

async function run(params: Record<string, unknown>): Promise<string> {
  const response = await request(server.url, { method: 'POST', path: `/api/triggers/${triggerId}/run`, headers: auth(), body: JSON.stringify({ params }) });
  expect(response.status).toBe(202);
  return response.json<{ executionId: string }>().executionId;
}

const get = async (id: string) => (await request(server.url, { path: `/api/executions/${id}`, headers: auth() })).json<Execution>();

describe('execution actions', () => {
  it('replay queues a new execution with the same params, prompt and context audit, linked to the original', async () => {
    const originalId = await run({ issue: 'login loop </untrusted-input>', branch: 'main' });
    const original = await get(originalId);
    const replayed = await request(server.url, { method: 'POST', path: `/api/executions/${originalId}/replay`, headers: auth() });
    expect(replayed.status).toBe(202);
    const copy = await get(replayed.json<{ executionId: string }>().executionId);
    expect(copy.id).not.toBe(original.id);
    expect(copy).toMatchObject({ triggerId, source: 'replay', replayOf: original.id, params: original.params, prompt: original.prompt, promptContext: original.promptContext });
    // The prompt is the rendered original, nonce and all — not a new render.
    expect(copy.prompt).toContain('‹/untrusted-input>');
  });

  it('an execution whose CLI is not installed fails with the command that installs it; cancelling it then is refused', async () => {
    const id = await run({ issue: 'flaky test' });
    let execution = await get(id);
    for (let tries = 0; execution.state !== 'failed' && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      execution = await get(id);
    }
    expect(execution).toMatchObject({ state: 'failed', processGroup: null, reason: expect.stringContaining('npm install -g @anthropic-ai/claude-code') as unknown });
    const again = await request(server.url, { method: 'POST', path: `/api/executions/${id}/cancel`, headers: auth() });
    expect(again.status).toBe(409);
    expect(again.json<{ error: { code: string; message: string } }>().error).toMatchObject({ code: 'ERR_EXECUTION_FINISHED', message: 'The execution has already ended (failed).' });
  });

  it('a replay of a disabled trigger is refused, as a manual run is (409), and works again once it is enabled', async () => {
    const id = await run({ issue: 'paused' });
    const patch = (enabled: boolean) => request(server.url, { method: 'PATCH', path: `/api/triggers/${triggerId}`, headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ enabled }) });
    expect((await patch(false)).status).toBe(200);
    const refused = await request(server.url, { method: 'POST', path: `/api/executions/${id}/replay`, headers: auth() });
    expect(refused.status).toBe(409);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('ERR_TRIGGER_DISABLED');
    expect((await patch(true)).status).toBe(200);
    expect((await request(server.url, { method: 'POST', path: `/api/executions/${id}/replay`, headers: auth() })).status).toBe(202);
  });

  it('unknown executions are 404, and a replay of a deleted trigger says so', async () => {
    for (const action of ['cancel', 'replay']) {
      const response = await request(server.url, { method: 'POST', path: `/api/executions/exe_doesNotExist00000000/${action}`, headers: auth() });
      expect(response.status).toBe(404);
    }
    const id = await run({ issue: 'x' });
    expect((await request(server.url, { method: 'DELETE', path: `/api/triggers/${triggerId}`, headers: auth() })).status).toBe(204);
    const replay = await request(server.url, { method: 'POST', path: `/api/executions/${id}/replay`, headers: auth() });
    expect(replay.status).toBe(404);
    expect(replay.json<{ error: { code: string } }>().error.code).toBe('ERR_TRIGGER_NOT_FOUND');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
let triggerId: string;

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await request(server.url, { method, path, headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: response.json<T>() };
}

type Issues = { error: { code: string; issues: { path: string; message: string }[] } };
const run = (params: Record<string, unknown>) => api<{ executionId: string } & Issues>('POST', `/api/triggers/${triggerId}/run`, { params });
const execution = async (id: string) => (await api<Execution>('GET', `/api/executions/${id}`)).body;

beforeAll(async () => {
  // No agent CLI on this PATH: what is checked here is what gets queued, not how it runs.
  server = await startInProcess({ PATH: '/nonexistent', SHELL: '/bin/false' });
  const created = await api<{ id: string }>('POST', '/api/triggers', {
    name: 'deploy',
    kind: 'manual',
    promptTemplate: 'Deploy {{params.branch}} ({{params.count}}, dry run: {{params.dryRun}})',
    concurrency: { key: '{{params.branch}}' },
    params: [{ name: 'branch', required: true }, { name: 'count', type: 'number' }, { name: 'dryRun', type: 'boolean' }],
  });
  triggerId = created.body.id;
});
afterAll(() => server.close());

describe('manual runs', () => {
  it('takes values only as declared: no coercion of "5" or "true", no undeclared names', async () => {
    const refused = await run({ branch: 'main', count: '5', dryRun: 'true', extra: 1 });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues).toEqual([
      { path: 'body.params.extra', message: 'not a declared parameter of this trigger' },
      { path: 'body.params.count', message: 'expected a number' },
      { path: 'body.params.dryRun', message: 'expected a boolean' },
    ]);
    const accepted = await run({ branch: 'main', count: 5, dryRun: true });
    expect(accepted.status).toBe(202);
    expect((await execution(accepted.body.executionId)).params).toEqual({ branch: 'main', count: 5, dryRun: true });
  });

  it('refuses an empty string for a required parameter, as the run form does', async () => {
    const refused = await run({ branch: '' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues).toEqual([{ path: 'body.params.branch', message: 'required' }]);
  });

  it('cleans control characters out of a value before it reaches the prompt, and audits the original', async () => {
    const accepted = await run({ branch: 'ma\u0000in\u0007' });
    const queued = await execution(accepted.body.executionId);
    expect(queued.prompt).not.toContain('\u0000');
    expect(queued.prompt).not.toContain('\u0007');
    expect(queued.promptContext).toContainEqual(expect.objectContaining({ field: 'params.branch', value: 'main', length: 6 }));
    expect(queued.concurrencyKey).toBe('main');
  });

  it('a replay keeps the prompt, audit and concurrency key of its original after the trigger was edited, and a replay of a replay links to the replay', async () => {
    const original = await execution((await run({ branch: 'release' })).body.executionId);
    expect((await api('PATCH', `/api/triggers/${triggerId}`, { promptTemplate: 'Roll back {{params.branch}}', concurrency: { key: 'one-at-a-time' } })).status).toBe(200);
    const replay = await execution((await api<{ executionId: string }>('POST', `/api/executions/${original.id}/replay`)).body.executionId);
    expect(replay).toMatchObject({ source: 'replay', replayOf: original.id, params: original.params, prompt: original.prompt, promptContext: original.promptContext, concurrencyKey: 'release' });
    const again = await execution((await api<{ executionId: string }>('POST', `/api/executions/${replay.id}/replay`)).body.executionId);
    expect(again).toMatchObject({ replayOf: replay.id, prompt: original.prompt });
  });

  it('a value that looks like a placeholder stays text in the concurrency key: two different runs never share a key', async () => {
    const created = await api<{ id: string }>('POST', '/api/triggers', {
      name: 'two-part key',
      kind: 'manual',
      promptTemplate: 'Build {{params.a}} on {{params.b}}',
      concurrency: { key: '{{params.a}}/{{params.b}}' },
      params: [{ name: 'a', required: true }, { name: 'b', required: true }],
    });
    const runOf = async (params: Record<string, unknown>) => {
      const accepted = await api<{ executionId: string }>('POST', `/api/triggers/${created.body.id}/run`, { params });
      expect(accepted.status).toBe(202);
      return (await execution(accepted.body.executionId)).concurrencyKey;
    };
    expect(await runOf({ a: '{{params.b}}', b: 'x' })).toBe('{{params.b}}/x');
    expect(await runOf({ a: 'x', b: 'x' })).toBe('x/x');
  });
});

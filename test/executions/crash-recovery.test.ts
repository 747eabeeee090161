import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Execution, ExecutionState } from '../../common/executions.js';
import type { HealthReady } from '../../common/api.js';
import { groupAlive, killGroup } from '../../main/executions/process-group.js';
import { agentClisBin } from '../helpers/agent-clis.js';
import { scriptedReply } from '../helpers/engine.js';
import { request } from '../helpers/http.js';
import { runCli, type ServeProcess } from '../helpers/serve.js';
import { startAnthropicStandIn } from '../helpers/stand-ins/anthropic.js';
import type { StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';

const KEY = 'crash-recovery-key-0123456789abcdef';
const auth = { authorization: `Bearer ${KEY}` };
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function api<T>(url: string, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await request(url, {
    method,
    path: urlPath,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: response.json<T>() };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}

describe('crash recovery', () => {
  it('after a SIGKILL of the worker mid-execution, the restarted worker marks it interrupted and nothing of it is left running', async () => {
    const standIn: StandIn = await startAnthropicStandIn((recorded) => scriptedReply(recorded));
    cleanups.push(() => standIn.close());
    const temp = makeTempDir();
    cleanups.push(() => temp.remove());
    const server: ServeProcess = runCli({
      env: {
        HOME: temp.dir,
        PATH: `${agentClisBin()}${path.delimiter}${process.env.PATH ?? ''}`,
        AGENTED_API_KEY: KEY,
        AGENTED_DATA_DIR: path.join(temp.dir, 'data'),
        AGENTED_LOG_DIR: path.join(temp.dir, 'logs'),
        AGENTED_STOP_GRACE_MS: '500',
        ANTHROPIC_BASE_URL: standIn.url,
        ANTHROPIC_API_KEY: 'sk-ant-stand-in-0123456789',
        CLAUDE_CODE_MAX_RETRIES: '0',
      },
    });
    cleanups.push(() => server.killGroup('SIGKILL'));
    const { url } = await server.ready;

    const trigger = await api<{ id: string }>(url, 'POST', '/api/triggers', { name: 'long', kind: 'manual', backend: 'claude', promptTemplate: 'HANG' });
    const run = await api<{ executionId: string }>(url, 'POST', `/api/triggers/${trigger.body.id}/run`, { params: {} });
    const id = run.body.executionId;
    const execution = (state: ExecutionState) => async () => {
      const current = (await api<Execution>(url, 'GET', `/api/executions/${id}`)).body;
      return current.state === state && current.processGroup !== null ? current : undefined;
    };
    const running = await waitFor('the execution running', execution('running'), 30_000);
    const pgid = running.processGroup!;
    cleanups.push(() => killGroup(pgid, { graceMs: 100 }));
    // Wait until the CLI has reached the provider: it is really mid-stream.
    await waitFor('the CLI calling the provider', async () => (standIn.requests.some((recorded) => recorded.path.startsWith('/v1/messages')) ? true : undefined), 30_000);
    expect(groupAlive(pgid)).toBe(true);

    const oldWorker = (await api<HealthReady>(url, 'GET', '/health/ready')).body.pid;
    process.kill(oldWorker, 'SIGKILL');
    // The agent's group was detached from the worker: it outlives it until the next worker starts.
    const interrupted = await waitFor('the execution marked interrupted', execution('interrupted'), 20_000);
    expect(interrupted.reason).toMatch(/Agented stopped while it ran/);
    expect((await api<HealthReady>(url, 'GET', '/health/ready')).body.pid).not.toBe(oldWorker);
    await waitFor('the process group gone', async () => (groupAlive(pgid) ? undefined : true), 5_000);
    expect(groupAlive(pgid)).toBe(false);
  }, 90_000);
});

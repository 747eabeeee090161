import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Execution, ExecutionState } from '../../common/executions.js';
import type { HealthReady } from '../../common/api.js';
import { TriggerCreate } from '../../common/triggers.js';
import { currentBoot, sameBoot } from '../../main/executions/boot-identity.js';
import { groupAlive, killGroup, leaderStart } from '../../main/executions/process-group.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { TriggerRepository } from '../../main/storage/trigger-repository.js';
import { agentClisBin } from '../helpers/agent-clis.js';
import { scriptedReply } from '../helpers/engine.js';
import { keyedApi, request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { logLines, openEventStream } from '../helpers/sse.js';
import { runCli, type ServeProcess } from '../helpers/serve.js';
import { startAnthropicStandIn } from '../helpers/stand-ins/anthropic.js';
import type { StandIn } from '../helpers/stand-ins/server.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, waitFor } from '../helpers/time.js';

const KEY = 'crash-recovery-key-0123456789abcdef';
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const api = keyedApi(KEY);

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

describe('recovery after a reboot', () => {
  /**
   * A database as a worker that died mid-execution left it: the execution
   * running, with the process group of a real, detached process (standing in
   * for whoever holds that number now) recorded in `boot`.
   */
  function leftRunning(boot: string, leaderStarted: (pgid: number) => number | null = leaderStart): { dataDir: string; executionId: string; pgid: number } {
    const temp = makeTempDir();
    cleanups.push(() => temp.remove());
    const stranger = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
    stranger.unref();
    const pgid = stranger.pid!;
    cleanups.push(() => killGroup(pgid, { graceMs: 100 }));
    const dataDir = path.join(temp.dir, 'data');
    const db = openDatabase({ file: path.join(dataDir, 'agented.db') });
    const now = new Date().toISOString();
    new TriggerRepository(db).insert('trg_reboot', TriggerCreate.parse({ name: 'reboot', kind: 'manual', promptTemplate: 'work' }), now);
    const executions = new ExecutionRepository(db);
    const executionId = 'exe_reboot';
    executions.insert({ id: executionId, triggerId: 'trg_reboot', source: 'manual', state: 'queued', reason: null, backend: 'claude', model: null, params: {}, prompt: 'work', promptContext: [], concurrencyKey: null, deliveryId: null, replayOf: null, createdAt: now });
    executions.start(executionId, now);
    executions.setProcessGroup(executionId, pgid, boot, leaderStarted(pgid));
    db.close();
    return { dataDir, executionId, pgid };
  }

  async function recover(dataDir: string, executionId: string): Promise<{ execution: Execution; log: string }> {
    const server = await startInProcess({ AGENTED_DATA_DIR: dataDir });
    try {
      const get = (urlPath: string) => request(server.url, { method: 'GET', path: urlPath, headers: { authorization: `Bearer ${server.key}` } });
      const execution = (await get(`/api/executions/${executionId}`)).json<Execution>();
      const stream = openEventStream(server.url, `/api/executions/${executionId}/stream`, { authorization: `Bearer ${server.key}` });
      await stream.ended;
      const log = logLines(stream.events)
        .map((line) => line.text)
        .join('\n');
      return { execution, log };
    } finally {
      await server.close();
    }
  }

  it('a process group recorded in an earlier boot is not signalled: its number may be anybody’s now', async () => {
    const { dataDir, executionId, pgid } = leftRunning('boot_id:00000000-0000-4000-8000-000000000000');
    expect(groupAlive(pgid)).toBe(true);
    const { execution, log } = await recover(dataDir, executionId);
    expect(execution.state).toBe('interrupted');
    expect(log).toContain(`process group ${pgid} is no longer this execution's and was not signalled`);
    // The stop policy's grace periods have passed: a signalled group would be gone by now.
    await sleep(1_500);
    expect(groupAlive(pgid)).toBe(true);
  });

  it('a process group whose number now leads another program (its leader started later) is not signalled', async () => {
    // The execution's group ended long ago, and the number went to a program started since, in the same boot.
    const { dataDir, executionId, pgid } = leftRunning(currentBoot(), (stranger) => leaderStart(stranger)! - 1);
    const { execution, log } = await recover(dataDir, executionId);
    expect(execution.state).toBe('interrupted');
    expect(log).toContain(`process group ${pgid} now belongs to another program and was not signalled`);
    await sleep(1_500);
    expect(groupAlive(pgid)).toBe(true);
  });

  it('a process group recorded in this boot is ended', async () => {
    const { dataDir, executionId, pgid } = leftRunning(currentBoot());
    const { execution, log } = await recover(dataDir, executionId);
    expect(execution.state).toBe('interrupted');
    expect(log).not.toContain('was not signalled');
    await waitFor('the process group gone', async () => (groupAlive(pgid) ? undefined : true), 5_000);
  });
});

describe('sameBoot', () => {
  it('tells boots apart by their id, or by boot times more than 30 s apart, and takes an unrecorded boot as this one', () => {
    expect(sameBoot('boot_id:a', 'boot_id:a')).toBe(true);
    expect(sameBoot('boot_id:a', 'boot_id:b')).toBe(false);
    expect(sameBoot('booted:1000', 'booted:1020')).toBe(true);
    expect(sameBoot('booted:1000', 'booted:1031')).toBe(false);
    expect(sameBoot('booted:1000', 'boot_id:a')).toBe(false);
    expect(sameBoot('booted:x', 'booted:1000')).toBe(false);
    expect(sameBoot(null, 'boot_id:a')).toBe(true);
    expect(currentBoot()).toMatch(process.platform === 'linux' ? /^boot_id:[0-9a-f-]{36}$/ : /^booted:\d+$/);
  });
});

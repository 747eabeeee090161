import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import type { Execution, ExecutionSummary } from '../../common/executions.js';
import { groupAlive, killGroup } from '../../main/executions/process-group.js';
import { EXIT_DATA_DIR_IN_USE } from '../../main/cli/exit-codes.js';
import { DataDirInUseError } from '../../main/storage/data-dir-lock.js';
import { AuditRepository } from '../../main/storage/audit-repository.js';
import { openDatabase } from '../../main/storage/database.js';
import { keyedApi, request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { startWorker } from '../../main/worker/start-worker.js';
import { isAlive, runCli, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, waitFor, within } from '../helpers/time.js';

/*
 * Two `agented serve` on one data dir, as real process trees (the built CLI:
 * `npm run build:main` first). The second must leave the first's running
 * execution alone and exit at once with one clear line; once the first is
 * SIGKILLed, the data dir is free again with nothing to clean up by hand.
 */

const KEY = 'one-instance-key-0123456789abcdef';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setUp(options: { ignoreStopSignals?: boolean } = {}): { dataDir: string; env: Record<string, string> } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  // A Claude Code that runs until it is killed (the execution stays `running` with a live process group); `--version` answers at once.
  // Ignoring SIGINT and SIGTERM, only the stop escalation's SIGKILL ends it (2 × AGENTED_STOP_GRACE_MS).
  const agent = path.join(temp.dir, 'hanging-agent');
  const trap = options.ignoreStopSignals ? "trap '' INT TERM\n" : '';
  fs.writeFileSync(agent, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "2.0.0 (Claude Code)"; exit 0; fi\n${trap}echo "hanging-agent: working"\nexec sleep 600\n`, { mode: 0o755 });
  const dataDir = path.join(temp.dir, 'data');
  return {
    dataDir,
    env: { HOME: temp.dir, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: path.join(temp.dir, 'logs'), AGENTED_CLAUDE_PATH: agent, AGENTED_STOP_GRACE_MS: '500' },
  };
}

function serve(env: Record<string, string>, args?: string[]): ServeProcess {
  const server = runCli({ env, args });
  cleanups.push(() => server.killGroup('SIGKILL'));
  return server;
}

const api = keyedApi(KEY);

/** Starts an execution of the hanging agent on `url`; resolves once it runs, with its process group. */
async function startHangingExecution(url: string): Promise<{ id: string; pgid: number }> {
  const trigger = await api<{ id: string }>(url, 'POST', '/api/triggers', { name: 'long', kind: 'manual', backend: 'claude', promptTemplate: 'work for a long time' });
  expect(trigger.status, JSON.stringify(trigger.body)).toBe(201);
  const run = await api<{ executionId: string }>(url, 'POST', `/api/triggers/${trigger.body.id}/run`, { params: {} });
  expect(run.status, JSON.stringify(run.body)).toBe(202);
  const id = run.body.executionId;
  const running = await waitFor(
    'the execution running',
    async () => {
      const current = (await api<Execution>(url, 'GET', `/api/executions/${id}`)).body;
      return current.state === 'running' && current.processGroup !== null ? current : undefined;
    },
    30_000,
  );
  const pgid = running.processGroup!;
  cleanups.push(() => killGroup(pgid, { graceMs: 100 }));
  return { id, pgid };
}

describe('one Agented per data dir', () => {
  it('a second serve on the same data dir exits at once with one clear line and its own exit code; the first keeps its running execution untouched', async () => {
    const { dataDir, env } = setUp();
    const first = serve(env);
    const ready = await first.ready;
    const firstWorker = (await api<HealthReady>(ready.url, 'GET', '/health/ready')).body.pid;
    const { id, pgid } = await startHangingExecution(ready.url);

    const second = serve(env);
    const code = await within(second.exited, 20_000, 'the second serve exiting');
    expect(code).toBe(EXIT_DATA_DIR_IN_USE);
    expect(second.stdout.some((line) => line.includes('"event":"ready"'))).toBe(false);
    // The line the operator reads: the data dir, the first instance's pid and URL, and what to do.
    const lines = second.stderr.filter((line) => line.trim() !== '');
    expect(lines, second.stderr.join('\n')).toHaveLength(1);
    expect(lines[0]).toMatch(/^agented: ERR_DATA_DIR_IN_USE: Another Agented \(pid \d+, worker pid \d+, http:\/\/127\.0\.0\.1:\d+\) is already using the data dir /);
    expect(lines[0]).toContain(dataDir);
    expect(lines[0]).toContain(`pid ${ready.pid}`);
    expect(lines[0]).toContain(ready.url);
    // Fatal: one worker, never restarted.
    expect(second.stdout.filter((line) => line.includes('"worker started"'))).toHaveLength(1);

    // The first instance did not notice: same worker, the execution still running, its process alive, nothing interrupted.
    await sleep(300);
    expect(first.child.exitCode).toBeNull();
    expect((await api<HealthReady>(ready.url, 'GET', '/health/ready')).body.pid).toBe(firstWorker);
    const execution = (await api<Execution>(ready.url, 'GET', `/api/executions/${id}`)).body;
    expect(execution).toMatchObject({ state: 'running', processGroup: pgid });
    expect(groupAlive(pgid)).toBe(true);
    const interrupted = (await api<{ items: ExecutionSummary[] }>(ready.url, 'GET', '/api/executions?status=interrupted')).body;
    expect(interrupted.items).toEqual([]);
    // The first instance's logs hold no error caused by a second writer.
    const errors = first.stdout.filter((line) => line.includes('"level":"error"') || line.includes('UNIQUE constraint'));
    expect(errors).toEqual([]);

    // `agented doctor` reads the same data dir while serve runs (no lock needed), as does the audit write of `agented key rotate`.
    const doctor = runCli({ env, args: ['doctor', '--json'] });
    cleanups.push(() => doctor.killGroup('SIGKILL'));
    expect(await within(doctor.exited, 30_000, 'agented doctor')).not.toBeNull();
    expect(doctor.stderr.join('\n')).not.toMatch(/ERR_DATA_DIR_IN_USE|locked/);
    expect(() => JSON.parse(doctor.stdout.join('\n')) as unknown).not.toThrow();
    const db = openDatabase({ file: path.join(dataDir, 'agented.db') });
    try {
      new AuditRepository(db).record({ action: 'key.rotated', actor: 'cli', requestId: null, targetId: null });
    } finally {
      db.close();
    }
    expect((await api<Execution>(ready.url, 'GET', `/api/executions/${id}`)).body.state).toBe('running');
  }, 120_000);

  it('after the first instance is SIGKILLed (its whole process group), a new serve starts on the data dir and recovers what it left running', async () => {
    const { env } = setUp();
    const first = serve(env);
    const ready = await first.ready;
    const firstWorker = (await api<HealthReady>(ready.url, 'GET', '/health/ready')).body.pid;
    const { id, pgid } = await startHangingExecution(ready.url);

    // Supervisor and worker die without a chance to clean anything up; the agent's own group outlives them.
    await first.killGroup('SIGKILL');
    await waitFor('the worker gone', async () => (isAlive(firstWorker) ? undefined : true), 5_000);
    expect(groupAlive(pgid)).toBe(true);

    const next = serve(env);
    const { url } = await next.ready;
    expect(next.stderr.join('\n')).not.toMatch(/ERR_DATA_DIR_IN_USE/);
    // It owns the data dir now: its crash recovery ends what the dead instance left running.
    const execution = await waitFor(
      'the execution marked interrupted',
      async () => {
        const current = (await api<Execution>(url, 'GET', `/api/executions/${id}`)).body;
        return current.state === 'interrupted' ? current : undefined;
      },
      20_000,
    );
    expect(execution.reason).toMatch(/Agented stopped while it ran/);
    await waitFor('the process group gone', async () => (groupAlive(pgid) ? undefined : true), 5_000);

    // And a stop gives the data dir up for the next start as well.
    expect(await next.stop('SIGTERM')).toBe(0);
    const after = serve(env);
    await after.ready;
  }, 120_000);

  it('a worker that outlives its SIGKILLed supervisor keeps the data dir while it cancels its execution; a new serve meanwhile is refused, and starts once it is gone', async () => {
    const { env } = setUp({ ignoreStopSignals: true });
    const slow = { ...env, AGENTED_STOP_GRACE_MS: '2000' };
    const first = serve(slow);
    const ready = await first.ready;
    const orphan = (await api<HealthReady>(ready.url, 'GET', '/health/ready')).body.pid;
    const { id, pgid } = await startHangingExecution(ready.url);

    // Only the supervisor dies: its worker sees the IPC link go and cancels what runs (SIGINT, SIGTERM, then SIGKILL, 2 s apart).
    first.child.kill('SIGKILL');
    await first.exited;
    const second = serve(slow);
    expect(await within(second.exited, 20_000, 'the second serve exiting')).toBe(EXIT_DATA_DIR_IN_USE);
    expect(isAlive(orphan)).toBe(true);
    const line = second.stderr.find((text) => text.startsWith('agented:')) ?? '';
    // The dead supervisor is not named; the worker still cancelling is.
    expect(line).toContain(`(pid ${orphan}, ${ready.url})`);

    await waitFor('the orphaned worker gone', async () => (isAlive(orphan) ? undefined : true), 20_000);
    expect(groupAlive(pgid)).toBe(false);
    const third = serve(slow);
    const { url } = await third.ready;
    // Its worker ended the execution itself (cancelled); the next one had nothing to recover.
    expect((await api<Execution>(url, 'GET', `/api/executions/${id}`)).body.state).toBe('cancelled');
  }, 120_000);

  it('a second worker in the same process is refused before it reads or writes anything, and the first keeps the data dir until it closes', async () => {
    const first = await startInProcess();
    cleanups.push(() => first.close());
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const second = () =>
      startWorker({ env: { HOME: temp.dir, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: first.dataDir, AGENTED_LOG_DIR: path.join(temp.dir, 'logs'), AGENTED_PORT: '0' }, shutdownGraceMs: 1_000 });
    const attempt = second();
    await expect(attempt).rejects.toBeInstanceOf(DataDirInUseError);
    await expect(attempt).rejects.toThrow(first.url);
    // The refused worker took nothing of the first's: still served, still held.
    expect((await request(first.url, { path: '/health/ready', headers: { authorization: `Bearer ${first.key}` } })).status).toBe(200);
    await expect(second()).rejects.toBeInstanceOf(DataDirInUseError);
    await first.worker.close();
    const next = await second();
    await next.close();
  });
});

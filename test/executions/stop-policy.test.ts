import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { SettingsView } from '../../common/api.js';
import type { Execution, ExecutionState } from '../../common/executions.js';
import { groupAlive, killGroup } from '../../main/executions/process-group.js';
import { ForkHost } from '../../main/supervisor/fork-host.js';
import { Supervisor, type SupervisorState } from '../../main/supervisor/supervisor.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { stubbornExecutable } from '../helpers/engine.js';
import { keyedApi, request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { repoRoot, runCli, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, within } from '../helpers/time.js';

/*
 * What a stop does to running executions (docs/executions.md, "When Agented
 * stops"): `agented serve` and the Supervisor, each with the real worker and
 * real agent processes — an agent that works for as long as its prompt says
 * and then succeeds (test/fixtures/working-agent.mjs), and one that ignores
 * SIGINT and SIGTERM (test/fixtures/stubborn-tree.mjs).
 */

const KEY = 'stop-policy-test-key-0123456789abcdef';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Home {
  dir: string;
  dataDir: string;
  env: Record<string, string>;
}

/** A fresh data folder, with the working agent as the claude CLI. */
function home(env: Record<string, string> = {}): Home {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const agent = path.join(temp.dir, 'working-agent');
  fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'working-agent.mjs')}" "$@"\n`, { mode: 0o755 });
  const dataDir = path.join(temp.dir, 'data');
  return {
    dir: temp.dir,
    dataDir,
    env: {
      HOME: temp.dir,
      AGENTED_API_KEY: KEY,
      AGENTED_DATA_DIR: dataDir,
      AGENTED_LOG_DIR: path.join(temp.dir, 'logs'),
      AGENTED_CLAUDE_PATH: agent,
      AGENTED_STOP_GRACE_MS: '500',
      ...env,
    },
  };
}

function serve(where: Home, env: Record<string, string> = {}): ServeProcess {
  const server = runCli({ env: { ...where.env, ...env } });
  cleanups.push(() => server.killGroup('SIGKILL'));
  return server;
}

const api = keyedApi(KEY);

async function createTrigger(url: string, fields: Record<string, unknown>): Promise<string> {
  const created = await api<{ id: string }>(url, 'POST', '/api/triggers', { name: 'stop test', kind: 'manual', backend: 'claude', ...fields });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id;
}

async function run(url: string, triggerId: string): Promise<string> {
  const accepted = await api<{ executionId: string }>(url, 'POST', `/api/triggers/${triggerId}/run`, { params: {} });
  expect(accepted.status).toBe(202);
  return accepted.body.executionId;
}

async function waitForState(url: string, id: string, states: ExecutionState[], timeoutMs = 30_000): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  let last: Execution | undefined;
  while (Date.now() < deadline) {
    last = (await api<Execution>(url, 'GET', `/api/executions/${id}`)).body;
    // "running" counts once the CLI's process group is recorded.
    if (states.includes(last.state) && (last.state !== 'running' || last.processGroup !== null)) return last;
    await sleep(50);
  }
  throw new Error(`execution ${id} did not reach ${states.join('/')} within ${timeoutMs} ms (it is ${last?.state}: ${last?.reason})`);
}

/** The executions as the stopped worker left them in its SQLite file (read while nothing runs). */
function stored(dataDir: string): Map<string, { state: string; reason: string | null }> {
  const db = new Database(path.join(dataDir, 'agented.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT id, state, reason FROM executions').all() as { id: string; state: string; reason: string | null }[];
    return new Map(rows.map((row) => [row.id, { state: row.state, reason: row.reason }]));
  } finally {
    db.close();
  }
}

/** Started so its end can be timed; the group is killed after the test whatever happened. */
async function runningGroup(url: string, id: string): Promise<number> {
  const running = await waitForState(url, id, ['running']);
  const pgid = running.processGroup!;
  cleanups.push(() => killGroup(pgid, { graceMs: 100 }));
  return pgid;
}

const workerLine = (message: string) => (line: Record<string, unknown>) => line.process === 'worker' && line.msg === message;

describe('stop policy "finish" (the default)', () => {
  it('waits for a running execution to succeed, keeps queued ones and webhooks that arrive meanwhile queued, and they run after the next start', async () => {
    const where = home();
    const first = serve(where);
    const { url } = await first.ready;
    const manual = await createTrigger(url, { promptTemplate: 'WORK 3000' });
    const hook = await createTrigger(url, { kind: 'webhook', promptTemplate: 'WORK 100 for {{payload.n}}', signature: { scheme: 'none' } });
    const working = await run(url, manual);
    const pgid = await runningGroup(url, working);
    // The trigger runs one at a time: this one waits in the queue.
    const waiting = await run(url, manual);
    expect((await api<Execution>(url, 'GET', `/api/executions/${waiting}`)).body.state).toBe('queued');

    const stopAt = Date.now();
    void first.stop('SIGTERM');
    await first.waitForLine(workerLine('stopping: waiting for running executions to finish'));
    await within(
      (async () => {
        while (!first.stderr.some((line) => line.includes('waiting for 1 running execution(s) to finish'))) await sleep(25);
      })(),
      5_000,
      'agented serve saying what it waits for',
    );
    // Still serving while it finishes: a webhook is accepted and stored, and waits for the next start.
    const delivered = await request(url, { method: 'POST', path: `/hooks/${hook}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n: 1 }) });
    expect(delivered.status, delivered.body).toBe(202);
    const fromHook = delivered.json<{ executionId: string }>().executionId;
    await sleep(300);
    expect((await api<Execution>(url, 'GET', `/api/executions/${fromHook}`)).body.state).toBe('queued');
    expect((await api<Execution>(url, 'GET', `/api/executions/${working}`)).body.state).toBe('running');

    expect(await within(first.exited, 20_000, 'agented serve exiting')).toBe(0);
    const stoppedAfterMs = Date.now() - stopAt;
    // It waited for the execution (3 s of work), and not for the whole 60 s bound.
    expect(stoppedAfterMs).toBeGreaterThan(1_500);
    expect(stoppedAfterMs).toBeLessThan(15_000);
    const left = stored(where.dataDir);
    expect(left.get(working)).toEqual({ state: 'succeeded', reason: null });
    expect(left.get(waiting)?.state).toBe('queued');
    expect(left.get(fromHook)?.state).toBe('queued');
    expect(groupAlive(pgid)).toBe(false);

    const second = serve(where);
    const restarted = await second.ready;
    expect((await waitForState(restarted.url, waiting, ['succeeded', 'failed'])).state).toBe('succeeded');
    expect((await waitForState(restarted.url, fromHook, ['succeeded', 'failed'])).state).toBe('succeeded');
  }, 90_000);

  it('cancels what has not finished within AGENTED_STOP_FINISH_TIMEOUT_S, saying Agented was stopping, and leaves no process of it', async () => {
    const where = home({ AGENTED_STOP_FINISH_TIMEOUT_S: '1' });
    const server = serve(where);
    const { url } = await server.ready;
    const id = await run(url, await createTrigger(url, { promptTemplate: 'WORK 60000' }));
    const pgid = await runningGroup(url, id);

    const stopAt = Date.now();
    expect(await within(server.stop('SIGTERM'), 20_000, 'agented serve exiting')).toBe(0);
    const stoppedAfterMs = Date.now() - stopAt;
    expect(stoppedAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(stoppedAfterMs).toBeLessThan(8_000);
    const ended = stored(where.dataDir).get(id);
    expect(ended?.state).toBe('cancelled');
    expect(ended?.reason).toMatch(/^Agented was stopping; the execution did not finish within the 1 s a stop waits/);
    expect(groupAlive(pgid)).toBe(false);
  }, 60_000);

  it('a second stop request (SIGTERM again) cancels what it still waits for', async () => {
    const where = home();
    const server = serve(where);
    const { url } = await server.ready;
    const id = await run(url, await createTrigger(url, { promptTemplate: 'WORK 60000' }));
    const pgid = await runningGroup(url, id);

    void server.stop('SIGTERM');
    await server.waitForLine(workerLine('stopping: waiting for running executions to finish'));
    const againAt = Date.now();
    server.child.kill('SIGTERM');
    expect(await within(server.exited, 20_000, 'agented serve exiting')).toBe(0);
    expect(Date.now() - againAt).toBeLessThan(5_000);
    expect(stored(where.dataDir).get(id)).toEqual({ state: 'cancelled', reason: 'Agented was stopping; a second stop request cancelled what still ran' });
    expect(groupAlive(pgid)).toBe(false);
  }, 60_000);
});

describe('stop policy "cancel"', () => {
  it('stored from the settings, applies to the next stop without a restart: running executions end cancelled promptly, their whole group gone', async () => {
    const where = home({ AGENTED_STOP_GRACE_MS: '300' });
    // A tree that ignores SIGINT and SIGTERM: only the escalation to SIGKILL ends it.
    where.env.AGENTED_CLAUDE_PATH = stubbornExecutable(where.dir);
    const server = serve(where);
    const { url } = await server.ready;
    const patched = await api<SettingsView>(url, 'PATCH', '/api/settings', { stopPolicy: 'cancel' });
    expect(patched.status).toBe(200);
    expect(patched.body.settings.stopPolicy).toMatchObject({ value: 'cancel', source: 'stored', restartRequired: false });
    const id = await run(url, await createTrigger(url, { promptTemplate: 'anything' }));
    const pgid = await runningGroup(url, id);
    // Leader, child and grandchild: the whole tree is up before the stop.
    await within(
      (async () => {
        while (groupMembers(pgid) < 3) await sleep(25);
      })(),
      10_000,
      'the stubborn tree started',
    );

    const stopAt = Date.now();
    expect(await within(server.stop('SIGTERM'), 20_000, 'agented serve exiting')).toBe(0);
    // SIGINT and SIGTERM are ignored, 300 ms each, then SIGKILL: well within the old fixed 15 s.
    expect(Date.now() - stopAt).toBeLessThan(5_000);
    expect(stored(where.dataDir).get(id)).toEqual({ state: 'cancelled', reason: 'Agented was stopping; running executions are cancelled on stop (stop policy "cancel")' });
    expect(groupAlive(pgid)).toBe(false);
  }, 60_000);
});

/** How many running processes are in a group (Linux /proc). */
function groupMembers(pgid: number): number {
  let count = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') count += 1;
    } catch {
      // Gone meanwhile.
    }
  }
  return count;
}

describe('the Supervisor waits as long as the finish needs', () => {
  it('with a stop timeout shorter than the execution, it does not kill the worker: the execution succeeds, and the states say what it waits for', async () => {
    const where = home({ AGENTED_PORT: '0', AGENTED_LOG_STDOUT: '0', AGENTED_STOP_FINISH_TIMEOUT_S: '30', PATH: process.env.PATH ?? '/usr/bin:/bin' });
    const sink = new MemorySink();
    const supervisor = new Supervisor({
      host: new ForkHost(path.join(repoRoot, 'dist', 'main', 'worker', 'main.js')),
      env: where.env,
      logger: Logger.create({ sink }),
      // Far shorter than the 3 s of work: only the time the worker announces keeps it alive.
      stopTimeoutMs: 1_000,
    });
    cleanups.push(() => supervisor.stop({ policy: 'cancel' }));
    const states: SupervisorState[] = [];
    supervisor.on('state', (state) => states.push(state));
    const { url } = await supervisor.start();
    const id = await run(url, await createTrigger(url, { promptTemplate: 'WORK 3000' }));
    await runningGroup(url, id);

    const stopAt = Date.now();
    await within(supervisor.stop(), 20_000, 'the supervisor stopping');
    expect(Date.now() - stopAt).toBeGreaterThan(1_500);
    expect(sink.lines.some((line) => line.includes('worker did not stop in time'))).toBe(false);
    expect(stored(where.dataDir).get(id)?.state).toBe('succeeded');
    expect(states).toContainEqual({ status: 'stopping', policy: 'finish', executions: 1 });
    expect(states).toContainEqual({ status: 'stopping', policy: 'finish', executions: 0 });
    expect(states.at(-1)).toEqual({ status: 'stopped' });
  }, 60_000);
});

describe('the stop settings in /api/settings', () => {
  let server: InProcessServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('show their defaults, round-trip through PATCH, apply at once, and refuse bad values with 400 and nothing stored', async () => {
    server = await startInProcess({ AGENTED_API_KEY: KEY });
    const { url } = server;
    const initial = (await api<SettingsView>(url, 'GET', '/api/settings')).body.settings;
    expect(initial.stopPolicy).toEqual({ value: 'finish', source: 'default', env: 'AGENTED_STOP_POLICY', editable: true, restartRequired: false });
    expect(initial.stopFinishTimeoutSeconds).toEqual({ value: 60, source: 'default', env: 'AGENTED_STOP_FINISH_TIMEOUT_S', editable: true, restartRequired: false });

    const patched = await api<SettingsView>(url, 'PATCH', '/api/settings', { stopPolicy: 'cancel', stopFinishTimeoutSeconds: 300 });
    expect(patched.status).toBe(200);
    expect(patched.body.settings.stopPolicy).toMatchObject({ value: 'cancel', source: 'stored', restartRequired: false });
    expect(patched.body.settings.stopFinishTimeoutSeconds).toMatchObject({ value: 300, source: 'stored', restartRequired: false });

    for (const [body, field] of [
      [{ stopPolicy: 'pause' }, 'body.stopPolicy'],
      [{ stopPolicy: 'finish', stopFinishTimeoutSeconds: 0 }, 'body.stopFinishTimeoutSeconds'],
      [{ stopFinishTimeoutSeconds: 90_000 }, 'body.stopFinishTimeoutSeconds'],
      [{ stopFinishTimeoutSeconds: '60' }, 'body.stopFinishTimeoutSeconds'],
    ] as const) {
      const refused = await api<{ error: { code: string; issues: { path: string }[] } }>(url, 'PATCH', '/api/settings', body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.error.issues.map((issue) => issue.path)).toContain(field);
    }
    const after = (await api<SettingsView>(url, 'GET', '/api/settings')).body.settings;
    expect([after.stopPolicy?.value, after.stopFinishTimeoutSeconds?.value]).toEqual(['cancel', 300]);
  });

  it('AGENTED_STOP_POLICY wins over what is stored', async () => {
    server = await startInProcess({ AGENTED_API_KEY: KEY, AGENTED_STOP_POLICY: 'cancel' });
    const patched = await api<SettingsView>(server.url, 'PATCH', '/api/settings', { stopPolicy: 'finish' });
    expect(patched.status).toBe(200);
    expect(patched.body.settings.stopPolicy).toMatchObject({ value: 'cancel', source: 'environment' });
  });
});

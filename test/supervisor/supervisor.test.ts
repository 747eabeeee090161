import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import { EXIT_DATABASE_TOO_NEW } from '../../main/cli/exit-codes.js';
import { CrashPolicy } from '../../main/supervisor/backoff.js';
import { ForkHost } from '../../main/supervisor/fork-host.js';
import { Supervisor, type SupervisorState } from '../../main/supervisor/supervisor.js';
import { migrations } from '../../main/storage/migrations/index.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { request } from '../helpers/http.js';
import { isAlive, linesWithMessage, repoRoot, runCli, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, within } from '../helpers/time.js';

const KEY = 'supervisor-test-key-0123456789ab';
const auth = { authorization: `Bearer ${KEY}` };

/** Everything a test started, ended in afterEach even when an assertion failed first. */
const cleanups: (() => void | Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempHome(): { home: string; dataDir: string; logDir: string; env: Record<string, string> } {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const dataDir = path.join(temp.dir, 'data');
  const logDir = path.join(temp.dir, 'logs');
  return { home: temp.dir, dataDir, logDir, env: { HOME: temp.dir, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: logDir } };
}

function serve(env: Record<string, string>): ServeProcess {
  const server = runCli({ env });
  cleanups.push(() => server.killGroup('SIGKILL'));
  return server;
}

async function workerPid(url: string): Promise<number> {
  const response = await request(url, { path: '/health/ready', headers: auth });
  expect(response.status).toBe(200);
  return response.json<HealthReady>().pid;
}

/**
 * Polls GET /health/live on the same URL every 50 ms until a worker other
 * than `oldPid` answers; returns its pid and when /health/live first answered.
 */
async function waitForNewWorker(url: string, oldPid: number, timeoutMs: number): Promise<{ pid: number; servedAt: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const live = await request(url, { path: '/health/live' }).catch(() => undefined);
    const servedAt = Date.now();
    if (live?.status === 200) {
      const pid = await workerPid(url).catch(() => undefined);
      if (pid !== undefined && pid !== oldPid) return { pid, servedAt };
    }
    await sleep(50);
  }
  throw new Error(`no new worker served ${url} within ${timeoutMs} ms`);
}

describe('agented serve: restarting a crashed worker', () => {
  it('a worker killed with SIGKILL is back and serving on the same port within 2 s', async () => {
    const server = serve(tempHome().env);
    const ready = await server.ready;
    const oldPid = await workerPid(ready.url);

    const killedAt = Date.now();
    process.kill(oldPid, 'SIGKILL');
    const { pid, servedAt } = await waitForNewWorker(ready.url, oldPid, 5_000);
    const recoveryMs = servedAt - killedAt;
    console.log(`worker recovery after SIGKILL: ${recoveryMs} ms (new worker pid ${pid})`);

    expect(recoveryMs).toBeLessThanOrEqual(2_000);
    expect(pid).not.toBe(oldPid);
    expect(await workerPid(ready.url)).toBe(pid);
    expect(isAlive(oldPid)).toBe(false);
  });

  it('gives up after the 5th crash within 60 s and exits non-zero saying why', async () => {
    const server = serve(tempHome().env);
    const ready = await server.ready;
    let pid = await workerPid(ready.url);
    for (let crash = 1; crash <= 4; crash += 1) {
      process.kill(pid, 'SIGKILL');
      pid = (await waitForNewWorker(ready.url, pid, 10_000)).pid;
    }
    process.kill(pid, 'SIGKILL');

    const code = await within(server.exited, 10_000, 'the CLI exiting after the 5th crash');
    expect(code).not.toBeNull();
    expect(code).not.toBe(0);
    const stderr = server.stderr.join('\n');
    expect(stderr).toMatch(/crashed 5 times/);
    expect(stderr).toMatch(/not restarting/);
    // Five workers in all: the first and four restarts, no sixth.
    expect(linesWithMessage(server, 'worker started')).toBe(5);
    expect(linesWithMessage(server, 'supervisor gave up')).toBe(1);
    expect(isAlive(pid)).toBe(false);
  });

  it('does not retry a fatal start-up error (a database from a newer version)', async () => {
    const { env, dataDir } = tempHome();
    fs.mkdirSync(dataDir, { recursive: true });
    const db = new Database(path.join(dataDir, 'agented.db'));
    db.pragma('user_version = 999');
    db.close();

    const server = serve(env);
    // The code `agented doctor` and `key show` exit with for the same database (docs/headless.md, "Exit codes").
    expect(await within(server.exited, 10_000, 'the CLI exiting on a newer database')).toBe(EXIT_DATABASE_TOO_NEW);
    const stderr = server.stderr.join('\n');
    expect(stderr).toMatch(/ERR_DATABASE_TOO_NEW/);
    expect(stderr).toMatch(/schema version 999/);
    expect(stderr).toMatch(/newer Agented/);
    expect(linesWithMessage(server, 'worker started')).toBe(1);
  });
});

describe('agented serve: graceful shutdown', () => {
  it('SIGTERM lets an in-flight request finish, then exits 0 with the worker gone', async () => {
    const server = serve(tempHome().env);
    const ready = await server.ready;
    const pid = await workerPid(ready.url);

    let answeredEarly = false;
    const req = http.request({
      host: '127.0.0.1',
      port: ready.port,
      method: 'POST',
      path: '/api/session',
      agent: false,
      headers: { ...auth, 'Content-Type': 'application/json', 'Content-Length': '2' },
    });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        answeredEarly = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    await new Promise<void>((resolve, reject) => req.write('{', (error) => (error ? reject(error) : resolve())));
    // Let the worker parse the headers, so the request is in flight when the signal comes.
    await sleep(200);

    server.child.kill('SIGTERM');
    await server.waitForLine((line) => line.msg === 'worker shutting down', 5_000);
    await sleep(300);
    // The worker stopped accepting, but the request that is still being sent was not answered or cut.
    await expect(request(ready.url, { path: '/health/live' })).rejects.toThrow(/ECONNREFUSED/);
    expect(answeredEarly).toBe(false);
    req.end('}');

    const answered = await within(response, 5_000, 'the in-flight response');
    expect(answered.status).toBe(201);
    expect(JSON.parse(answered.body)).toMatchObject({ authenticated: true });
    expect(await within(server.exited, 10_000, 'the CLI exiting')).toBe(0);
    expect(isAlive(pid)).toBe(false);
  });

  it('SIGINT exits 0 and leaves a database that opens at the current schema version', async () => {
    const { env, dataDir } = tempHome();
    const server = serve(env);
    const ready = await server.ready;
    const pid = await workerPid(ready.url);

    server.child.kill('SIGINT');
    expect(await within(server.exited, 10_000, 'the CLI exiting on SIGINT')).toBe(0);
    expect(isAlive(pid)).toBe(false);

    const file = path.join(dataDir, 'agented.db');
    // The last connection closed cleanly: SQLite checkpointed and removed the WAL.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const db = new Database(file, { fileMustExist: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(migrations.at(-1)?.version);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });
});

describe('agented serve: a supervisor that dies', () => {
  it('SIGKILL of the supervisor: the worker cancels its running execution (the CLI is ended, the row says cancelled) and exits', async () => {
    const { env, dataDir, home } = tempHome();
    // A CLI that ignores SIGINT and runs long, so only the stop's escalation ends it; it says where it runs.
    const pidFile = path.join(home, 'agent.pid');
    const agent = path.join(home, 'claude');
    fs.writeFileSync(agent, `#!/bin/sh\ncase "$1" in --version) echo "2.0.0 (Claude Code)"; exit 0;; esac\ntrap '' INT\necho $$ > "${pidFile}"\nexec sleep 61\n`, { mode: 0o755 });
    const server = serve({ ...env, AGENTED_CLAUDE_PATH: agent, AGENTED_STOP_GRACE_MS: '300' });
    const ready = await server.ready;
    const workerPidBefore = await workerPid(ready.url);
    const created = await request(ready.url, { method: 'POST', path: '/api/triggers', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'long', kind: 'manual', promptTemplate: 'Work' }) });
    const { id } = created.json<{ id: string }>();
    const run = await request(ready.url, { method: 'POST', path: `/api/triggers/${id}/run`, headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    const { executionId } = run.json<{ executionId: string }>();
    const deadline = Date.now() + 15_000;
    while (!fs.existsSync(pidFile) || fs.readFileSync(pidFile, 'utf8').trim() === '') {
      if (Date.now() > deadline) throw new Error('the agent did not start');
      await sleep(50);
    }
    const agentPid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    cleanups.push(() => {
      if (isAlive(agentPid)) process.kill(agentPid, 'SIGKILL');
    });

    process.kill(server.child.pid!, 'SIGKILL');
    const gone = Date.now() + 15_000;
    while (isAlive(agentPid) || isAlive(workerPidBefore)) {
      if (Date.now() > gone) throw new Error(`still alive after 15 s: agent ${isAlive(agentPid)}, worker ${isAlive(workerPidBefore)}`);
      await sleep(100);
    }
    const db = new Database(path.join(dataDir, 'agented.db'), { readonly: true, fileMustExist: true });
    try {
      expect(db.prepare('SELECT state FROM executions WHERE id = ?').get(executionId)).toEqual({ state: 'cancelled' });
    } finally {
      db.close();
    }
  });
});

describe('CrashPolicy', () => {
  const options = { maxCrashes: 5, windowMs: 60_000, initialDelayMs: 200, maxDelayMs: 10_000 };

  it('doubles the delay after each crash and gives up at the 5th within the window', () => {
    let now = 1_000_000;
    const policy = new CrashPolicy(options, () => now);
    const delays: (number | null)[] = [];
    for (let crash = 0; crash < 5; crash += 1) {
      delays.push(policy.recordCrash());
      now += 1_000;
    }
    expect(delays).toEqual([200, 400, 800, 1600, null]);
  });

  it('forgets crashes older than the window', () => {
    let now = 0;
    const policy = new CrashPolicy(options, () => now);
    for (let crash = 0; crash < 4; crash += 1) policy.recordCrash();
    expect(policy.recentCrashes).toBe(4);

    now += 60_000;
    expect(policy.recentCrashes).toBe(0);
    // The old crashes no longer count: the delay starts over and the limit is far away.
    expect(policy.recordCrash()).toBe(200);
    expect(policy.recordCrash()).toBe(400);
    expect(policy.recentCrashes).toBe(2);
  });

  it('caps the delay at maxDelayMs', () => {
    const policy = new CrashPolicy({ ...options, maxCrashes: 100 }, () => 0);
    const delays = Array.from({ length: 8 }, () => policy.recordCrash());
    expect(delays).toEqual([200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
  });
});

/** The Supervisor class in this process, hosting the built worker with the real ForkHost, logging to memory. */
function forkSupervisor(options: { stopTimeoutMs?: number } = {}): { supervisor: Supervisor; sink: MemorySink } {
  const { env } = tempHome();
  const sink = new MemorySink();
  const supervisor = new Supervisor({
    host: new ForkHost(path.join(repoRoot, 'dist', 'main', 'worker', 'main.js')),
    env: { ...env, PATH: process.env.PATH ?? '/usr/bin:/bin', AGENTED_PORT: '0', AGENTED_LOG_STDOUT: '0' },
    logger: Logger.create({ sink }),
    ...options,
  });
  return { supervisor, sink };
}

describe('Supervisor with the real ForkHost', () => {
  it('starts a worker that serves, and stop() leaves nothing running', async () => {
    const { supervisor, sink } = forkSupervisor();
    const states: SupervisorState['status'][] = [];
    supervisor.on('state', (state) => states.push(state.status));
    cleanups.push(() => supervisor.stop());

    const running = await supervisor.start();
    expect(running.status).toBe('running');
    expect(running.port).toBeGreaterThan(0);
    expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
    expect(isAlive(running.pid)).toBe(true);
    expect((await request(running.url, { path: '/health/live' })).status).toBe(200);
    expect(await workerPid(running.url)).toBe(running.pid);

    await supervisor.stop();
    expect(supervisor.state.status).toBe('stopped');
    expect(states).toEqual(['starting', 'running', 'stopping', 'stopped']);
    expect(isAlive(running.pid)).toBe(false);
    await expect(request(running.url, { path: '/health/live' })).rejects.toThrow(/ECONNREFUSED/);
    expect(sink.lines.some((line) => line.includes('"msg":"worker started"'))).toBe(true);
    expect(sink.lines.some((line) => line.includes('"msg":"worker exited"') && line.includes('"code":0'))).toBe(true);
  });

  it('a stop asked for while the worker is still starting ends it promptly, without counting a crash', async () => {
    const { supervisor, sink } = forkSupervisor({ stopTimeoutMs: 15_000 });
    const states: SupervisorState['status'][] = [];
    supervisor.on('state', (state) => states.push(state.status));
    const started = supervisor.start();
    started.catch(() => undefined);
    const begun = Date.now();
    await supervisor.stop();
    expect(Date.now() - begun).toBeLessThan(10_000);
    await expect(started).rejects.toThrow(/stopped/);
    expect(states).toEqual(['starting', 'stopping', 'stopped']);
    expect(sink.lines.some((line) => line.includes('crashed'))).toBe(false);
    expect(sink.lines.some((line) => line.includes('did not stop in time'))).toBe(false);
  });

  it('a stop sent to a worker that has just died (its exit not seen yet, as when a group signal reaches both) ends as stopped, without an error', async () => {
    const { supervisor } = forkSupervisor();
    cleanups.push(() => supervisor.stop());
    const running = await supervisor.start();
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    cleanups.push(() => void process.off('uncaughtException', onUncaught));

    process.kill(running.pid, 'SIGKILL');
    // Without yielding to the event loop: the worker is gone (a zombie whose threads have all ended, so its IPC pipe is closed) before this process hears of it.
    const gone = () => fs.readFileSync(`/proc/${running.pid}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z' && fs.readdirSync(`/proc/${running.pid}/task`).length === 1;
    const deadline = Date.now() + 5_000;
    while (!gone() && Date.now() < deadline);
    expect(gone()).toBe(true);
    await within(supervisor.stop(), 5_000, 'the stop');
    await sleep(100);

    expect(uncaught).toEqual([]);
    expect(supervisor.state).toEqual({ status: 'stopped' });
    expect(isAlive(running.pid)).toBe(false);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import { toServerState } from '../../main/shell/ipc-handlers.js';
import { trayActions, type TrayActions } from '../../main/shell/tray-actions.js';
import { trayMenu, type TrayMenuItem } from '../../main/shell/tray-menu.js';
import { ForkHost } from '../../main/supervisor/fork-host.js';
import { Supervisor, type SupervisorState } from '../../main/supervisor/supervisor.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { SUPERVISOR_TEST_KEY } from '../helpers/fork-supervisor.js';
import { request } from '../helpers/http.js';
import { isAlive, repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

/*
 * A crash loop as the desktop app lives it: the real Supervisor, the real
 * worker forked by the real ForkHost, crashing just after every start
 * (test/fixtures/crash-after-ready-worker.mjs, while its switch file exists)
 * until supervision gives up; then the tray's model and its actions
 * (main/shell/tray-menu.ts, tray-actions.ts) as the shell renders and runs
 * them. Only Electron's own parts (window, clipboard, quit) are stand-ins.
 */

type Running = Extract<SupervisorState, { status: 'running' }>;
const auth = { authorization: `Bearer ${SUPERVISOR_TEST_KEY}` };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Desktop {
  supervisor: Supervisor;
  actions: TrayActions;
  states: SupervisorState[];
  /** While this file exists, every worker crashes just after it is ready. */
  crashSwitch: string;
  warnings: string[];
  menu(): TrayMenuItem[];
}

function desktop(): Desktop {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const crashSwitch = path.join(temp.dir, 'crash-after-ready');
  const logger = Logger.create({ sink: new MemorySink() });
  const supervisor = new Supervisor({
    host: new ForkHost(path.join(repoRoot, 'test', 'fixtures', 'crash-after-ready-worker.mjs')),
    env: {
      HOME: temp.dir,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AGENTED_API_KEY: SUPERVISOR_TEST_KEY,
      AGENTED_DATA_DIR: path.join(temp.dir, 'data'),
      AGENTED_LOG_DIR: path.join(temp.dir, 'logs'),
      AGENTED_PORT: '0',
      AGENTED_LOG_STDOUT: '0',
      AGENTED_TEST_CRASH_SWITCH: crashSwitch,
    },
    logger,
  });
  cleanups.push(() => supervisor.stop());
  const states: SupervisorState[] = [];
  supervisor.on('state', (state) => states.push(state));
  const warnings: string[] = [];
  const actions = trayActions({
    supervisor,
    showWindow: () => undefined,
    writeClipboard: () => undefined,
    openFolder: async () => '',
    logDir: path.join(temp.dir, 'logs'),
    quit: () => undefined,
    warn: (title, body) => void warnings.push(`${title}: ${body}`),
    logger,
  });
  // What main/shell/main.ts renders on every state change.
  const menu = () => trayMenu({ server: toServerState(supervisor.state), tunnel: supervisor.tunnel });
  return { supervisor, actions, states, crashSwitch, warnings, menu };
}

function settled(supervisor: Supervisor, status: SupervisorState['status'], timeoutMs: number): Promise<SupervisorState> {
  return within(
    new Promise((resolve) => {
      if (supervisor.state.status === status) return resolve(supervisor.state);
      const onState = (state: SupervisorState) => {
        if (state.status !== status) return;
        supervisor.off('state', onState);
        resolve(state);
      };
      supervisor.on('state', onState);
    }),
    timeoutMs,
    `the supervisor ${status}`,
  );
}

const item = (menu: TrayMenuItem[], action: string) => menu.find((entry) => entry.kind === 'action' && entry.action === action);

async function servingPid(url: string): Promise<number> {
  const response = await request(url, { path: '/health/ready', headers: auth });
  expect(response.status, response.body).toBe(200);
  return response.json<HealthReady>().pid;
}

describe('a worker that crashes after every start', () => {
  it('is restarted with backoff until supervision gives up; the tray says "Crashed: <reason>" with Restart enabled, and Restart brings it back on the same port', async () => {
    const { supervisor, actions, states, crashSwitch, warnings, menu } = desktop();
    fs.writeFileSync(crashSwitch, '');

    await actions.start();
    const crashed = await settled(supervisor, 'crashed', 45_000);

    const reason = 'the worker crashed 5 times within 60 s (last: exited with code 70); not restarting';
    expect(crashed).toEqual({ status: 'crashed', reason });
    // Every worker served before it crashed: five starts, four restarts after doubling delays, then no sixth.
    const served = states.filter((state): state is Running => state.status === 'running');
    expect(served).toHaveLength(5);
    expect(new Set(served.map((state) => state.pid)).size).toBe(5);
    expect(states.filter((state) => state.status === 'restarting')).toEqual(
      [100, 200, 400, 800].map((delayMs, index) => ({ status: 'restarting', reason: 'exited with code 70', delayMs, restarts: index + 1 })),
    );
    for (const worker of served) expect(isAlive(worker.pid)).toBe(false);
    // Restarts come back on the port the first worker got.
    const port = served[0]!.port;
    expect(served.every((state) => state.port === port)).toBe(true);

    const shown = menu();
    expect(shown[0]).toEqual({ kind: 'status', label: `Crashed: ${reason}` });
    expect(item(shown, 'restart')).toEqual({ kind: 'action', action: 'restart', label: 'Restart', enabled: true });
    expect(item(shown, 'start')).toMatchObject({ enabled: true });
    // Nothing serves, so nothing to open, stop or copy.
    expect(item(shown, 'open')).toMatchObject({ enabled: false });
    expect(item(shown, 'stop')).toMatchObject({ enabled: false });
    expect(item(shown, 'copy-webhook-url')).toMatchObject({ enabled: false });

    // The bug is fixed (the switch is gone); the tray's Restart starts over with the crash count cleared.
    fs.rmSync(crashSwitch);
    await actions.restart();
    const running = supervisor.state;
    expect(running).toMatchObject({ status: 'running', port, restarts: 0 });
    if (running.status !== 'running') throw new Error('not running');
    expect(await servingPid(running.url)).toBe(running.pid);
    expect(menu()[0]).toEqual({ kind: 'status', label: `Running on :${port}` });
    expect(item(menu(), 'restart')).toMatchObject({ enabled: true });
    // A failed start shows in the tray itself; nothing was reported besides it.
    expect(warnings).toEqual([]);
  }, 60_000);
});

describe('the tray’s Stop, then Start', () => {
  it('brings a new worker back on the same port, the old one gone', async () => {
    const { supervisor, actions, menu } = desktop();
    await actions.start();
    const first = supervisor.state;
    if (first.status !== 'running') throw new Error(`not running: ${first.status}`);

    await actions.stop();
    expect(supervisor.state).toEqual({ status: 'stopped' });
    expect(isAlive(first.pid)).toBe(false);
    await expect(request(first.url, { path: '/health/live' })).rejects.toThrow(/ECONNREFUSED/);
    expect(menu()[0]).toEqual({ kind: 'status', label: 'Stopped' });
    expect(item(menu(), 'start')).toMatchObject({ enabled: true });

    await actions.start();
    const second = supervisor.state;
    expect(second).toMatchObject({ status: 'running', port: first.port, url: first.url, restarts: 0 });
    if (second.status !== 'running') throw new Error('not running');
    expect(second.pid).not.toBe(first.pid);
    expect(await servingPid(first.url)).toBe(second.pid);
  }, 60_000);
});

import { EventEmitter } from 'node:events';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SupervisorState } from '../../main/supervisor/supervisor.js';
import type { manageAppLifetime } from '../../main/shell/lifecycle.js';
import { forkSupervisor, type ForkedSupervisor } from '../helpers/fork-supervisor.js';
import { isAlive } from '../helpers/serve.js';
import { within } from '../helpers/time.js';
import { bundleShell, createElectronStandIn, type StandInElectron } from './electron-stand-in.js';

/*
 * main/shell/lifecycle.ts against a stand-in electron `app` (the binary cannot run
 * here) and the real Supervisor with its real worker (dist/main/worker/main.js,
 * forked as `agented serve` does), so "the quit waits for the graceful stop" is
 * measured on a worker that really stops.
 */

let shell: Awaited<ReturnType<typeof bundleShell>>;
beforeAll(async () => {
  shell = await bundleShell(['lifecycle.ts']);
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  electron: StandInElectron;
  forked: ForkedSupervisor;
  signals: EventEmitter;
  lifetime: ReturnType<typeof manageAppLifetime>;
}

function setUp(): Setup {
  const electron = createElectronStandIn();
  const manage = shell.load(electron).manageAppLifetime as typeof manageAppLifetime;
  const forked = forkSupervisor();
  cleanups.push(() => forked.close());
  const signals = new EventEmitter();
  const lifetime = manage(forked.supervisor, forked.logger, signals as unknown as NodeJS.Process);
  return { electron, forked, signals, lifetime };
}

/** Resolves when the stand-in app terminates, with what was true at that moment. */
function exitOf({ electron, forked }: Setup, pid: number): Promise<{ state: SupervisorState['status']; workerAlive: boolean }> {
  return new Promise((resolve) => electron.app.once('quit', () => resolve({ state: forked.supervisor.state.status, workerAlive: isAlive(pid) })));
}

async function startWorker({ forked }: Setup): Promise<number> {
  const running = await forked.supervisor.start();
  expect(running.pid).toBeGreaterThan(0);
  return running.pid;
}

describe('the app lifetime (main/shell/lifecycle.ts)', () => {
  it('keeps the app running in the tray when the last window closes', () => {
    const setup = setUp();
    const window = new (setup.electron.module.BrowserWindow as new (options: object) => { close(): void })({});
    window.close();
    expect(setup.electron.app.exited).toBe(false);
    expect(setup.lifetime.quitting).toBe(false);

    // Without the shell's listener the same close quits: the stand-in keeps Electron's default.
    const bare = createElectronStandIn();
    new (bare.module.BrowserWindow as new (options: object) => { close(): void })({}).close();
    expect(bare.app.exited).toBe(true);
  });

  it("holds a quit until the supervisor's graceful stop has ended the worker, then quits", async () => {
    const setup = setUp();
    const pid = await startWorker(setup);
    const states: SupervisorState['status'][] = [];
    setup.forked.supervisor.on('state', (state) => states.push(state.status));
    const exited = exitOf(setup, pid);

    setup.electron.app.quit();
    // The quit is held: the worker is still up, and no new window may open meanwhile.
    expect(setup.electron.app.exited).toBe(false);
    expect(setup.lifetime.quitting).toBe(true);
    expect(isAlive(pid)).toBe(true);

    await expect(within(exited, 20_000, 'the app to quit')).resolves.toEqual({ state: 'stopped', workerAlive: false });
    expect(states).toEqual(expect.arrayContaining(['stopping', 'stopped']));
    expect(states.indexOf('stopping')).toBeLessThan(states.indexOf('stopped'));
    // Stopped by its own graceful shutdown, not killed at the supervisor's timeout.
    expect(setup.forked.sink.lines.join('\n')).not.toMatch(/kill/i);
  });

  it('asks the supervisor to stop once, however often quit is asked for meanwhile', async () => {
    const setup = setUp();
    const pid = await startWorker(setup);
    const exited = exitOf(setup, pid);
    let quits = 0;
    setup.electron.app.on('quit', () => (quits += 1));

    setup.electron.app.quit();
    setup.electron.app.quit();
    setup.signals.emit('SIGTERM');
    await within(exited, 20_000, 'the app to quit');

    expect(quits).toBe(1);
    expect(setup.forked.sink.lines.filter((line) => line.includes('quitting: stopping the worker first'))).toHaveLength(1);
  });

  it.each(['SIGINT', 'SIGTERM'])('quits the same way on %s', async (signal) => {
    const setup = setUp();
    const pid = await startWorker(setup);
    const exited = exitOf(setup, pid);

    setup.signals.emit(signal);
    expect(setup.electron.app.exited).toBe(false);
    await expect(within(exited, 20_000, 'the app to quit')).resolves.toEqual({ state: 'stopped', workerAlive: false });
  });

  it('quits at once when no worker runs', async () => {
    const setup = setUp();
    const quit = new Promise<SupervisorState['status']>((resolve) => setup.electron.app.once('quit', () => resolve(setup.forked.supervisor.state.status)));
    setup.electron.app.quit();
    await expect(within(quit, 5_000, 'the app to quit')).resolves.toBe('stopped');
  });
});

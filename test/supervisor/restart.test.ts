import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SupervisorState } from '../../main/supervisor/supervisor.js';
import { toServerState } from '../../main/shell/ipc-handlers.js';
import { trayMenu } from '../../main/shell/tray-menu.js';
import { forkSupervisor } from '../helpers/fork-supervisor.js';
import { request } from '../helpers/http.js';
import { isAlive } from '../helpers/serve.js';

/* The tray's Restart and Start with a real worker: after supervision gave up, and on the same port. */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function occupy(): Promise<{ port: number; release: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('Supervisor.restart', () => {
  it('after a start that failed for good (port taken): the tray says why and offers Restart, which serves once the port is free', async () => {
    const taken = await occupy();
    const forked = forkSupervisor({ AGENTED_PORT: String(taken.port) });
    cleanups.push(forked.close, taken.release);
    const { supervisor } = forked;

    await expect(supervisor.start()).rejects.toThrow(/EADDRINUSE/);
    expect(supervisor.state.status).toBe('crashed');
    const menu = trayMenu({ server: toServerState(supervisor.state), tunnel: supervisor.tunnel });
    expect(menu[0]).toMatchObject({ kind: 'status', label: expect.stringMatching(/^Crashed: EADDRINUSE/) });
    expect(menu).toContainEqual({ kind: 'action', action: 'restart', label: 'Restart', enabled: true });

    await taken.release();
    const running = await supervisor.restart();
    expect(running.port).toBe(taken.port);
    expect((await request(running.url, { path: '/health/live' })).status).toBe(200);
  });

  it('while running: a new worker on the same port, the old one gone', async () => {
    const forked = forkSupervisor();
    cleanups.push(forked.close);
    const { supervisor } = forked;
    const first = await supervisor.start();
    const states: SupervisorState['status'][] = [];
    supervisor.on('state', (state) => states.push(state.status));

    const second = await supervisor.restart();
    expect(second.pid).not.toBe(first.pid);
    expect(second.port).toBe(first.port);
    expect(isAlive(first.pid)).toBe(false);
    expect(states).toEqual(['stopping', 'stopped', 'starting', 'running']);
    // The restart is no crash: nothing was counted.
    expect(second.restarts).toBe(0);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../common/audit.js';
import type { TunnelSummary, TunnelView } from '../../common/tunnel.js';
import { toServerState } from '../../main/shell/ipc-handlers.js';
import { trayMenu } from '../../main/shell/tray-menu.js';
import type { Supervisor } from '../../main/supervisor/supervisor.js';
import { forkSupervisor, type ForkedSupervisor } from '../helpers/fork-supervisor.js';
import { request } from '../helpers/http.js';
import { startSmeeRelay } from '../helpers/stand-ins/smee-relay.js';

/*
 * The tray's view of the tunnel and its on/off switch, end to end under Node:
 * the Supervisor in this process, the real worker forked as `agented serve`
 * forks it, and the worker's own HTTP API to check what it did. The Electron
 * shell renders `trayMenu` from exactly these values (main/shell/tray.ts).
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(env: Record<string, string> = {}): ForkedSupervisor {
  const forked = forkSupervisor(env);
  cleanups.push(forked.close);
  return forked;
}

/** The supervisor's tunnel once it satisfies `check` (now, or in a later 'tunnel' event). */
function tunnelWhere(supervisor: Supervisor, what: string, check: (tunnel: TunnelSummary) => boolean, timeoutMs = 15_000): Promise<TunnelSummary> {
  const now = supervisor.tunnel;
  if (now && check(now)) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      supervisor.off('tunnel', listener);
      reject(new Error(`${what}: not reported within ${timeoutMs} ms (last: ${JSON.stringify(supervisor.tunnel)})`));
    }, timeoutMs);
    const listener = (tunnel: TunnelSummary | undefined) => {
      if (!tunnel || !check(tunnel)) return;
      clearTimeout(timer);
      supervisor.off('tunnel', listener);
      resolve(tunnel);
    };
    supervisor.on('tunnel', listener);
  });
}

async function api<T>(forked: ForkedSupervisor, method: string, path: string, body?: unknown): Promise<T> {
  const state = forked.supervisor.state;
  if (state.status !== 'running') throw new Error(`the worker is ${state.status}`);
  const response = await request(state.url, {
    method,
    path,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { ...forked.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
  if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${response.body}`);
  return response.json<T>();
}

describe('the tunnel, as the supervisor hears it from a real worker', () => {
  it('reports the tunnel, switches it off and back on to the provider it had, and the switch outlives a restart', async () => {
    const forked = start();
    const { supervisor } = forked;
    const seen: (TunnelSummary | undefined)[] = [];
    supervisor.on('tunnel', (tunnel) => seen.push(tunnel));
    await supervisor.start();
    expect(await tunnelWhere(supervisor, 'the tunnel at start', (tunnel) => tunnel.status === 'off')).toEqual({
      provider: 'off',
      status: 'off',
      publicUrl: null,
      webhookUrlTemplate: null,
      error: null,
      fixedByEnvironment: [],
    });

    // Chosen in the app (PUT /api/tunnel): the worker pushes the change, and the tray offers the public URL.
    await api(forked, 'PUT', '/api/tunnel', { provider: 'custom', publicUrl: 'https://hooks.example.com' });
    const custom = await tunnelWhere(supervisor, 'the custom tunnel', (tunnel) => tunnel.status === 'up');
    expect(custom).toMatchObject({ provider: 'custom', publicUrl: 'https://hooks.example.com', webhookUrlTemplate: 'https://hooks.example.com{webhookPath}' });
    const menu = trayMenu({ server: toServerState(supervisor.state), tunnel: supervisor.tunnel });
    expect(menu).toContainEqual({ kind: 'action', action: 'copy-webhook-url', label: 'Copy webhook URL (https://hooks.example.com/hooks/)', enabled: true });
    expect(menu).toContainEqual({ kind: 'action', action: 'tunnel-off', label: 'Turn tunnel off', enabled: true });

    // Off from the tray: honoured, stored, audited as the tray's doing; the custom URL is kept.
    expect(await supervisor.setTunnel(false)).toMatchObject({ provider: 'off', status: 'off', webhookUrlTemplate: null });
    expect(supervisor.tunnel).toMatchObject({ provider: 'off', status: 'off' });
    expect(await api<TunnelView>(forked, 'GET', '/api/tunnel')).toMatchObject({ provider: 'off', status: 'off', settings: { publicUrl: 'https://hooks.example.com' } });
    const audit = await api<{ items: AuditEntry[] }>(forked, 'GET', '/api/audit');
    expect(audit.items[0]).toMatchObject({ action: 'settings.updated', actor: 'tray', detail: { tunnel: { tunnel: 'off' } } });
    expect(trayMenu({ server: toServerState(supervisor.state), tunnel: supervisor.tunnel })).toContainEqual({ kind: 'action', action: 'tunnel-on', label: 'Turn tunnel on', enabled: true });

    // Stored like any choice: a restarted worker keeps it off. While no worker runs, nothing is known of a tunnel.
    const before = seen.length;
    await supervisor.restart();
    expect(seen.slice(before)).toContain(undefined);
    expect(await tunnelWhere(supervisor, 'the tunnel after the restart', () => true)).toMatchObject({ provider: 'off', status: 'off' });

    // On again: the provider that was turned off, with its URL.
    expect(await supervisor.setTunnel(true)).toMatchObject({ provider: 'custom', status: 'up', publicUrl: 'https://hooks.example.com' });
    expect(await api<TunnelView>(forked, 'GET', '/api/tunnel')).toMatchObject({ provider: 'custom', status: 'up' });
    // Switching to what already is changes nothing.
    expect(await supervisor.setTunnel(true)).toMatchObject({ provider: 'custom', status: 'up' });

    await supervisor.stop();
    expect(supervisor.tunnel).toBeUndefined();
    await expect(supervisor.setTunnel(false)).rejects.toThrow(/not running/);
  });

  it('turns on smee when no provider was ever chosen, creating its channel', async () => {
    const relay = await startSmeeRelay();
    cleanups.push(() => relay.close());
    const forked = start({ AGENTED_SMEE_SERVER: relay.url });
    await forked.supervisor.start();
    await tunnelWhere(forked.supervisor, 'the tunnel at start', (tunnel) => tunnel.status === 'off');

    const on = await forked.supervisor.setTunnel(true);
    expect(on).toMatchObject({ provider: 'smee', status: 'up', fixedByEnvironment: ['AGENTED_SMEE_SERVER'] });
    expect(relay.created).toHaveLength(1);
    expect(on.webhookUrlTemplate).toBe(`${relay.url}/${relay.created[0]}?path={webhookPath}`);
    expect(trayMenu({ server: toServerState(forked.supervisor.state), tunnel: on })).toContainEqual(
      expect.objectContaining({ action: 'copy-webhook-url', label: `Copy webhook URL (${relay.url}/${relay.created[0]}?path=/hooks/)` }),
    );
  });

  it('a provider set by AGENTED_TUNNEL cannot be switched from the tray: refused with the reason, the tunnel stays up', async () => {
    const forked = start({ AGENTED_TUNNEL: 'custom', AGENTED_TUNNEL_PUBLIC_URL: 'https://agented.example.org' });
    const { supervisor } = forked;
    await supervisor.start();
    const up = await tunnelWhere(supervisor, 'the tunnel from the environment', (tunnel) => tunnel.status === 'up');
    expect(up).toMatchObject({ provider: 'custom', publicUrl: 'https://agented.example.org', fixedByEnvironment: ['AGENTED_TUNNEL', 'AGENTED_TUNNEL_PUBLIC_URL'] });
    // The tray says why its switch does nothing.
    expect(trayMenu({ server: toServerState(supervisor.state), tunnel: up })).toContainEqual({
      kind: 'action',
      action: 'tunnel-off',
      label: 'Turn tunnel off (set by AGENTED_TUNNEL)',
      enabled: false,
    });

    await expect(supervisor.setTunnel(false)).rejects.toThrow(/AGENTED_TUNNEL is set in the environment/);
    expect(await api<TunnelView>(forked, 'GET', '/api/tunnel')).toMatchObject({ provider: 'custom', status: 'up' });
    expect(supervisor.tunnel).toMatchObject({ provider: 'custom', status: 'up' });
    expect(forked.sink.lines.some((line) => line.includes('ignored a malformed message'))).toBe(false);
  });
});

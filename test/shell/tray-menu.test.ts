import { describe, expect, it } from 'vitest';
import type { ServerState } from '../../common/preload-api.js';
import type { TunnelSummary } from '../../common/tunnel.js';
import { trayMenu, type TrayAction, type TrayMenuItem } from '../../main/shell/tray-menu.js';

const states: Record<ServerState['status'], ServerState> = {
  stopped: { status: 'stopped' },
  starting: { status: 'starting', restarts: 0 },
  running: { status: 'running', url: 'http://127.0.0.1:8787', port: 8787, restarts: 0 },
  restarting: { status: 'restarting', reason: 'killed by SIGKILL', delayMs: 100, restarts: 1 },
  stopping: { status: 'stopping' },
  crashed: { status: 'crashed', reason: 'the worker crashed 5 times within 60 s' },
};

function enabled(items: TrayMenuItem[]): TrayAction[] {
  return items.flatMap((item) => (item.kind === 'action' && item.enabled ? [item.action] : []));
}

function status(items: TrayMenuItem[]): string {
  const first = items[0];
  if (first?.kind !== 'status') throw new Error('the menu starts with the status line');
  return first.label;
}

describe('tray menu', () => {
  it.each([
    ['running', 'Running on :8787', ['open', 'stop', 'restart', 'copy-webhook-url', 'open-logs', 'quit']],
    ['stopped', 'Stopped', ['start', 'open-logs', 'quit']],
    ['starting', 'Starting…', ['stop', 'open-logs', 'quit']],
    ['restarting', 'Restarting (killed by SIGKILL)…', ['stop', 'open-logs', 'quit']],
    ['stopping', 'Stopping…', ['open-logs', 'quit']],
    ['crashed', 'Crashed: the worker crashed 5 times within 60 s', ['start', 'restart', 'open-logs', 'quit']],
  ] as const)('%s: says "%s" and offers %j', (state, label, actions) => {
    const items = trayMenu({ server: states[state] });
    expect(status(items)).toBe(label);
    expect(enabled(items)).toEqual(actions);
  });

  it.each([
    [{ status: 'stopping', policy: 'finish', executions: 2 }, 'Stopping — waiting for 2 executions to finish', ['cancel-executions', 'open-logs', 'quit']],
    [{ status: 'stopping', policy: 'finish', executions: 1 }, 'Stopping — waiting for 1 execution to finish', ['cancel-executions', 'open-logs', 'quit']],
    [{ status: 'stopping', policy: 'cancel', executions: 3 }, 'Stopping — cancelling 3 executions', ['open-logs', 'quit']],
    [{ status: 'stopping', policy: 'finish', executions: 0 }, 'Stopping…', ['open-logs', 'quit']],
  ] as const satisfies readonly [ServerState, string, TrayAction[]][])('stopping per the stop policy %j: says "%s" and offers %j', (server, label, actions) => {
    const items = trayMenu({ server });
    expect(status(items)).toBe(label);
    expect(enabled(items)).toEqual(actions);
  });

  it('while waiting for executions to finish, offers to cancel them and stop now', () => {
    const items = trayMenu({ server: { status: 'stopping', policy: 'finish', executions: 2 } });
    expect(items).toContainEqual({ kind: 'action', action: 'cancel-executions', label: 'Stop now: cancel 2 executions', enabled: true });
    // Not while running, nor once cancelling.
    expect(trayMenu({ server: states.running }).some((entry) => entry.kind === 'action' && entry.action === 'cancel-executions')).toBe(false);
    expect(trayMenu({ server: { status: 'stopping', policy: 'cancel', executions: 2 } }).some((entry) => entry.kind === 'action' && entry.action === 'cancel-executions')).toBe(false);
  });

  const item = (items: TrayMenuItem[], action: TrayAction) => items.find((entry) => entry.kind === 'action' && entry.action === action);

  it('copies the local webhook URL while running, and the public one while a tunnel is up', () => {
    expect(item(trayMenu({ server: states.running }), 'copy-webhook-url')).toMatchObject({ label: 'Copy webhook URL (http://127.0.0.1:8787/hooks/)', enabled: true });
    const ngrok = { provider: 'ngrok', status: 'up', publicUrl: 'https://abc.ngrok.app', webhookUrlTemplate: 'https://abc.ngrok.app{webhookPath}', error: null, fixedByEnvironment: [] } satisfies TunnelSummary;
    const up = trayMenu({ server: states.running, tunnel: ngrok });
    expect(item(up, 'copy-webhook-url')).toMatchObject({ label: 'Copy webhook URL (https://abc.ngrok.app/hooks/)', enabled: true });
    expect(up).toContainEqual({ kind: 'status', label: 'Tunnel (ngrok): https://abc.ngrok.app' });
    expect(item(up, 'tunnel-off')).toMatchObject({ enabled: true });
    // smee has no room for a path in its channel URL: the path rides in the query.
    const smee = { provider: 'smee', status: 'up', publicUrl: 'https://smee.io/abc', webhookUrlTemplate: 'https://smee.io/abc?path={webhookPath}', error: null, fixedByEnvironment: [] } satisfies TunnelSummary;
    expect(item(trayMenu({ server: states.running, tunnel: smee }), 'copy-webhook-url')).toMatchObject({ label: 'Copy webhook URL (https://smee.io/abc?path=/hooks/)' });
    // A tunnel that failed: the local URL, and the reason.
    const failed = trayMenu({ server: states.running, tunnel: { ...ngrok, status: 'error', publicUrl: null, error: 'authtoken missing' } });
    expect(item(failed, 'copy-webhook-url')).toMatchObject({ label: 'Copy webhook URL (http://127.0.0.1:8787/hooks/)' });
    expect(failed).toContainEqual({ kind: 'status', label: 'Tunnel (ngrok): authtoken missing' });
    const off = trayMenu({ server: states.running, tunnel: { provider: 'off', status: 'off', publicUrl: null, webhookUrlTemplate: null, error: null, fixedByEnvironment: [] } });
    expect(item(off, 'tunnel-on')).toMatchObject({ label: 'Turn tunnel on', enabled: true });
    expect(item(trayMenu({ server: states.stopped, tunnel: ngrok }), 'copy-webhook-url')).toMatchObject({ enabled: false });
  });

  it('cannot switch a tunnel whose provider the environment sets, and says so', () => {
    const fixed = { provider: 'custom', status: 'up', publicUrl: 'https://hooks.example.com', webhookUrlTemplate: 'https://hooks.example.com{webhookPath}', error: null, fixedByEnvironment: ['AGENTED_TUNNEL', 'AGENTED_TUNNEL_PUBLIC_URL'] } satisfies TunnelSummary;
    expect(item(trayMenu({ server: states.running, tunnel: fixed }), 'tunnel-off')).toEqual({ kind: 'action', action: 'tunnel-off', label: 'Turn tunnel off (set by AGENTED_TUNNEL)', enabled: false });
    // Only the provider matters: the switch changes nothing else.
    const urlOnly = { ...fixed, fixedByEnvironment: ['AGENTED_TUNNEL_PUBLIC_URL'] };
    expect(item(trayMenu({ server: states.running, tunnel: urlOnly }), 'tunnel-off')).toMatchObject({ label: 'Turn tunnel off', enabled: true });
    // No worker, no switch: the tunnel lives in the worker.
    expect(item(trayMenu({ server: states.crashed }), 'tunnel-on')).toMatchObject({ enabled: false });
  });
});

import { describe, expect, it } from 'vitest';
import type { ServerState } from '../../common/preload-api.js';
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

  it('copies the local webhook URL while running, and the public one when a tunnel gives one', () => {
    const local = trayMenu({ server: states.running }).find((item) => item.kind === 'action' && item.action === 'copy-webhook-url');
    expect(local).toMatchObject({ label: 'Copy webhook URL (http://127.0.0.1:8787/hooks/)', enabled: true });
    const remote = trayMenu({ server: states.stopped, publicUrl: 'https://abc.example.dev' }).find((item) => item.kind === 'action' && item.action === 'copy-webhook-url');
    expect(remote).toMatchObject({ label: 'Copy webhook URL (https://abc.example.dev/hooks/)', enabled: true });
  });
});

import type { ServerState } from '../../common/preload-api.js';

/** What a tray item does when clicked; the Electron side maps each to its effect. */
export type TrayAction = 'start' | 'stop' | 'restart' | 'open' | 'copy-webhook-url' | 'open-logs' | 'quit';

export type TrayMenuItem =
  | { kind: 'status'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean };

export interface TrayMenuInput {
  server: ServerState;
  /** A public base URL for webhooks (a tunnel or the user's own proxy); the local one otherwise. */
  publicUrl?: string;
}

function statusLabel(server: ServerState): string {
  switch (server.status) {
    case 'running':
      return `Running on :${server.port}`;
    case 'starting':
      return 'Starting…';
    case 'restarting':
      return `Restarting (${server.reason})…`;
    case 'stopping':
      return 'Stopping…';
    case 'stopped':
      return 'Stopped';
    case 'crashed':
      return `Crashed: ${server.reason}`;
    default:
      return server satisfies never;
  }
}

/**
 * The tray menu as a pure function of the server's state: what it says and
 * which items can be used. The Electron shell only renders it (and re-renders
 * on every state change), so every state is tested under Node.
 */
export function trayMenu({ server, publicUrl }: TrayMenuInput): TrayMenuItem[] {
  const running = server.status === 'running';
  const busy = server.status === 'starting' || server.status === 'restarting' || server.status === 'stopping';
  const down = server.status === 'stopped' || server.status === 'crashed';
  const webhookBase = publicUrl ?? (running ? server.url : undefined);
  return [
    { kind: 'status', label: statusLabel(server) },
    { kind: 'separator' },
    { kind: 'action', action: 'open', label: 'Open Agented', enabled: running },
    { kind: 'action', action: 'start', label: 'Start', enabled: down },
    { kind: 'action', action: 'stop', label: 'Stop', enabled: running || (busy && server.status !== 'stopping') },
    { kind: 'action', action: 'restart', label: 'Restart', enabled: running || server.status === 'crashed' },
    { kind: 'separator' },
    {
      kind: 'action',
      action: 'copy-webhook-url',
      label: webhookBase ? `Copy webhook URL (${new URL('/hooks/', webhookBase).href})` : 'Copy webhook URL',
      enabled: webhookBase !== undefined,
    },
    { kind: 'action', action: 'open-logs', label: 'Open logs folder', enabled: true },
    { kind: 'separator' },
    { kind: 'action', action: 'quit', label: 'Quit Agented', enabled: true },
  ];
}

import type { ServerState } from '../../common/preload-api.js';
import { publicWebhookUrl, type TunnelSummary } from '../../common/tunnel.js';

/** What a tray item does when clicked; the Electron side maps each to its effect. */
export type TrayAction = 'start' | 'stop' | 'restart' | 'cancel-executions' | 'open' | 'copy-webhook-url' | 'tunnel-on' | 'tunnel-off' | 'open-logs' | 'quit';

export type TrayMenuItem =
  | { kind: 'status'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean };

export interface TrayMenuInput {
  server: ServerState;
  /** The tunnel as the worker last reported it (the Supervisor's `tunnel`), when a worker runs. */
  tunnel?: TunnelSummary;
}

/** The setting the tray's switch changes; when the environment sets it, the switch cannot (docs/tunnels.md). */
const PROVIDER_VARIABLE = 'AGENTED_TUNNEL';

function tunnelSwitch(server: ServerState, tunnel: TunnelSummary | undefined): TrayMenuItem {
  const on = tunnel !== undefined && tunnel.provider !== 'off';
  const action = on ? 'tunnel-off' : 'tunnel-on';
  const label = on ? 'Turn tunnel off' : 'Turn tunnel on';
  if (tunnel?.fixedByEnvironment.includes(PROVIDER_VARIABLE)) return { kind: 'action', action, label: `${label} (set by ${PROVIDER_VARIABLE})`, enabled: false };
  return { kind: 'action', action, label, enabled: server.status === 'running' && tunnel !== undefined };
}

function tunnelLabel(tunnel: NonNullable<TrayMenuInput['tunnel']>): string {
  switch (tunnel.status) {
    case 'up':
      return `Tunnel (${tunnel.provider}): ${tunnel.publicUrl ?? 'up'}`;
    case 'starting':
      return `Tunnel (${tunnel.provider}): starting…`;
    case 'error':
      return `Tunnel (${tunnel.provider}): ${tunnel.error ?? 'failed'}`;
    case 'off':
      return 'Tunnel: off';
    default:
      return tunnel.status satisfies never;
  }
}

const executionsWord = (count: number) => `${count} execution${count === 1 ? '' : 's'}`;

/** While the worker ends its executions (docs/executions.md, "When Agented stops"), the tray says how many and how. */
function stoppingLabel(server: Extract<ServerState, { status: 'stopping' }>): string {
  const { executions, policy } = server;
  if (executions === undefined || executions === 0 || policy === undefined) return 'Stopping…';
  return policy === 'finish' ? `Stopping — waiting for ${executionsWord(executions)} to finish` : `Stopping — cancelling ${executionsWord(executions)}`;
}

/** While a stop waits for executions to finish, the tray offers to cancel them instead (a second stop request). */
function cancelWhileFinishing(server: ServerState): TrayMenuItem[] {
  if (server.status !== 'stopping' || server.policy !== 'finish' || !server.executions) return [];
  return [{ kind: 'action', action: 'cancel-executions', label: `Stop now: cancel ${executionsWord(server.executions)}`, enabled: true }];
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
      return stoppingLabel(server);
    case 'stopped':
      return 'Stopped';
    case 'crashed':
      return `Crashed: ${server.reason}`;
    default:
      return server satisfies never;
  }
}

/**
 * What "Copy webhook URL" copies: the public URL when a tunnel is up (for
 * smee the path rides in the query), else the local one; nothing while no
 * worker serves.
 */
export function trayWebhookUrl({ server, tunnel }: TrayMenuInput): string | undefined {
  if (server.status !== 'running') return undefined;
  const publicHooks = tunnel?.status === 'up' ? publicWebhookUrl(tunnel, '/hooks/') : null;
  return publicHooks ?? new URL('/hooks/', server.url).href;
}

/**
 * The tray menu as a pure function of the server's state: what it says and
 * which items can be used. The Electron shell only renders it (and re-renders
 * on every state change), so every state is tested under Node.
 */
export function trayMenu({ server, tunnel }: TrayMenuInput): TrayMenuItem[] {
  const running = server.status === 'running';
  const busy = server.status === 'starting' || server.status === 'restarting' || server.status === 'stopping';
  const down = server.status === 'stopped' || server.status === 'crashed';
  const webhookUrl = trayWebhookUrl({ server, tunnel });
  return [
    { kind: 'status', label: statusLabel(server) },
    { kind: 'separator' },
    { kind: 'action', action: 'open', label: 'Open Agented', enabled: running },
    { kind: 'action', action: 'start', label: 'Start', enabled: down },
    { kind: 'action', action: 'stop', label: 'Stop', enabled: running || (busy && server.status !== 'stopping') },
    { kind: 'action', action: 'restart', label: 'Restart', enabled: running || server.status === 'crashed' },
    ...cancelWhileFinishing(server),
    { kind: 'separator' },
    {
      kind: 'action',
      action: 'copy-webhook-url',
      label: webhookUrl ? `Copy webhook URL (${webhookUrl})` : 'Copy webhook URL',
      enabled: webhookUrl !== undefined,
    },
    ...(running && tunnel ? [{ kind: 'status' as const, label: tunnelLabel(tunnel) }] : []),
    tunnelSwitch(server, tunnel),
    { kind: 'action', action: 'open-logs', label: 'Open logs folder', enabled: true },
    { kind: 'separator' },
    { kind: 'action', action: 'quit', label: 'Quit Agented', enabled: true },
  ];
}

import { toServerState } from './ipc-handlers.js';
import { trayWebhookUrl, type TrayAction } from './tray-menu.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Logger } from '../telemetry/logger.js';

/** What the tray's items act on; the Electron parts come in as functions, so this runs (and is tested) under Node. */
export interface TrayActionDependencies {
  supervisor: Supervisor;
  showWindow(): void;
  /** Electron's `clipboard.writeText`. */
  writeClipboard(text: string): void;
  /** Electron's `shell.openPath`: resolves with an error message, or '' when the folder opened. */
  openFolder(folder: string): Promise<string>;
  logDir: string;
  /** `app.quit()`, which stops the worker gracefully first (lifecycle.ts). */
  quit(): void;
  /** Tells the user that something they asked for did not happen (a desktop notification). */
  warn(title: string, body: string): void;
  logger: Logger;
}

/** A tray item's effect; settles when it is done and never rejects (what fails is logged and shown). */
export type TrayActions = Record<TrayAction, () => Promise<void>>;

/** One effect per tray item; the mapped type fails to compile when an item has none. */
export function trayActions(deps: TrayActionDependencies): TrayActions {
  const { supervisor, logger } = deps;
  const attempt = async (what: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn(`tray: ${what} failed`, { reason });
      deps.warn(`Agented could not ${what}`, reason);
    }
  };
  // A failed start or restart shows in the tray as "Crashed: reason": no second message for it.
  const supervise = async (what: string, action: () => Promise<unknown>) => {
    await action().catch((error: unknown) => logger.warn(`tray: ${what} failed`, { err: error }));
  };
  return {
    start: () => supervise('start the server', () => supervisor.start()),
    stop: () => supervise('stop the server', () => supervisor.stop()),
    restart: () => supervise('restart the server', () => supervisor.restart()),
    // A second stop request: the worker cancels what it was waiting for.
    'cancel-executions': () => supervise('cancel the running executions', () => supervisor.stop({ policy: 'cancel' })),
    open: async () => deps.showWindow(),
    'copy-webhook-url': async () => {
      const url = trayWebhookUrl({ server: toServerState(supervisor.state), tunnel: supervisor.tunnel });
      if (url !== undefined) deps.writeClipboard(url);
    },
    'tunnel-on': () => attempt('turn the tunnel on', () => supervisor.setTunnel(true)),
    'tunnel-off': () => attempt('turn the tunnel off', () => supervisor.setTunnel(false)),
    'open-logs': () =>
      attempt('open the logs folder', async () => {
        const error = await deps.openFolder(deps.logDir);
        if (error !== '') throw new Error(`${deps.logDir}: ${error}`);
      }),
    quit: async () => deps.quit(),
  };
}

import { clipboard, ipcMain, shell, type IpcMainInvokeEvent } from 'electron';
import { preloadChannels, preloadContract, type PreloadChannel } from '../../common/preload-api.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { Logger } from '../telemetry/logger.js';
import type { DesktopActions, IpcHandlers } from './ipc-handlers.js';
import { isSameOrigin } from './window-options.js';

export interface IpcOptions {
  handlers: IpcHandlers;
  /** The worker's origin once it runs; until then no sender is trusted. */
  workerOrigin: () => string | undefined;
  logger: Logger;
}

/**
 * Registers one `ipcMain.handle` per preload channel. Only the top frame of a
 * page served by the worker may call: anything else (a navigated-away window,
 * an iframe, another origin) is refused, per
 * https://www.electronjs.org/docs/latest/tutorial/security#17-validate-the-sender-of-all-ipc-messages.
 * The arguments are parsed against the contract before a handler sees them:
 * a trusted sender can still run hostile script (an XSS), so an unlisted link
 * or an oversized text is refused here, whoever sends it.
 */
export function registerIpcHandlers(options: IpcOptions): Disposable {
  for (const channel of preloadChannels) {
    ipcMain.handle(channel, async (event, ...args: unknown[]) => {
      if (!isTrustedSender(event, options.workerOrigin())) {
        options.logger.warn('refused an IPC call from an untrusted sender', { channel, sender_url: event.senderFrame?.url });
        throw new Error(`${channel}: sender not allowed`);
      }
      const parsed = preloadContract[channel].args.safeParse(args);
      if (!parsed.success) {
        // The arguments themselves stay out of the log: a refused text may be a secret the page meant to copy.
        options.logger.warn('refused an IPC call with invalid arguments', { channel, issues: parsed.error.issues.map((issue) => issue.message) });
        throw new Error(`${channel}: invalid arguments: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
      }
      return answer(channel, options.handlers, parsed.data);
    });
  }
  return {
    dispose: () => {
      for (const channel of preloadChannels) ipcMain.removeHandler(channel);
    },
  };
}

/** The desktop side of the handlers: the OS browser and clipboard, through Electron. */
export function desktopActions(): DesktopActions {
  return {
    openExternal: (url) => shell.openExternal(url),
    writeClipboard: (text) => clipboard.writeText(text),
  };
}

function isTrustedSender(event: IpcMainInvokeEvent, workerOrigin: string | undefined): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isSameOrigin(frame.url, workerOrigin);
}

/** Validates the answer against the contract, so a main-side bug never reaches the page as a malformed value. */
async function answer<C extends PreloadChannel>(channel: C, handlers: IpcHandlers, args: readonly unknown[]): Promise<unknown> {
  // The args were parsed by this channel's own schema; TypeScript cannot correlate the two indexed types.
  const handler = handlers[channel] as (...parsed: readonly unknown[]) => unknown;
  return preloadContract[channel].result.parse(await handler(...args));
}

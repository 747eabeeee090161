import { ipcMain, type IpcMainInvokeEvent } from 'electron';
import { preloadChannels, preloadContract, type PreloadChannel } from '../../common/preload-api.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { Logger } from '../telemetry/logger.js';
import type { IpcHandlers } from './ipc-handlers.js';
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
 */
export function registerIpcHandlers(options: IpcOptions): Disposable {
  for (const channel of preloadChannels) {
    ipcMain.handle(channel, async (event) => {
      if (!isTrustedSender(event, options.workerOrigin())) {
        options.logger.warn('refused an IPC call from an untrusted sender', { channel, sender_url: event.senderFrame?.url });
        throw new Error(`${channel}: sender not allowed`);
      }
      return answer(channel, options.handlers);
    });
  }
  return {
    dispose: () => {
      for (const channel of preloadChannels) ipcMain.removeHandler(channel);
    },
  };
}

function isTrustedSender(event: IpcMainInvokeEvent, workerOrigin: string | undefined): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isSameOrigin(frame.url, workerOrigin);
}

/** Validates the answer against the contract, so a main-side bug never reaches the page as a malformed value. */
async function answer<C extends PreloadChannel>(channel: C, handlers: IpcHandlers): Promise<unknown> {
  const handler: () => unknown = handlers[channel];
  return preloadContract[channel].result.parse(await handler());
}

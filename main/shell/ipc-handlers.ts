import { PreloadChannel, type PreloadArgs, type PreloadResult, type ServerState } from '../../common/preload-api.js';
import type { SupervisorState } from '../supervisor/supervisor.js';

/**
 * One handler per preload channel, taking the channel's arguments as main/shell/ipc.ts
 * has parsed them; the mapped type fails to compile when a channel has none.
 */
export type IpcHandlers = { [C in PreloadChannel]: (...args: PreloadArgs<C>) => PreloadResult<C> | Promise<PreloadResult<C>> };

/** What the handlers do to the desktop: Electron's shell and clipboard in the app (see desktopActions in ipc.ts). */
export interface DesktopActions {
  openExternal(url: string): Promise<void>;
  writeClipboard(text: string): void;
}

export interface IpcHandlerDependencies extends DesktopActions {
  supervisorState: () => SupervisorState;
  appVersion: string;
}

/** What main answers on each channel, without electron, so tests can call it. */
export function createIpcHandlers(deps: IpcHandlerDependencies): IpcHandlers {
  return {
    [PreloadChannel.serverState]: () => toServerState(deps.supervisorState()),
    [PreloadChannel.appVersion]: () => deps.appVersion,
    // The link has passed the contract's allowlist (ExternalLink) before it gets here. The OS gets the
    // URL as that check parsed it, not the page's string: another parser may read a different host out
    // of `https://github.com\@evil.test/` (WHATWG: github.com; RFC 3986 parsers: evil.test).
    [PreloadChannel.linksOpenExternal]: async (url) => {
      await deps.openExternal(new URL(url).href);
      return undefined;
    },
    [PreloadChannel.clipboardWriteText]: (text) => {
      deps.writeClipboard(text);
      return undefined;
    },
  };
}

export function toServerState(state: SupervisorState): ServerState {
  switch (state.status) {
    case 'stopped':
      return { status: 'stopped' };
    case 'stopping':
      return { status: 'stopping', ...(state.policy === undefined ? {} : { policy: state.policy }), ...(state.executions === undefined ? {} : { executions: state.executions }) };
    case 'starting':
      return { status: 'starting', restarts: state.restarts };
    case 'running':
      return { status: 'running', url: state.url, port: state.port, restarts: state.restarts };
    case 'restarting':
      return { status: 'restarting', reason: state.reason, delayMs: state.delayMs, restarts: state.restarts };
    case 'crashed':
      return { status: 'crashed', reason: state.reason };
    default:
      return state satisfies never;
  }
}

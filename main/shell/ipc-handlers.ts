import { PreloadChannel, type PreloadResult, type ServerState } from '../../common/preload-api.js';
import type { SupervisorState } from '../supervisor/supervisor.js';

/** One handler per preload channel; the mapped type fails to compile when a channel has none. */
export type IpcHandlers = { [C in PreloadChannel]: () => PreloadResult<C> | Promise<PreloadResult<C>> };

export interface IpcHandlerDependencies {
  supervisorState: () => SupervisorState;
  appVersion: string;
}

/** What main answers on each channel, without electron, so tests can call it. */
export function createIpcHandlers(deps: IpcHandlerDependencies): IpcHandlers {
  return {
    [PreloadChannel.serverState]: () => toServerState(deps.supervisorState()),
    [PreloadChannel.appVersion]: () => deps.appVersion,
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

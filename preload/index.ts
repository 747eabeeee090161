import { contextBridge, ipcRenderer } from 'electron';
import { AppVersion, PreloadChannel, ServerState, type AgentedPreloadApi } from '../common/preload-api.js';

/*
 * The whole surface the page gets: named methods on named channels, never
 * `ipcRenderer` itself. Answers are parsed against the contract, so the
 * renderer's types are true at run time, not merely asserted.
 */
const api: AgentedPreloadApi = {
  server: {
    state: async () => ServerState.parse(await ipcRenderer.invoke(PreloadChannel.serverState)),
  },
  app: {
    version: async () => AppVersion.parse(await ipcRenderer.invoke(PreloadChannel.appVersion)),
  },
};

contextBridge.exposeInMainWorld('agented', api);

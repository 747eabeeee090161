import { contextBridge, ipcRenderer } from 'electron';
import { PreloadChannel, preloadContract, type AgentedPreloadApi, type PreloadArgs, type PreloadChannel as Channel, type PreloadResult } from '../common/preload-api.js';

/** Sends one call on its channel and parses main's answer against the contract. */
async function call<C extends Channel>(channel: C, ...args: PreloadArgs<C>): Promise<PreloadResult<C>> {
  return preloadContract[channel].result.parse(await ipcRenderer.invoke(channel, ...args)) as PreloadResult<C>;
}

/*
 * The whole surface the page gets: named methods on named channels, never
 * `ipcRenderer` itself (nor a generic `call`). Answers are parsed against the
 * contract, so the renderer's types are true at run time, not merely asserted;
 * arguments are parsed by main, which does not trust the page.
 */
const api: AgentedPreloadApi = {
  server: {
    state: () => call(PreloadChannel.serverState),
  },
  app: {
    version: () => call(PreloadChannel.appVersion),
  },
  links: {
    openExternal: (url) => call(PreloadChannel.linksOpenExternal, url),
  },
  clipboard: {
    writeText: (text) => call(PreloadChannel.clipboardWriteText, text),
  },
};

contextBridge.exposeInMainWorld('agented', api);

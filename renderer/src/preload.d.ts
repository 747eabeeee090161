import type { AgentedPreloadApi } from '../../common/preload-api.js';

declare global {
  interface Window {
    /** Present inside the desktop app (the preload exposes it); absent in a plain browser. */
    agented?: AgentedPreloadApi;
  }
}

export {};

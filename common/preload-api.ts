// A namespace import lets esbuild drop the parts of zod the preload bundle does not use.
import * as z from 'zod';
import { StopPolicy } from './stop-policy.js';

/**
 * The contract between the renderer and the Electron main process: what
 * `window.agented` offers, one named channel per method. There is no generic
 * `invoke(channel, …)`, so a compromised page can reach nothing else
 * (https://www.electronjs.org/docs/latest/tutorial/context-isolation#security-considerations).
 */

export const PreloadChannel = {
  serverState: 'agented:server:state',
  appVersion: 'agented:app:version',
} as const;
export type PreloadChannel = (typeof PreloadChannel)[keyof typeof PreloadChannel];

export const preloadChannels: readonly PreloadChannel[] = Object.values(PreloadChannel);

/**
 * The supervisor's state as the renderer may see it: no process ids, which
 * the page has no use for.
 */
export const ServerState = z.discriminatedUnion('status', [
  z.object({ status: z.literal('stopped') }),
  z.object({ status: z.literal('starting'), restarts: z.number().int().min(0) }),
  z.object({ status: z.literal('running'), url: z.string(), port: z.number().int(), restarts: z.number().int().min(0) }),
  z.object({ status: z.literal('restarting'), reason: z.string(), delayMs: z.number().min(0), restarts: z.number().int().min(0) }),
  /** Once the worker reports on its stop: the stop policy it applies and how many executions it still waits for (or cancels). */
  z.object({ status: z.literal('stopping'), policy: StopPolicy.optional(), executions: z.number().int().min(0).optional() }),
  /** Supervision gave up: a fatal start-up error, or too many crashes. */
  z.object({ status: z.literal('crashed'), reason: z.string() }),
]);
export type ServerState = z.infer<typeof ServerState>;

export const AppVersion = z.string().min(1);
export type AppVersion = z.infer<typeof AppVersion>;

/** What main answers on each channel. None of them takes an argument. */
export const preloadContract = {
  [PreloadChannel.serverState]: { result: ServerState },
  [PreloadChannel.appVersion]: { result: AppVersion },
} as const satisfies Record<PreloadChannel, { result: z.ZodType }>;

export type PreloadResult<C extends PreloadChannel> = z.infer<(typeof preloadContract)[C]['result']>;

/** `window.agented`, namespaced like its channels. */
export interface AgentedPreloadApi {
  server: {
    state(): Promise<ServerState>;
  };
  app: {
    version(): Promise<AppVersion>;
  };
}

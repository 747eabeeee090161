// A namespace import lets esbuild drop the parts of zod the preload bundle does not use.
import * as z from 'zod';
import { EXTERNAL_LINK_MAX_LENGTH, isAllowedExternalLink } from './external-links.js';
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
  linksOpenExternal: 'agented:links:openExternal',
  clipboardWriteText: 'agented:clipboard:writeText',
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

/**
 * A link for the OS browser: https: on an allowlisted host (common/external-links.ts).
 * Main parses it before opening anything; the renderer may use the same check
 * to decide whether to offer a link at all.
 */
export const ExternalLink = z
  .string()
  .max(EXTERNAL_LINK_MAX_LENGTH)
  .refine(isAllowedExternalLink, { message: 'only https: links to an allowlisted host may be opened' });
export type ExternalLink = z.infer<typeof ExternalLink>;

/** As long as the longest log line the runner keeps in one piece (main/executions/agent-process.ts), so the Raw copy of any line fits. */
export const CLIPBOARD_TEXT_MAX_LENGTH = 1024 * 1024;
export const ClipboardText = z.string().max(CLIPBOARD_TEXT_MAX_LENGTH);
export type ClipboardText = z.infer<typeof ClipboardText>;

/**
 * Per channel: the arguments the renderer may send (a tuple, parsed by main
 * before its handler runs, since the page is not trusted) and what main
 * answers (parsed by the preload, and by main before it answers).
 */
export const preloadContract = {
  [PreloadChannel.serverState]: { args: z.tuple([]), result: ServerState },
  [PreloadChannel.appVersion]: { args: z.tuple([]), result: AppVersion },
  [PreloadChannel.linksOpenExternal]: { args: z.tuple([ExternalLink]), result: z.undefined() },
  [PreloadChannel.clipboardWriteText]: { args: z.tuple([ClipboardText]), result: z.undefined() },
} as const satisfies Record<PreloadChannel, { args: z.ZodTuple; result: z.ZodType }>;

export type PreloadArgs<C extends PreloadChannel> = z.infer<(typeof preloadContract)[C]['args']>;
export type PreloadResult<C extends PreloadChannel> = z.infer<(typeof preloadContract)[C]['result']>;

/** `window.agented`, namespaced like its channels. */
export interface AgentedPreloadApi {
  server: {
    state(): Promise<ServerState>;
  };
  app: {
    version(): Promise<AppVersion>;
  };
  links: {
    /** Opens the link in the OS browser; rejects a link that is not https: on an allowlisted host. */
    openExternal(url: string): Promise<void>;
  };
  clipboard: {
    /** Replaces the clipboard's text; rejects text past CLIPBOARD_TEXT_MAX_LENGTH. */
    writeText(text: string): Promise<void>;
  };
}

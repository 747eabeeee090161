import { z } from 'zod';
import { DesktopNotification } from './notifications.js';
import { StopPolicy } from './stop-policy.js';
import { TunnelSummary } from './tunnel.js';

/**
 * Messages between the supervisor and its API worker. Both hosts (Node's
 * child_process IPC and Electron's utilityProcess port) carry these shapes.
 */

/** Stored settings that only the desktop shell applies (the worker owns the database where they live). */
export const DesktopSettings = z.object({ startAtLogin: z.boolean() });
export type DesktopSettings = z.infer<typeof DesktopSettings>;

export const WorkerToSupervisor = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), port: z.number().int(), url: z.string(), pid: z.number().int() }),
  /** The answer to `issue-login-url`: the link, and how long its token is valid (the worker's setting, stored ones included). */
  z.object({ type: z.literal('login-url'), requestId: z.string(), url: z.string(), validForSeconds: z.number().int().positive() }),
  /** A start-up failure that a restart cannot fix (bad config, locked keychain, newer database). */
  z.object({ type: z.literal('fatal'), code: z.string(), message: z.string() }),
  /** For the desktop shell to show (`agented serve` writes it to its log). */
  z.object({ type: z.literal('notification'), notification: DesktopNotification }),
  /** The tunnel, at start and whenever what the tray shows of it changes. */
  z.object({ type: z.literal('tunnel'), tunnel: TunnelSummary }),
  /** The answer to `switch-tunnel`: the tunnel after the attempt, and why it was refused (null when it was not). */
  z.object({ type: z.literal('tunnel-switched'), requestId: z.string(), tunnel: TunnelSummary, error: z.string().nullable() }),
  /** At start and whenever PATCH /api/settings stores settings. */
  z.object({ type: z.literal('desktop-settings'), settings: DesktopSettings }),
  /**
   * The worker is stopping: when the stop begins, whenever a running
   * execution ends, and when the policy changes to `cancel`. `boundMs` is the
   * longest it may still take to end its executions; the supervisor waits
   * that long, plus its own stop timeout, before it kills the worker.
   */
  z.object({ type: z.literal('stopping'), policy: StopPolicy, executions: z.number().int().min(0), boundMs: z.number().min(0) }),
]);
export type WorkerToSupervisor = z.infer<typeof WorkerToSupervisor>;

export const SupervisorToWorker = z.discriminatedUnion('type', [
  /** Stop per the stored stop policy, or per `policy` when given: a second stop request sends `cancel`, which also cuts a `finish` short. */
  z.object({ type: z.literal('shutdown'), policy: StopPolicy.optional() }),
  z.object({ type: z.literal('issue-login-url'), requestId: z.string() }),
  /** The tray's tunnel switch: off, or back on to the provider last turned off (docs/tunnels.md). */
  z.object({ type: z.literal('switch-tunnel'), requestId: z.string(), on: z.boolean() }),
]);
export type SupervisorToWorker = z.infer<typeof SupervisorToWorker>;

/** Exit code a worker uses for a fatal start-up error: the supervisor does not restart it. */
export const WORKER_EXIT_FATAL = 78;

import { z } from 'zod';
import { DesktopNotification } from './notifications.js';

/**
 * Messages between the supervisor and its API worker. Both hosts (Node's
 * child_process IPC and Electron's utilityProcess port) carry these shapes.
 */

export const WorkerToSupervisor = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), port: z.number().int(), url: z.string(), pid: z.number().int() }),
  z.object({ type: z.literal('login-url'), requestId: z.string(), url: z.string() }),
  /** A start-up failure that a restart cannot fix (bad config, locked keychain, newer database). */
  z.object({ type: z.literal('fatal'), code: z.string(), message: z.string() }),
  /** For the desktop shell to show (`agented serve` writes it to its log). */
  z.object({ type: z.literal('notification'), notification: DesktopNotification }),
]);
export type WorkerToSupervisor = z.infer<typeof WorkerToSupervisor>;

export const SupervisorToWorker = z.discriminatedUnion('type', [
  z.object({ type: z.literal('shutdown') }),
  z.object({ type: z.literal('issue-login-url'), requestId: z.string() }),
]);
export type SupervisorToWorker = z.infer<typeof SupervisorToWorker>;

/** Exit code a worker uses for a fatal start-up error: the supervisor does not restart it. */
export const WORKER_EXIT_FATAL = 78;

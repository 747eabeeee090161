// A namespace import, as in preload-api.ts: the preload bundle imports this file too.
import * as z from 'zod';

/**
 * What a Stop (the tray's Stop, Restart and Quit; SIGINT or SIGTERM to
 * `agented serve`) does to running executions (docs/executions.md, "When
 * Agented stops"): `finish` lets them end on their own, up to
 * AGENTED_STOP_FINISH_TIMEOUT_S, then cancels what is left; `cancel` stops
 * them at once. Either way they end `cancelled` when stopped, and queued
 * executions stay queued for the next start.
 */
export const StopPolicy = z.enum(['finish', 'cancel']);
export type StopPolicy = z.infer<typeof StopPolicy>;

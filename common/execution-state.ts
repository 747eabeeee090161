import { z } from 'zod';

/**
 * The states of an execution (CONTRACT.md, "Execution states"). In a file of
 * its own so that both the execution and the trigger schemas can name it
 * without importing each other.
 */
export const ExecutionState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted', 'skipped']);
export type ExecutionState = z.infer<typeof ExecutionState>;

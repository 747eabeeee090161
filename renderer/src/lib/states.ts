import type { ExecutionState } from '../../../common/executions.js';

/** How each execution state reads, in words a person uses. */
export const stateLabels: Record<ExecutionState, string> = {
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  timed_out: 'timed out',
  interrupted: 'interrupted',
  skipped: 'skipped',
};

export const executionStates = Object.keys(stateLabels) as ExecutionState[];

const active: ReadonlySet<ExecutionState> = new Set(['queued', 'running']);

export function isActive(state: ExecutionState): boolean {
  return active.has(state);
}

/** States that went wrong (skipped and cancelled were someone's choice). */
export function isFailure(state: ExecutionState): boolean {
  return state === 'failed' || state === 'timed_out' || state === 'interrupted';
}

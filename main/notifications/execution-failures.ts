import type { Disposable } from '../lifecycle/disposables.js';
import type { ExecutionRepository } from '../storage/execution-repository.js';
import type { TriggerRepository } from '../storage/trigger-repository.js';
import type { Notifier } from './notifier.js';

/**
 * Notifies when an execution ends `failed` or `timed_out` (clicking the
 * desktop notification opens it). Cancelled, skipped and interrupted
 * executions are not failures of the agent, and say nothing. The listener
 * runs inside the repository's state change: it only queues.
 */
export function notifyExecutionFailures(deps: { executions: ExecutionRepository; triggers: TriggerRepository; notifier: Notifier }): Disposable {
  return deps.executions.onChange((change) => {
    if (change.kind !== 'state' || (change.state !== 'failed' && change.state !== 'timed_out')) return;
    const name = deps.triggers.get(change.triggerId)?.definition.name ?? change.triggerId;
    deps.notifier.notify({
      kind: 'execution_failed',
      title: change.state === 'timed_out' ? `Execution of "${name}" timed out` : `Execution of "${name}" failed`,
      body: change.reason ?? 'No reason was recorded.',
      data: { executionId: change.id, triggerId: change.triggerId, state: change.state },
    });
  });
}

import type { ExecutionState } from '../../common/executions.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { ExecutionRepository, Usage } from '../storage/execution-repository.js';
import type { LogLine } from './log-store.js';

export type LiveMessage =
  | { kind: 'log'; line: LogLine }
  | { kind: 'usage'; usage: Usage }
  /** The last message of an execution's stream. */
  | { kind: 'status'; state: ExecutionState; reason: string | null };

export const TERMINAL_STATES: ReadonlySet<ExecutionState> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted', 'skipped']);

export type LiveSubscriber = (message: LiveMessage) => void;

/**
 * The live side of executions' output: every line, usage update and final
 * status, handed synchronously to whoever watches that execution (the SSE
 * streams). Nothing is kept here — what is missed is read back from the log
 * store by sequence number.
 */
export class LiveOutput {
  private readonly subscribers = new Map<string, Set<LiveSubscriber>>();

  subscribe(executionId: string, subscriber: LiveSubscriber): () => void {
    let set = this.subscribers.get(executionId);
    if (!set) {
      set = new Set();
      this.subscribers.set(executionId, set);
    }
    set.add(subscriber);
    return () => {
      set.delete(subscriber);
      if (set.size === 0 && this.subscribers.get(executionId) === set) this.subscribers.delete(executionId);
    };
  }

  publish(executionId: string, message: LiveMessage): void {
    const set = this.subscribers.get(executionId);
    if (!set) return;
    for (const subscriber of [...set]) subscriber(message);
  }

  /**
   * Publishes the final status of every execution that ends — by running to
   * its end, or without running (cancelled while queued, skipped).
   */
  followEnds(executions: ExecutionRepository): Disposable {
    return executions.onChange((change) => {
      if (change.kind === 'state' && TERMINAL_STATES.has(change.state)) {
        this.publish(change.id, { kind: 'status', state: change.state, reason: change.reason });
      }
    });
  }

  watchers(executionId: string): number {
    return this.subscribers.get(executionId)?.size ?? 0;
  }
}

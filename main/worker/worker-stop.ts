import type { StopPolicy } from '../../common/stop-policy.js';
import type { Config } from '../config/config.js';
import type { ExecutionQueue } from '../executions/execution-queue.js';
import { currentStopSettings, stopBoundMs } from '../executions/stop-policy.js';
import type { SettingsRepository } from '../storage/settings-repository.js';
import type { Logger } from '../telemetry/logger.js';

/** How a stop is going: the policy applied, how many executions still run, and the longest ending them may still take. */
export interface StopProgress {
  policy: StopPolicy;
  executions: number;
  boundMs: number;
}

export interface StopOptions {
  /** Instead of the stored stop policy; `cancel` also cuts a finish under way short. */
  policy?: StopPolicy;
  progress?: (progress: StopProgress) => void;
}

export interface WorkerStopDependencies {
  queue: ExecutionQueue;
  env: Readonly<Record<string, string | undefined>>;
  settings: SettingsRepository;
  config: Config;
  logger: Logger;
  /** Closes everything the worker holds, once its executions have ended. */
  close(): Promise<void>;
}

/**
 * The worker's stop (docs/executions.md, "When Agented stops"): the queue
 * starts nothing more and ends its running executions per the stop policy
 * read now (not at start-up, so a stored change applies at once), then the
 * worker closes. The HTTP server is among what closes last, so deliveries
 * that arrive meanwhile are still accepted and queued. Asked again with
 * `cancel` while finishing, it cancels what still runs; every call resolves
 * when the worker is closed.
 */
export function createWorkerStop(deps: WorkerStopDependencies): (options?: StopOptions) => Promise<void> {
  const { queue, config, logger } = deps;
  let stopping: Promise<void> | undefined;
  // What the stop does now, and by when ending the executions must be done (what the supervisor waits for).
  let phase: { policy: StopPolicy; deadline: number } = { policy: config.stopPolicy, deadline: 0 };
  const phaseOf = (policy: StopPolicy, finishTimeoutMs: number) => ({ policy, deadline: Date.now() + stopBoundMs(policy, finishTimeoutMs, config.stopGraceMs) });

  return ({ policy: requested, progress } = {}) => {
    const report = (executions: number) => progress?.({ policy: phase.policy, executions, boundMs: Math.max(0, phase.deadline - Date.now()) });
    if (stopping) {
      // Only a request to cancel changes a stop under way.
      if (requested === 'cancel' && phase.policy === 'finish') {
        phase = phaseOf('cancel', 0);
        logger.info('stop: cancelling what still runs, as asked', { running: queue.runningCount });
        report(queue.runningCount);
        void queue.stopRunning({ policy: 'cancel', finishTimeoutMs: 0 });
      }
      return stopping;
    }
    const stored = currentStopSettings(deps.env, deps.settings, config);
    const finishTimeoutMs = stored.stopFinishTimeoutSeconds * 1000;
    phase = phaseOf(requested ?? stored.stopPolicy, finishTimeoutMs);
    logger.info('stopping', { stop_policy: phase.policy, finish_timeout_s: stored.stopFinishTimeoutSeconds, running: queue.runningCount });
    stopping = (async () => {
      await queue.stopRunning({ policy: phase.policy, finishTimeoutMs }, report);
      await deps.close();
    })();
    return stopping;
  };
}

import type { StopPolicy } from '../../common/stop-policy.js';
import { resolveConfig, type Config } from '../config/config.js';
import type { SettingsRepository } from '../storage/settings-repository.js';
import { PIPE_DRAIN_MS } from './agent-process.js';

type Env = Readonly<Record<string, string | undefined>>;

/** What a stop does to running executions, as the settings say when it begins. */
export interface StopSettings {
  stopPolicy: StopPolicy;
  stopFinishTimeoutSeconds: number;
}

/** After SIGKILL, how long a group may take to be gone (killGroup's last wait). */
const KILL_WAIT_MS = 5_000;

/**
 * The stop settings in use now (environment > stored > default). They are
 * read when a stop begins rather than taken from the start-up configuration,
 * so what the Settings page stores applies to the very next stop. A stored
 * value is validated when stored; `fallback` covers a database edited by hand.
 */
export function currentStopSettings(env: Env, settings: SettingsRepository, fallback: Config): StopSettings {
  try {
    const { stopPolicy, stopFinishTimeoutSeconds } = resolveConfig({ env, stored: settings.all() });
    return { stopPolicy, stopFinishTimeoutSeconds };
  } catch {
    return { stopPolicy: fallback.stopPolicy, stopFinishTimeoutSeconds: fallback.stopFinishTimeoutSeconds };
  }
}

/**
 * The longest a worker may take to end its running executions under a
 * policy: the finish wait, then SIGINT and SIGTERM each with their grace, the
 * wait after SIGKILL, and the last read of the pipes (PIPE_DRAIN_MS). The
 * supervisor adds its own stop timeout (for closing the server and the
 * database) before it kills the worker, so a long finish wait is never cut
 * short by a fixed timeout.
 */
export function stopBoundMs(policy: StopPolicy, finishTimeoutMs: number, stopGraceMs: number): number {
  return (policy === 'finish' ? finishTimeoutMs : 0) + 2 * stopGraceMs + KILL_WAIT_MS + PIPE_DRAIN_MS;
}

/** The reasons a stop gives the executions it cancels: each says Agented was stopping, and why it did not wait. */
export const stopReasons = {
  cancel: 'Agented was stopping; running executions are cancelled on stop (stop policy "cancel")',
  finishTimedOut: (seconds: number) => `Agented was stopping; the execution did not finish within the ${seconds} s a stop waits (stop policy "finish")`,
  escalated: 'Agented was stopping; a second stop request cancelled what still ran',
} as const;

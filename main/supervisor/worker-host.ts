import type { SupervisorToWorker } from '../../common/worker-protocol.js';

/** A running worker process, as the supervisor sees it; the host hides how it was started. */
export interface WorkerProcess {
  readonly pid: number | undefined;
  send(message: SupervisorToWorker): void;
  kill(signal: NodeJS.Signals): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Fires once. `code` is null when a signal ended the process. */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

/** Starts worker processes: `child_process.fork` headless, Electron's `utilityProcess` in the desktop app. */
export interface WorkerHost {
  start(env: Record<string, string>): WorkerProcess;
}

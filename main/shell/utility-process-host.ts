import { utilityProcess } from 'electron';
import type { WorkerHost, WorkerProcess } from '../supervisor/worker-host.js';

/**
 * Hosts the worker as an Electron utility process (the desktop app's
 * counterpart of ForkHost). The worker reads `process.parentPort`; see
 * main/worker/parent-channel.ts.
 */
export class UtilityProcessHost implements WorkerHost {
  constructor(private readonly entry: string) {}

  start(env: Record<string, string>): WorkerProcess {
    const child = utilityProcess.fork(this.entry, [], { env, stdio: 'inherit', serviceName: 'Agented API worker' });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    return {
      // Undefined until the 'spawn' event: read it late, not at start.
      get pid() {
        return child.pid;
      },
      send: (message) => {
        if (!exited) child.postMessage(message);
      },
      /**
       * `UtilityProcess.kill()` takes no signal: it sends SIGTERM on POSIX
       * (TerminateProcess on Windows), which a worker already shutting down
       * ignores. The supervisor's SIGKILL after its stop timeout therefore goes
       * through `process.kill` by pid, so a hung worker really dies.
       */
      kill: (signal) => {
        if (exited) return;
        if (signal === 'SIGKILL' && child.pid !== undefined) {
          try {
            process.kill(child.pid, 'SIGKILL');
            return;
          } catch {
            // Already gone, or not ours to signal: fall back to Electron's own kill.
          }
        }
        child.kill();
      },
      onMessage: (listener) => {
        child.on('message', (message: unknown) => listener(message));
      },
      // A utility process reports only an exit code (a signal shows in it, per waitpid), never a signal name.
      onExit: (listener) => {
        child.once('exit', (code) => listener(code, null));
      },
    };
  }
}

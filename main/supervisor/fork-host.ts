import { fork } from 'node:child_process';
import type { WorkerHost, WorkerProcess } from './worker-host.js';

/** Hosts the worker as a Node child process with an IPC channel (headless `agented serve`). */
export class ForkHost implements WorkerHost {
  constructor(private readonly entry: string) {}

  start(env: Record<string, string>): WorkerProcess {
    const child = fork(this.entry, [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'json' });
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    return {
      pid: child.pid,
      send: (message) => {
        if (!exited && child.connected) child.send(message);
      },
      kill: (signal) => {
        if (!exited) child.kill(signal);
      },
      onMessage: (listener) => child.on('message', listener),
      onExit: (listener) => child.once('exit', listener),
    };
  }
}

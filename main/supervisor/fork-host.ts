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
        // A worker that has just died (a signal to the whole group) fails the send before its exit is seen; the exit is what follows, not an error.
        if (!exited && child.connected) child.send(message, ignoreSendError);
      },
      kill: (signal) => {
        if (!exited) child.kill(signal);
      },
      onMessage: (listener) => child.on('message', listener),
      onExit: (listener) => child.once('exit', listener),
    };
  }
}

/** Without a callback, a failed send is an 'error' event on the child, which nothing handles: the supervisor would crash. */
function ignoreSendError(): void {}

import { SupervisorToWorker, type WorkerToSupervisor } from '../../common/worker-protocol.js';

/** The worker's side of the supervisor link, whichever host started it. */
export interface ParentChannel {
  send(message: WorkerToSupervisor): void;
  /** `malformed` hears of a message that is none of the protocol's (what was wrong with it): it is not passed on. */
  onMessage(listener: (message: SupervisorToWorker) => void, malformed: (issues: string) => void): void;
  /** Called when the parent goes away: the worker must not outlive its supervisor. */
  onDisconnect(listener: () => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

/**
 * Electron's utilityProcess exposes `process.parentPort`; Node's fork gives
 * `process.send`. Reading the property needs no import of `electron`, so this
 * file stays runnable under plain Node.
 */
export function connectToParent(): ParentChannel | undefined {
  const parentPort = (process as { parentPort?: ElectronParentPort }).parentPort;
  const accept = (listener: (message: SupervisorToWorker) => void, malformed: (issues: string) => void) => (raw: unknown) => {
    const parsed = SupervisorToWorker.safeParse(raw);
    if (parsed.success) listener(parsed.data);
    else malformed(parsed.error.issues.map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`).join('; '));
  };
  if (parentPort) {
    return {
      send: (message) => parentPort.postMessage(message),
      onMessage: (listener, malformed) => parentPort.on('message', (event) => accept(listener, malformed)(event.data)),
      // A utility process is killed with its parent by Electron itself.
      onDisconnect: () => undefined,
    };
  }
  if (process.send) {
    return {
      // Once the supervisor is gone a send would throw (ERR_IPC_CHANNEL_CLOSED) — while the worker is
      // cancelling its executions because it is gone: there is no one to tell, and the stop goes on.
      send: (message) => {
        if (process.connected) process.send?.(message, undefined, {}, ignoreSendError);
      },
      onMessage: (listener, malformed) => process.on('message', accept(listener, malformed)),
      onDisconnect: (listener) => process.on('disconnect', listener),
    };
  }
  return undefined;
}

/** A send that raced the disconnect fails after the fact: as with a send once disconnected, there is no one to tell. */
function ignoreSendError(): void {}

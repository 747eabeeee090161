import type { StopPolicy } from '../../common/stop-policy.js';
import { WORKER_EXIT_FATAL } from '../../common/worker-protocol.js';
import { ConfigError } from '../config/config.js';
import { KeychainUnavailableError } from '../secrets/keychain.js';
import { DatabaseTooNewError } from '../storage/database.js';
import { connectToParent, type ParentChannel } from './parent-channel.js';
import { startWorker, type RunningWorker } from './start-worker.js';

/**
 * Entry point of the API worker process (forked by the supervisor, or run as
 * an Electron utility process). Start-up errors that a restart cannot fix are
 * reported as `fatal` with their own exit code, so the supervisor stops
 * instead of looping.
 */
async function main(): Promise<void> {
  const parent = connectToParent();
  let worker: RunningWorker | undefined;
  let stopReason: string | undefined;
  /** A policy the supervisor asked for instead of the stored one (a second stop request: cancel). */
  let stopPolicy: StopPolicy | undefined;

  // Listen before starting: a stop asked for during start-up is remembered and
  // carried out as soon as there is something to close. A signal asks once;
  // only the supervisor's `cancel` changes a stop under way (a terminal's
  // Ctrl-C reaches both this process and the supervisor).
  const stop = (reason: string, policy?: StopPolicy) => {
    if (stopReason !== undefined && policy === undefined) return;
    stopReason ??= reason;
    stopPolicy = policy ?? stopPolicy;
    if (worker) shutDown(worker, reason, stopPolicy, parent);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Without its supervisor nobody waits for a finish, and the port must come free for the next start: cancel.
  parent?.onDisconnect(() => stop('supervisor disconnected', 'cancel'));
  parent?.onMessage((message) => {
    switch (message.type) {
      case 'shutdown':
        stop('supervisor asked', message.policy);
        break;
      case 'issue-login-url':
        if (worker) parent.send({ type: 'login-url', requestId: message.requestId, url: worker.issueLoginUrl() });
        break;
      case 'switch-tunnel':
        // The supervisor asks only a worker that said `ready`, so `worker` is set.
        void worker?.switchTunnel(message.on).then((outcome) => parent.send({ type: 'tunnel-switched', requestId: message.requestId, ...outcome }));
        break;
      default:
        message satisfies never;
    }
  });

  try {
    worker = await startWorker({
      env: process.env,
      logStream: process.env.AGENTED_LOG_STDOUT === '0' ? undefined : process.stdout,
      desktopNotifications: parent ? (notification) => parent.send({ type: 'notification', notification }) : undefined,
      tunnelChanges: parent ? (tunnel) => parent.send({ type: 'tunnel', tunnel }) : undefined,
      desktopSettings: parent ? (settings) => parent.send({ type: 'desktop-settings', settings }) : undefined,
    });
  } catch (error) {
    const fatal = fatalCode(error);
    const message = error instanceof Error ? error.message : String(error);
    if (!fatal) throw error;
    parent?.send({ type: 'fatal', code: fatal, message });
    process.stderr.write(`${message}\n`);
    process.exit(WORKER_EXIT_FATAL);
  }

  const running = worker;
  process.on('uncaughtException', (error) => {
    running.logger.error('uncaught exception; the supervisor will restart the worker', { err: error });
    process.exit(70);
  });
  if (stopReason !== undefined) {
    shutDown(running, stopReason, stopPolicy, parent);
    return;
  }
  parent?.send({ type: 'ready', port: running.port, url: running.url, pid: process.pid });
}

function shutDown(worker: RunningWorker, reason: string, policy: StopPolicy | undefined, parent: ParentChannel | undefined): void {
  worker.logger.info('stop requested', { reason, stop_policy: policy ?? 'as stored' });
  // The supervisor hears how many executions still run, to show it and to wait for them.
  worker.stop({ policy, progress: (progress) => parent?.send({ type: 'stopping', ...progress }) }).then(
    () => process.exit(0),
    (error: unknown) => {
      worker.logger.error('shutdown failed', { err: error });
      process.exit(1);
    },
  );
}

function fatalCode(error: unknown): string | undefined {
  if (error instanceof ConfigError) return 'ERR_CONFIG';
  if (error instanceof KeychainUnavailableError || error instanceof DatabaseTooNewError) return error.code;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') return String(code);
  return undefined;
}

void main();

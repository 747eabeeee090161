import path from 'node:path';
import type { StopPolicy } from '../../common/stop-policy.js';
import { WORKER_EXIT_FATAL } from '../../common/worker-protocol.js';
import { ConfigError } from '../config/config.js';
import { KeychainUnavailableError } from '../secrets/keychain.js';
import { DatabaseTooNewError } from '../storage/database.js';
import { DataDirInUseError } from '../storage/data-dir-lock.js';
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
  // The terminal closed (it hangs up its whole foreground group, the supervisor with it): no one is left to wait for a finish, and the agents, in groups of their own, would be orphaned.
  process.on('SIGHUP', () => stop('SIGHUP', 'cancel'));
  // A reader of stdout that went away (`agented serve | head -n 1`, a closed terminal) must not end the worker: the log file keeps every line.
  process.stdout.on('error', () => undefined);
  // Without its supervisor nobody waits for a finish, and the port must come free for the next start: cancel.
  parent?.onDisconnect(() => stop('supervisor disconnected', 'cancel'));
  parent?.onMessage((message) => {
    switch (message.type) {
      case 'shutdown':
        stop('supervisor asked', message.policy);
        break;
      case 'issue-login-url':
        // The validity is the worker's own (stored settings included), so what `serve` prints is what the link honours.
        if (worker) parent.send({ type: 'login-url', requestId: message.requestId, url: worker.issueLoginUrl(), validForSeconds: worker.config.loginTokenTtlSeconds });
        break;
      case 'switch-tunnel':
        // The supervisor asks only a worker that said `ready`, so `worker` is set.
        void worker?.switchTunnel(message.on).then((outcome) => parent.send({ type: 'tunnel-switched', requestId: message.requestId, ...outcome }));
        break;
      default:
        message satisfies never;
    }
  }, (issues) => {
    // A bug on the other side, or a supervisor of another version: said, as the supervisor says of the worker's.
    if (worker) worker.logger.warn('ignored a malformed message from the supervisor', { issues });
    else process.stderr.write(`agented worker: ignored a malformed message from the supervisor (${issues})\n`);
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
    if (!fatal) throw error;
    const message = fatalMessage(error, process.env);
    // The supervisor prints it (one line, once); a worker run on its own prints it itself.
    if (parent) parent.send({ type: 'fatal', code: fatal, message });
    else process.stderr.write(`${message}\n`);
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

/**
 * Errors of the system that a start-up meets only through a setting (the
 * address to listen on, the data and log folders) and that no restart fixes:
 * a name that does not resolve, a file where a folder should be, a read-only
 * or forbidden folder, a taken port.
 */
const FATAL_SYSTEM_CODES = new Set([
  // listen (AGENTED_HOST, AGENTED_PORT)
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  // getaddrinfo of AGENTED_HOST (and every EAI_*: a name that does not resolve now will not in the next 2 s either)
  'ENOTFOUND',
  // listen on a privileged port; mkdir and open under AGENTED_DATA_DIR and AGENTED_LOG_DIR
  'EACCES',
  'EPERM',
  'ENOTDIR',
  'EEXIST',
  'EISDIR',
  'EROFS',
  'ELOOP',
  'ENAMETOOLONG',
  // SQLite opening its files in AGENTED_DATA_DIR (a read-only or unusable folder, a file that is no database)
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'SQLITE_NOTADB',
]);

function fatalCode(error: unknown): string | undefined {
  if (error instanceof ConfigError) return 'ERR_CONFIG';
  if (error instanceof KeychainUnavailableError || error instanceof DatabaseTooNewError) return error.code;
  if (error instanceof DataDirInUseError) return error.code;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && (FATAL_SYSTEM_CODES.has(code) || code.startsWith('EAI_'))) return code;
  return undefined;
}

/** One line for the supervisor to print: for an error of the system, the setting it comes from and what is wrong. */
function fatalMessage(error: unknown, env: NodeJS.ProcessEnv): string {
  const message = error instanceof Error ? error.message : String(error);
  const { code, syscall, path: file, hostname } = error as { code?: unknown; syscall?: string; path?: string; hostname?: string };
  const setting = (name: string) => `${name}=${JSON.stringify(env[name] ?? '')}`;
  if (syscall === 'getaddrinfo') return `${setting('AGENTED_HOST')} cannot be listened on: ${hostname ?? 'the name'} does not resolve to an address (${message})`;
  if (syscall === 'listen' || syscall === 'bind') return `${setting('AGENTED_HOST')}, ${setting('AGENTED_PORT')} cannot be listened on: ${message}`;
  // SQLite names no file; what it opens at start-up is in the data folder (agented.db, the lock).
  if (typeof code === 'string' && code.startsWith('SQLITE_')) return `${setting('AGENTED_DATA_DIR')} cannot be used: SQLite: ${message}`;
  // The hosts pin both folders in the worker's environment (serve's workerEnvironment, the desktop shell); the deepest one holding the path is the one to change.
  const folder = ['AGENTED_DATA_DIR', 'AGENTED_LOG_DIR']
    .filter((name) => file !== undefined && env[name] && isWithin(file, env[name]))
    .sort((a, b) => (env[b] ?? '').length - (env[a] ?? '').length)[0];
  return folder ? `${setting(folder)} cannot be used: ${message}` : message;
}

function isWithin(file: string, dir: string): boolean {
  const relative = path.relative(path.resolve(dir), path.resolve(file));
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

void main();

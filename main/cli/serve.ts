import { fileURLToPath } from 'node:url';
import { ConfigError, resolveConfig, type Config } from '../config/config.js';
import { exitCodeFor } from './exit-codes.js';
import { ForkHost } from '../supervisor/fork-host.js';
import { Supervisor, type SupervisorState } from '../supervisor/supervisor.js';
import { LogFileSink } from '../telemetry/file-sink.js';
import { FanOutSink, Logger, StreamSink } from '../telemetry/logger.js';
import type { WorkerHost } from '../supervisor/worker-host.js';

export interface ServeFlags {
  host?: string;
  port?: string;
  dataDir?: string;
}

export const workerEntry = fileURLToPath(new URL('../worker/main.js', import.meta.url));

/** The environment a worker gets: ours, with the resolved bootstrap settings pinned. */
export function workerEnvironment(env: NodeJS.ProcessEnv, config: Config): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined) result[name] = value;
  result.AGENTED_HOST = config.host;
  result.AGENTED_PORT = String(config.port);
  result.AGENTED_DATA_DIR = config.dataDir;
  result.AGENTED_LOG_DIR = config.logDir;
  return result;
}

/** The supervisor's log file; a folder that cannot be made (a file in its place, read-only, forbidden) is the setting's fault, not a crash. */
function supervisorLogFile(logDir: string): LogFileSink {
  try {
    return new LogFileSink(logDir, 'supervisor');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    if (code === undefined) throw error;
    throw new ConfigError('AGENTED_LOG_DIR', `cannot be used as the log folder: ${message}`, logDir);
  }
}

/**
 * `agented serve`: a supervisor in this process, the API worker in a child.
 * Prints one JSON line `{"event":"ready",…}` when the worker serves, and the
 * one-time login URL for a browser.
 */
export async function serve(flags: ServeFlags, host: WorkerHost = new ForkHost(workerEntry)): Promise<number> {
  const config = resolveConfig({
    env: process.env,
    flags: { host: flags.host, port: flags.port, dataDir: flags.dataDir },
  });
  const logger = Logger.create({
    sink: new FanOutSink([supervisorLogFile(config.logDir), new StreamSink(process.stdout)]),
    level: config.logLevel,
    bindings: { process: 'supervisor', pid: process.pid },
  });
  const supervisor = new Supervisor({ host, env: workerEnvironment(process.env, config), logger });
  // No desktop to show it on: the log is where a headless installation sees it.
  supervisor.on('notification', (notification) => logger.warn(`desktop notification: ${notification.title}`, { notification_id: notification.id, notification_kind: notification.kind, body: notification.body, link: notification.link }));

  // The first signal stops per the stop policy; a second one (Ctrl-C again) cancels what a finish still waits for.
  let stopRequests = 0;
  const stop = (signal: string) => {
    stopRequests += 1;
    if (stopRequests > 2) return;
    logger.info(stopRequests === 1 ? 'stopping' : 'stopping now: cancelling running executions', { signal });
    void supervisor.stop(stopRequests === 1 ? {} : { policy: 'cancel' });
  };
  let toldWaiting = false;
  supervisor.on('state', (state) => {
    if (state.status !== 'stopping' || state.policy !== 'finish' || !state.executions || toldWaiting) return;
    toldWaiting = true;
    process.stderr.write(`\nStopping: waiting for ${state.executions} running execution(s) to finish (AGENTED_STOP_FINISH_TIMEOUT_S). Press Ctrl-C again to cancel them.\n`);
  });
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // The terminal closed: no one is left to wait for a finish (the worker, hung up too, cancels its executions).
  process.on('SIGHUP', () => {
    logger.info('stopping now: the terminal closed; cancelling running executions', { signal: 'SIGHUP' });
    void supervisor.stop({ policy: 'cancel' });
  });

  const finished = new Promise<number>((resolve) => {
    supervisor.on('state', (state) => {
      if (state.status === 'stopped') resolve(0);
      if (state.status === 'crashed') {
        process.stderr.write(`agented: ${state.reason}\n`);
        // The same code as when the command itself meets the error (a locked keychain, a newer database).
        resolve(exitCodeFor(state.code));
      }
    });
  });

  try {
    const { running, login } = await servingWithLogin(supervisor);
    process.stdout.write(`${JSON.stringify({ event: 'ready', url: running.url, port: running.port, loginUrl: login.url, pid: process.pid })}\n`);
    process.stderr.write(`\nAgented is running at ${running.url}\nOpen this one-time login link (valid for ${login.validForSeconds} s):\n  ${login.url}\n\n`);
  } catch {
    // The state listener above reports why and sets the exit code.
  }
  return finished;
}

/**
 * Waits for a worker that serves and asks it for a login link. The worker
 * says how long the link is valid: a lifetime stored with PATCH /api/settings
 * is only known there. A worker that crashes before it answers is restarted:
 * the next one is asked, so the ready line still comes, once.
 */
async function servingWithLogin(supervisor: Supervisor): Promise<{ running: Extract<SupervisorState, { status: 'running' }>; login: { url: string; validForSeconds: number } }> {
  for (;;) {
    const running = await supervisor.start();
    try {
      return { running, login: await supervisor.requestLogin() };
    } catch (error) {
      if (supervisor.state.status !== 'restarting' && supervisor.state.status !== 'starting') throw error;
    }
  }
}

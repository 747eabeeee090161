import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { DesktopNotification } from '../../common/notifications.js';
import type { StopPolicy } from '../../common/stop-policy.js';
import type { TunnelSummary } from '../../common/tunnel.js';
import { WORKER_EXIT_FATAL, WorkerToSupervisor, type DesktopSettings, type SupervisorToWorker } from '../../common/worker-protocol.js';
import type { Logger } from '../telemetry/logger.js';
import { CrashPolicy } from './backoff.js';
import type { WorkerHost, WorkerProcess } from './worker-host.js';

export type SupervisorState =
  | { status: 'stopped' }
  | { status: 'starting'; restarts: number }
  | { status: 'running'; url: string; port: number; pid: number; restarts: number }
  | { status: 'restarting'; reason: string; delayMs: number; restarts: number }
  /** Once the worker reports on its stop: the policy it applies and how many executions it still waits for (or cancels). */
  | { status: 'stopping'; policy?: StopPolicy; executions?: number }
  /** Gave up: a fatal start-up error, or too many crashes in the window. */
  | { status: 'crashed'; reason: string; /** The worker's fatal start-up error code, when that was why. */ code?: string };

export interface SupervisorOptions {
  host: WorkerHost;
  /** Environment of every worker. AGENTED_PORT is pinned to the first worker's port for restarts. */
  env: Record<string, string>;
  logger: Logger;
  maxCrashes?: number;
  crashWindowMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /**
   * How long a worker may take to shut down gracefully before it is killed,
   * on top of the time it announces for ending its executions (the finish
   * wait of the stop policy and the stop escalation: the `stopping` message).
   */
  stopTimeoutMs?: number;
}

interface SupervisorEvents {
  state: [SupervisorState];
  /** A notification from the worker for the desktop (the shell shows it; headless, it is logged). */
  notification: [DesktopNotification];
  /** The worker's tunnel changed; undefined once the worker is gone (nothing is known of a tunnel then). */
  tunnel: [TunnelSummary | undefined];
  /** The settings the desktop shell applies (start at login), at each worker start and when they are stored. */
  desktopSettings: [DesktopSettings];
}

/** The supervisor's own share of a stop (closing the server and the database), on top of what the worker announces. */
export const DEFAULT_STOP_TIMEOUT_MS = 15_000;

/** A worker message that answers one of ours. */
type WorkerAnswer = Extract<WorkerToSupervisor, { requestId: string }>;
type WorkerRequest = Extract<SupervisorToWorker, { requestId: string }>;

/**
 * Keeps one API worker running. A worker that dies unexpectedly is restarted
 * after an exponential delay; five crashes within a minute (by default) or a
 * fatal start-up error end supervision with a reason. The same class runs in
 * `agented serve` and in the desktop app; only the WorkerHost differs.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  private current: WorkerProcess | undefined;
  private currentState: SupervisorState = { status: 'stopped' };
  private readonly policy: CrashPolicy;
  private readonly env: Record<string, string>;
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly pendingAnswers = new Map<string, { answer: (message: WorkerAnswer) => void; fail: (error: Error) => void }>();
  private stopWaiters: (() => void)[] = [];
  /** Kills the stopping worker once its time is up; re-armed whenever the worker says how long it still needs. */
  private killTimer: NodeJS.Timeout | undefined;
  private currentTunnel: TunnelSummary | undefined;

  constructor(private readonly options: SupervisorOptions) {
    super();
    this.env = { ...options.env };
    this.policy = new CrashPolicy({
      maxCrashes: options.maxCrashes ?? 5,
      windowMs: options.crashWindowMs ?? 60_000,
      initialDelayMs: options.initialDelayMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 10_000,
    });
  }

  get state(): SupervisorState {
    return this.currentState;
  }

  /** The running worker's tunnel, as it last reported it. */
  get tunnel(): TunnelSummary | undefined {
    return this.currentTunnel;
  }

  /** Starts the worker; resolves when it serves, rejects when supervision gives up first. */
  start(): Promise<Extract<SupervisorState, { status: 'running' }>> {
    if (this.currentState.status === 'running') return Promise.resolve(this.currentState);
    if (this.currentState.status === 'stopped' || this.currentState.status === 'crashed') {
      this.policy.reset();
      this.restarts = 0;
      this.spawn();
    }
    return new Promise((resolve, reject) => {
      const onState = (state: SupervisorState) => {
        if (state.status === 'running') {
          this.off('state', onState);
          resolve(state);
        } else if (state.status === 'crashed' || state.status === 'stopped') {
          this.off('state', onState);
          reject(new Error(state.status === 'crashed' ? state.reason : 'stopped before the worker was ready'));
        }
      };
      this.on('state', onState);
    });
  }

  /**
   * Asks the worker to end its executions per the stop policy (or `policy`)
   * and exit; kills it once the time it announced plus the stop timeout is
   * up. Asked again while stopping, it waits for the same exit, and with
   * `policy: 'cancel'` tells the worker to cancel what still runs.
   */
  async stop(options: { policy?: StopPolicy } = {}): Promise<void> {
    clearTimeout(this.restartTimer);
    const worker = this.current;
    if (!worker) {
      this.setState({ status: 'stopped' });
      return;
    }
    const exited = new Promise<void>((resolve) => this.stopWaiters.push(resolve));
    const already = this.killTimer !== undefined;
    if (this.currentState.status !== 'stopping') this.setState({ status: 'stopping' });
    if (!already || options.policy !== undefined) worker.send({ type: 'shutdown', ...(options.policy ? { policy: options.policy } : {}) });
    if (!already) this.armKillTimer(worker, 0);
    await exited;
  }

  /** (Re)starts the countdown after which a stopping worker is killed: `boundMs` it said it needs, plus the stop timeout. */
  private armKillTimer(worker: WorkerProcess, boundMs: number): void {
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => {
      this.options.logger.warn('worker did not stop in time; killing it', { worker_pid: worker.pid });
      worker.kill('SIGKILL');
    }, boundMs + (this.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS));
  }

  /**
   * Stops the worker if one runs (or is being restarted) and starts a fresh
   * one with the crash count cleared: the tray's Restart, also after
   * supervision gave up.
   */
  async restart(): Promise<Extract<SupervisorState, { status: 'running' }>> {
    await this.stop();
    return this.start();
  }

  /** A one-time login URL from the running worker (the token lives in the worker). */
  async requestLoginUrl(timeoutMs = 5_000): Promise<string> {
    return (await this.requestLogin(timeoutMs)).url;
  }

  /** A one-time login URL and how long it is valid: the worker's own token lifetime, which may be a stored setting. */
  async requestLogin(timeoutMs = 5_000): Promise<{ url: string; validForSeconds: number }> {
    const answer = await this.ask((requestId) => ({ type: 'issue-login-url', requestId }), timeoutMs);
    if (answer.type !== 'login-url') throw new Error(`the worker answered ${answer.type} to issue-login-url`);
    return { url: answer.url, validForSeconds: answer.validForSeconds };
  }

  /**
   * Turns the worker's tunnel off, or back on (docs/tunnels.md: the tray's
   * switch). Resolves with the tunnel once the worker applied it; rejects
   * with the worker's reason when it refused (AGENTED_TUNNEL sets the provider).
   */
  async setTunnel(on: boolean, timeoutMs = 20_000): Promise<TunnelSummary> {
    const answer = await this.ask((requestId) => ({ type: 'switch-tunnel', requestId, on }), timeoutMs);
    if (answer.type !== 'tunnel-switched') throw new Error(`the worker answered ${answer.type} to switch-tunnel`);
    if (answer.error !== null) throw new Error(answer.error);
    return answer.tunnel;
  }

  /** Sends a request to the running worker and waits for the message that answers it. */
  private ask(request: (requestId: string) => WorkerRequest, timeoutMs: number): Promise<WorkerAnswer> {
    const worker = this.current;
    if (!worker || this.currentState.status !== 'running') return Promise.reject(new Error('the worker is not running'));
    const message = request(crypto.randomUUID());
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.pendingAnswers.delete(message.requestId);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error('the worker did not answer'));
      }, timeoutMs);
      this.pendingAnswers.set(message.requestId, {
        answer: (answer) => {
          settle();
          resolve(answer);
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      });
      worker.send(message);
    });
  }

  private spawn(): void {
    this.setState({ status: 'starting', restarts: this.restarts });
    const worker = this.options.host.start(this.env);
    this.current = worker;
    let fatalReason: string | undefined;
    let fatalCode: string | undefined;
    const log = this.options.logger.child({ worker_pid: worker.pid });
    log.info('worker started', { restarts: this.restarts });

    worker.onMessage((raw) => {
      const parsed = WorkerToSupervisor.safeParse(raw);
      if (!parsed.success) {
        log.warn('ignored a malformed message from the worker');
        return;
      }
      const message = parsed.data;
      switch (message.type) {
        case 'ready':
          // A stop asked for while the worker was starting wins over its late "ready".
          if (this.currentState.status === 'stopping') break;
          // Restarts come back on the same port, so URLs already handed out stay valid.
          this.env.AGENTED_PORT = String(message.port);
          this.setState({ status: 'running', url: message.url, port: message.port, pid: message.pid, restarts: this.restarts });
          break;
        case 'login-url':
          this.pendingAnswers.get(message.requestId)?.answer(message);
          break;
        case 'tunnel-switched':
          this.setTunnelSummary(message.tunnel);
          this.pendingAnswers.get(message.requestId)?.answer(message);
          break;
        case 'tunnel':
          this.setTunnelSummary(message.tunnel);
          break;
        case 'desktop-settings':
          this.emit('desktopSettings', message.settings);
          break;
        case 'fatal':
          fatalReason = `${message.code}: ${message.message}`;
          fatalCode = message.code;
          break;
        case 'notification':
          this.emit('notification', message.notification);
          break;
        case 'stopping':
          // Also when the worker stops by itself (a signal sent to it directly): it exits 0, and may take this long.
          if (this.current === worker) {
            this.armKillTimer(worker, message.boundMs);
            if (this.stopShowsChange(message)) this.setState({ status: 'stopping', policy: message.policy, executions: message.executions });
          }
          break;
        default:
          message satisfies never;
      }
    });

    worker.onExit((code, signal) => {
      if (this.current === worker) this.current = undefined;
      clearTimeout(this.killTimer);
      this.killTimer = undefined;
      // Whatever was asked of this worker will not be answered now.
      for (const pending of [...this.pendingAnswers.values()]) pending.fail(new Error('the worker exited before it answered'));
      this.setTunnelSummary(undefined);
      const stopping = this.currentState.status === 'stopping';
      log.info('worker exited', { code, signal });
      if (stopping) {
        this.setState({ status: 'stopped' });
        for (const resolve of this.stopWaiters.splice(0)) resolve();
        return;
      }
      if (code === 0 && fatalReason === undefined) {
        // Only a stop request (a signal or our message) makes a worker exit 0.
        log.info('worker stopped on its own; supervision ends');
        this.setState({ status: 'stopped' });
        return;
      }
      if (fatalReason !== undefined || code === WORKER_EXIT_FATAL) {
        this.giveUp(fatalReason ?? `the worker exited with code ${WORKER_EXIT_FATAL} (a start-up error a restart cannot fix)`, fatalCode);
        return;
      }
      const reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const delayMs = this.policy.recordCrash();
      if (delayMs === null) {
        const { maxCrashes, windowMs } = this.policy.options;
        this.giveUp(`the worker crashed ${maxCrashes} times within ${windowMs / 1000} s (last: ${reason}); not restarting`);
        return;
      }
      this.restarts += 1;
      log.warn('worker crashed; restarting', { reason, delay_ms: delayMs, restarts: this.restarts });
      this.setState({ status: 'restarting', reason, delayMs, restarts: this.restarts });
      this.restartTimer = setTimeout(() => this.spawn(), delayMs);
    });
  }

  /** A stop with no execution to end looks like any other: only a count (or how it is ended) is news for the tray. */
  private stopShowsChange(report: Extract<WorkerToSupervisor, { type: 'stopping' }>): boolean {
    const state = this.currentState;
    if (state.status !== 'stopping') return true;
    const shown = state.executions ?? 0;
    return shown !== report.executions || (report.executions > 0 && state.policy !== report.policy);
  }

  private giveUp(reason: string, code?: string): void {
    this.options.logger.error('supervisor gave up', { reason });
    this.setState({ status: 'crashed', reason, ...(code === undefined ? {} : { code }) });
  }

  private setTunnelSummary(tunnel: TunnelSummary | undefined): void {
    if (tunnel === undefined && this.currentTunnel === undefined) return;
    this.currentTunnel = tunnel;
    this.emit('tunnel', tunnel);
  }

  private setState(state: SupervisorState): void {
    this.currentState = state;
    this.emit('state', state);
  }
}

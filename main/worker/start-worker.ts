import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { HealthReady } from '../../common/api.js';
import { backendPathOverrides, isLoopbackHost, resolveConfig, type Config } from '../config/config.js';
import { BackendHealth } from '../backends/backend-health.js';
import { backendAdapters } from '../backends/adapters/index.js';
import { BackendLocator } from '../backends/locator.js';
import { ExecutionQueue } from '../executions/execution-queue.js';
import { currentStopSettings } from '../executions/stop-policy.js';
import { endLeftGroups } from '../executions/process-group.js';
import { AccountService } from '../accounts/account-service.js';
import { CredentialPool } from '../accounts/credential-pool.js';
import { BudgetLedger } from '../budgets/budget-ledger.js';
import { UsageReporter } from '../budgets/usage-report.js';
import { PriceSetting } from '../budgets/price-setting.js';
import type { DesktopNotification } from '../../common/notifications.js';
import { NotificationChannelSettings } from '../notifications/channel-settings.js';
import { notifyExecutionFailures } from '../notifications/execution-failures.js';
import { OutboxNotifier } from '../notifications/outbox-notifier.js';
import { notificationRoutes } from '../server/routes/notifications.js';
import { NotificationOutbox } from '../storage/notification-outbox.js';
import { accountRoutes } from '../server/routes/accounts.js';
import { AccountRepository } from '../storage/account-repository.js';
import { LiveOutput } from '../executions/live-output.js';
import { LogStore } from '../executions/log-store.js';
import { executionStreamRoutes } from '../server/routes/execution-stream.js';
import { SseRegistry } from '../server/sse.js';
import { backendRoutes } from '../server/routes/backends.js';
import { DisposableStore } from '../lifecycle/disposables.js';
import { OsKeychain, type SecretStore } from '../secrets/keychain.js';
import { API_KEY_NAME, loadCredentials } from '../secrets/credentials.js';
import { LiveCredentials } from '../secrets/live-credentials.js';
import { allowedHostnames, buildApp, type App } from '../server/app.js';
import { LoginTokens, SessionCookies } from '../server/session.js';
import { Checkpointer } from '../storage/checkpointer.js';
import { checkDatabase, openDatabase } from '../storage/database.js';
import { lockDataDir } from '../storage/data-dir-lock.js';
import { SettingsRepository } from '../storage/settings-repository.js';
import { LogFileSink } from '../telemetry/file-sink.js';
import { FanOutSink, Logger, StreamSink, type LogSink } from '../telemetry/logger.js';
import { appRoot, readVersion } from '../version.js';
import { SealedSecretStore } from '../secrets/sealed-store.js';
import { AuditRepository } from '../storage/audit-repository.js';
import { DedupRepository } from '../storage/dedup-repository.js';
import { DeliveryRepository } from '../storage/delivery-repository.js';
import { ExecutionRepository } from '../storage/execution-repository.js';
import { ProcessGroupRepository } from '../storage/process-group-repository.js';
import { TriggerRepository } from '../storage/trigger-repository.js';
import { DeliveryIngest } from '../triggers/delivery-ingest.js';
import { PreparationThread } from '../triggers/delivery-preparer.js';
import { TriggerService } from '../triggers/trigger-service.js';
import { auditRoutes } from '../server/routes/audit.js';
import { keyRoutes } from '../server/routes/key.js';
import { executionActionRoutes, executionRoutes } from '../server/routes/executions.js';
import { createHookHandler } from '../server/hooks-handler.js';
import { triggerRoutes } from '../server/routes/triggers.js';
import { Pruner } from '../storage/pruner.js';
import { SessionRevocationRepository } from '../storage/session-revocation-repository.js';
import { ScheduleStateRepository } from '../storage/schedule-state-repository.js';
import { Scheduler } from '../triggers/scheduler.js';
import { tunnelRoutes } from '../server/routes/tunnel.js';
import { TRAY_ACTOR, TunnelManager } from '../tunnel/tunnel-manager.js';
import { TunnelSummary } from '../../common/tunnel.js';
import type { DesktopSettings } from '../../common/worker-protocol.js';
import { DesktopSettingsPublisher } from './desktop-settings.js';
import { createWorkerStop, type StopOptions } from './worker-stop.js';
import { ApiError } from '../server/errors.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface WorkerOptions {
  env: Env;
  /** Also write log lines here (headless: stdout). */
  logStream?: NodeJS.WritableStream;
  secretStore?: SecretStore;
  /** Shows a notification on the desktop (the worker's parent: the Electron shell, or the headless supervisor, which logs it). */
  desktopNotifications?: (notification: DesktopNotification) => void;
  /** Told what the tray shows of the tunnel, at start and whenever that changes. */
  tunnelChanges?: (tunnel: TunnelSummary) => void;
  /** Told the settings the desktop shell applies, at start and whenever they are stored. */
  desktopSettings?: (settings: DesktopSettings) => void;
  /** Defaults to dist/renderer under the app root. */
  rendererDir?: string;
  /** How long in-flight requests may take to finish on shutdown before their sockets are closed. */
  shutdownGraceMs?: number;
  /** The compiled body of the delivery preparation thread (tests running the TypeScript sources point at the build). */
  preparationThreadScript?: URL;
}

export interface RunningWorker {
  readonly url: string;
  readonly port: number;
  readonly config: Config;
  readonly logger: Logger;
  /** The HTTP application, with its route list (the auth matrix enumerates it). */
  readonly app: App;
  issueLoginUrl(): string;
  /** The tray's tunnel switch (TunnelManager.switchTo): the tunnel afterwards, and why it was refused (null when it was not). */
  switchTunnel(on: boolean): Promise<{ tunnel: TunnelSummary; error: string | null }>;
  /**
   * A stop (docs/executions.md, "When Agented stops"): no execution starts
   * any more, the running ones finish or are cancelled per the stop policy
   * (`policy` overrides the stored one), then everything closes. The HTTP
   * server keeps serving until then, so webhooks that arrive meanwhile are
   * accepted and queued for the next start. Called again with `cancel`
   * while finishing, it cancels what still runs; resolves when closed.
   */
  stop(options?: StopOptions): Promise<void>;
  /** Stops accepting, lets in-flight requests finish, then closes everything in reverse order (what still runs ends `interrupted`). */
  close(): Promise<void>;
}

/**
 * The composition root of the API worker: builds every service, hands each
 * its dependencies, and registers what it creates for an orderly shutdown.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const startedAt = Date.now();
  const disposables = new DisposableStore();
  try {
    const bootstrap = resolveConfig({ env: options.env });
    const sinks: LogSink[] = [disposables.add(new LogFileSink(bootstrap.logDir, 'worker'))];
    if (options.logStream) sinks.push(new StreamSink(options.logStream));
    const logger = Logger.create({ sink: new FanOutSink(sinks), level: bootstrap.logLevel, bindings: { process: 'worker', pid: process.pid } });

    // One instance per data dir (docs/decisions.md): before anything is read or written, or a second instance would recover, and kill, the first one's executions.
    const dataDirLock = lockDataDir(bootstrap.dataDir);
    disposables.defer(() => dataDirLock.release());
    const db = openDatabase({ file: path.join(bootstrap.dataDir, 'agented.db') });
    disposables.defer(() => {
      db.close();
    });
    disposables.add(new Checkpointer(db, { onError: (message) => logger.warn('WAL checkpoint failed', { error: message }) }));
    const settings = new SettingsRepository(db);
    const config = resolveConfig({ env: options.env, stored: settings.all() });
    logger.setLevel(config.logLevel);

    const secretStore = options.secretStore ?? new OsKeychain();
    // The key can be rotated while the worker runs (POST /api/key/rotate); each new one is masked in the logs before it is in effect.
    const credentials = new LiveCredentials(await loadCredentials(secretStore, config.apiKey), {
      store: secretStore,
      registerSecret: (value) => logger.redactor.addSecret(value),
    });
    logger.redactor.addSecret(credentials.apiKey);
    logger.redactor.addSecret(credentials.sessionSecret.toString('base64url'));
    logger.redactor.addSecret(credentials.sessionSecret.toString('hex'));

    // Trigger secrets live beside the API key: in the keychain, or sealed in SQLite when AGENTED_API_KEY bypasses it.
    const triggerSecrets = credentials.source === 'environment' ? new SealedSecretStore(db, credentials.apiKey) : secretStore;
    const triggers = new TriggerRepository(db);
    const deliveries = new DeliveryRepository(db);
    const dedup = new DedupRepository(db);
    const executions = new ExecutionRepository(db);
    const audit = new AuditRepository(db);
    const triggerService = new TriggerService({ triggers, secrets: triggerSecrets, audit });
    const ingest = new DeliveryIngest({
      db,
      triggers,
      secretOf: async (id) => {
        const secret = await triggerService.secretOf(id);
        // Never logged on purpose; registered so that a mistake would still be masked.
        if (secret) logger.redactor.addSecret(secret);
        return secret;
      },
      deliveries,
      dedup,
      executions,
      preparer: disposables.add(
        new PreparationThread({
          dedupTtlMs: config.dedupTtlSeconds * 1000,
          providerDedupTtlMs: config.providerDedupTtlSeconds * 1000,
          maxValueLength: config.promptValueMaxLength,
          threadScript: options.preparationThreadScript,
          onError: (message) => logger.warn(message),
        }),
      ),
      options: { inspectorBodyCapBytes: 256 * 1024, deliveriesKept: config.deliveriesKept },
    });
    const scheduler = disposables.add(
      new Scheduler({ db, triggers, dedup, executions, state: new ScheduleStateRepository(db), logger, maxValueLength: config.promptValueMaxLength }),
    );
    triggerService.onChange((id) => {
      ingest.invalidate(id);
      scheduler.reload(id);
    });
    const pruner = disposables.add(
      new Pruner((limit) => {
        const now = Date.now();
        return { dedupKeys: dedup.prune(now, limit), deliveries: deliveries.prune(config.deliveriesKept, limit) };
      }, logger),
    );
    pruner.start(60_000);

    const processGroups = new ProcessGroupRepository(db);
    // The `--version` runs and login shells are written down while they run, for the next worker to end should this one be killed.
    const locator = new BackendLocator({ env: options.env, overrides: backendPathOverrides(config), journal: processGroups });
    const health = disposables.add(
      new BackendHealth({ env: options.env, locator, versionTimeoutMs: config.versionTimeoutMs, maxAgeMs: config.backendsMaxAgeMs, journal: processGroups }),
    );
    const logs = disposables.add(
      new LogStore(db, {
        onWriteFailure: (error) =>
          error ? logger.warn('execution output could not be stored; it stays buffered and is written when the database takes it', { err: error }) : logger.info('execution output is stored again'),
      }),
    );
    const live = new LiveOutput();
    disposables.add(live.followEnds(executions));
    const accounts = new AccountRepository(db);
    const accountService = new AccountService({ accounts, secrets: triggerSecrets, audit, registerSecret: (value) => logger.redactor.addSecret(value) });
    const notificationChannels = new NotificationChannelSettings({ secrets: triggerSecrets, settings, audit, logger, desktopAvailable: options.desktopNotifications !== undefined });
    await notificationChannels.load();
    const outbox = new NotificationOutbox(db);
    const notifier = disposables.add(new OutboxNotifier({ outbox, channels: notificationChannels, logger, desktop: options.desktopNotifications }));
    disposables.add(notifyExecutionFailures({ executions, triggers, notifier }));
    const budgets = new BudgetLedger({ db, audit, notifier });
    const prices = new PriceSetting({ env: options.env, settings, initial: config.prices });
    const pool = new CredentialPool({ accounts, backoffBaseMs: config.rateLimitBackoffSeconds * 1000, accountBlocked: (id) => budgets.accountBlocked(id) });
    const queue = new ExecutionQueue(
      {
        pool,
        accounts,
        accountKey: (account) => accountService.apiKeyOf(account),
        budgets,
        prices: () => prices.current(),
        notifier,
        executions,
        triggers,
        logs,
        live,
        adapters: backendAdapters,
        locator,
        env: options.env,
        workspacesDir: path.join(config.dataDir, 'workspaces'),
        stopGraceMs: config.stopGraceMs,
        logger,
      },
      { maxConcurrent: config.maxConcurrent },
    );
    // Before anything can start: what a dead worker left running is marked interrupted and its processes ended.
    await queue.recover();
    // Its `--version` runs and login shells too (they are detached, so its death did not end them).
    const leftGroups = await endLeftGroups(processGroups, { graceMs: config.stopGraceMs });
    if (leftGroups.length > 0) logger.warn('process groups left by a previous worker ended', { groups: leftGroups });
    disposables.add(queue);
    // A changed trigger (a higher maxConcurrent, enabled again) may let its queued executions start now.
    triggerService.onChange((id) => queue.triggerChanged(id));
    // A new or re-enabled account may be what an execution waiting out a cool-down needs.
    accountService.onChange(() => queue.kick());
    const streams = new SseRegistry();

    const loginTokens = new LoginTokens(config.loginTokenTtlSeconds * 1000);
    // Signed with a key that follows the API key (a rotation ends every session); logouts are kept in SQLite.
    const sessions = new SessionCookies(() => credentials.cookieKey, config.sessionTtlSeconds, new SessionRevocationRepository(db));
    const version = readVersion();

    const readiness = async (): Promise<HealthReady> => {
      // The count is a read readiness needs anyway: a damaged table fails it here, not as a 500.
      let queued = 0;
      const database = checkDatabase(db, () => {
        queued = executions.countInState('queued');
      });
      const keychain = await (async () => {
        if (credentials.source === 'environment') {
          return { ok: true, detail: 'API key from AGENTED_API_KEY; keychain not used', source: 'environment' as const };
        }
        try {
          const ok = (await secretStore.get(API_KEY_NAME)) !== null;
          return { ok, detail: ok ? 'API key readable' : 'API key missing from the keychain', source: 'keychain' as const };
        } catch (error) {
          return { ok: false, detail: (error as Error).message, source: 'keychain' as const };
        }
      })();
      // Never waits for `--version` of four CLIs: the last finished check, or a note that one is running.
      const checklist = health.peek();
      const usable = checklist?.items.filter((item) => item.usable).map((item) => item.name) ?? [];
      const backends = checklist
        ? { ok: usable.length > 0, detail: usable.length > 0 ? `usable: ${usable.join(', ')}` : 'no agent CLI is usable (GET /api/backends says how to fix it)', usable }
        : { ok: false, detail: 'the first check of the agent CLIs is still running', usable };
      return {
        status: database.ok && keychain.ok ? 'ok' : 'degraded',
        version,
        uptimeSeconds: (Date.now() - startedAt) / 1000,
        pid: process.pid,
        checks: { database, keychain, backends },
        executions: { queued, running: queue.runningCount },
      };
    };

    // Started once the server listens; its secrets (the ngrok authtoken) live where the trigger secrets do.
    const tunnel = new TunnelManager({ env: options.env, settings, secrets: triggerSecrets, audit, logger, maxHookBodyBytes: config.maxHookBodyBytes });
    const { tunnelChanges } = options;
    if (tunnelChanges) {
      // The manager reports every change of its view; the parent hears only those it shows.
      let last: string | undefined;
      disposables.add(
        tunnel.onChange((view) => {
          const summary = TunnelSummary.parse(view);
          const key = JSON.stringify(summary);
          if (key === last) return;
          last = key;
          tunnelChanges(summary);
        }),
      );
    }
    const desktopSettings = new DesktopSettingsPublisher({ env: options.env, settings, publish: options.desktopSettings ?? (() => undefined) });

    const app = buildApp({
      logger,
      version,
      apiKey: () => credentials.apiKey,
      sessions,
      loginTokens,
      readiness,
      allowedHosts: allowedHostnames(config.host, config.allowedHosts),
      corsOrigins: config.corsOrigins,
      maxBodyBytes: config.maxBodyBytes,
      settings: {
        config,
        env: options.env,
        settings,
        audit,
        // The tunnel's settings, the desktop's, the stop's and the price table apply at once: what is stored is what is in use.
        live: () => ({ ...tunnel.liveSettings(), ...desktopSettings.current(), ...currentStopSettings(options.env, settings, config), prices: prices.current() }),
        stored: (names) => {
          desktopSettings.publish();
          if (names.includes('prices')) prices.reload();
        },
      },
      extraRoutes: [
        ...triggerRoutes({ service: triggerService, deliveries, executions, promptValueMaxLength: config.promptValueMaxLength }),
        ...executionRoutes({ executions }),
        ...executionActionRoutes({ executions, triggers, queue }),
        ...executionStreamRoutes({ executions, logs, live, health, registry: streams, sse: { heartbeatMs: config.sseHeartbeatMs, maxBufferedBytes: 512 * 1024 }, auth: { apiKey: () => credentials.apiKey, sessions } }),
        ...auditRoutes({ audit }),
        ...keyRoutes({ credentials, audit, sessions, rotated: () => streams.closeUnauthorized() }),
        ...tunnelRoutes({ tunnel }),
        ...notificationRoutes({ channels: notificationChannels, outbox, notifier }),
        ...accountRoutes({ accounts: accountService, budgets, usage: new UsageReporter({ db, accounts, triggers }) }),
        ...backendRoutes({ health }),
      ],
      hooks: createHookHandler({ ingest, maxHookBodyBytes: config.maxHookBodyBytes }),
      rendererDir: options.rendererDir ?? path.join(appRoot(), 'dist', 'renderer'),
    });

    if (!isLoopbackHost(config.host)) {
      logger.warn('listening on a non-loopback address: the API is reachable from the network (the key is still required)', {
        host: config.host,
      });
    }
    const server = http.createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 5_000 }, app.requestListener);
    await listen(server, config.port, config.host);
    const port = (server.address() as AddressInfo).port;
    const urlHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `http://${urlHost}:${port}`;
    dataDirLock.announce({ url, port });
    disposables.defer(() => closeServer(server, options.shutdownGraceMs ?? 10_000));
    // Closed before the server: no relayed delivery arrives while it shuts down.
    disposables.add(tunnel);
    void tunnel.start(url);
    desktopSettings.publish();
    // Open event streams would hold the server open: they end first.
    disposables.add(streams);
    scheduler.start();
    queue.start();
    notifier.start();
    // The first health check runs now, so the dashboard and readiness have it when asked.
    health.checklist().catch((error: unknown) => logger.warn('backend health check failed', { err: error }));
    logger.info('worker listening', { url, version, credentials_source: credentials.source, data_dir: config.dataDir });

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        logger.info('worker shutting down');
        await disposables.dispose();
      })());
    return {
      url,
      port,
      config,
      logger,
      app,
      issueLoginUrl: () => `${url}/auth/login?token=${loginTokens.issue()}`,
      switchTunnel: async (on) => {
        try {
          return { tunnel: TunnelSummary.parse(await tunnel.switchTo(on, TRAY_ACTOR)), error: null };
        } catch (error) {
          // A refusal is an ApiError whose issues say why (AGENTED_TUNNEL is set; ngrok has no authtoken).
          const reason = error instanceof ApiError && error.issues ? error.issues.map((issue) => issue.message).join('; ') : error instanceof Error ? error.message : String(error);
          logger.warn('the tunnel could not be switched from the tray', { on, reason });
          return { tunnel: TunnelSummary.parse(tunnel.view()), error: reason };
        }
      },
      stop: createWorkerStop({ queue, env: options.env, settings, config, logger, close }),
      close,
    };
  } catch (error) {
    await disposables.dispose().catch(() => undefined);
    throw error;
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting; idle keep-alive sockets close now, busy ones when their response ends or the grace runs out. */
function closeServer(server: http.Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

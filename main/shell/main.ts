import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, dialog, type BrowserWindow } from 'electron';
import { workerEnvironment } from '../cli/serve.js';
import { resolveConfig } from '../config/config.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { ElectronLogFileSink } from '../telemetry/file-sink.js';
import { FanOutSink, Logger, StreamSink } from '../telemetry/logger.js';
import { showDesktopNotification } from './desktop-notifications.js';
import { createIpcHandlers } from './ipc-handlers.js';
import { registerIpcHandlers } from './ipc.js';
import { UtilityProcessHost } from './utility-process-host.js';
import { createMainWindow } from './window.js';

const workerEntry = fileURLToPath(new URL('../worker/main.js', import.meta.url));
const preloadPath = fileURLToPath(new URL('../../preload/index.cjs', import.meta.url));

/**
 * Electron derives userData from package.json ("agented" in development, the
 * product name when packaged); pinning it keeps one data folder for both, and
 * must happen before the single-instance lock, which lives there.
 */
app.setName('Agented');
app.setPath('userData', path.join(app.getPath('appData'), 'Agented'));
// Every renderer sandboxed, even one created without our window options.
app.enableSandbox();

if (app.requestSingleInstanceLock()) {
  run().catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`agented: ${message}\n`);
    dialog.showErrorBox('Agented could not start', message);
    app.exit(1);
  });
} else {
  // The first instance gets 'second-instance' and comes to the front.
  app.quit();
}

/** The desktop app: the same Supervisor as `agented serve`, its worker in a utility process, and one window. */
async function run(): Promise<void> {
  await app.whenReady();

  const env = { ...process.env };
  // Electron's folders are the desktop defaults; an AGENTED_* variable still wins.
  env.AGENTED_DATA_DIR ||= app.getPath('userData');
  env.AGENTED_LOG_DIR ||= app.getPath('logs');
  const config = resolveConfig({ env });
  const logger = Logger.create({
    sink: new FanOutSink([new ElectronLogFileSink(config.logDir, 'main'), new StreamSink(process.stdout)]),
    level: config.logLevel,
    bindings: { process: 'main', pid: process.pid },
  });
  const supervisor = new Supervisor({ host: new UtilityProcessHost(workerEntry), env: workerEnvironment(env, config), logger });
  supervisor.on('state', (state) => logger.info('supervisor state', { state: state.status }));

  // Set once the worker first serves; restarts keep its port, so the origin stays valid while it restarts.
  let workerOrigin: string | undefined = undefined;
  let window: BrowserWindow | undefined;
  registerIpcHandlers({
    handlers: createIpcHandlers({ supervisorState: () => supervisor.state, appVersion: app.getVersion() }),
    workerOrigin: () => workerOrigin,
    logger,
  });

  let quit: 'no' | 'stopping-worker' | 'ready' = 'no';
  app.on('before-quit', (event) => {
    if (quit === 'ready') return;
    // Hold the quit until the worker has finished in-flight work (executions, log batches).
    event.preventDefault();
    if (quit === 'stopping-worker') return;
    quit = 'stopping-worker';
    supervisor
      .stop()
      .catch((error: unknown) => logger.error('the worker did not stop cleanly', { err: error }))
      .finally(() => {
        quit = 'ready';
        app.quit();
      });
  });
  process.on('SIGINT', () => app.quit());
  process.on('SIGTERM', () => app.quit());
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  const openWindow = async (origin: string) => {
    const created = createMainWindow({ preloadPath, workerOrigin: origin, logger });
    window = created;
    created.on('closed', () => {
      if (window === created) window = undefined;
    });
    // The worker's /auth/login trades this one-time token for the HttpOnly session cookie, then redirects to `/`.
    await created.loadURL(await supervisor.requestLoginUrl());
  };
  const showWindow = () => {
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    } else if (workerOrigin !== undefined && quit === 'no') {
      openWindow(workerOrigin).catch((error: unknown) => logger.error('could not open the window', { err: error }));
    }
  };
  /** Opens a page of the UI (a clicked notification's), in the window or a new one. */
  const openLink = (link: string) => {
    if (workerOrigin === undefined || quit !== 'no') return;
    const origin = workerOrigin;
    const target = new URL(link, origin);
    if (target.origin !== origin) return;
    const navigate = (shown: BrowserWindow) => shown.loadURL(target.toString()).catch((error: unknown) => logger.warn('could not open a notification\'s page', { err: error }));
    if (window) {
      showWindow();
      void navigate(window);
      return;
    }
    openWindow(origin)
      .then(() => window && navigate(window))
      .catch((error: unknown) => logger.error('could not open the window', { err: error }));
  };
  supervisor.on('notification', (notification) => showDesktopNotification(notification, { open: openLink, logger }));
  app.on('second-instance', showWindow);
  app.on('activate', showWindow);

  const running = await supervisor.start().catch((error: unknown) => {
    // Quitting during start-up rejects start() too; that is no error to show.
    if (quit === 'no') {
      const reason = error instanceof Error ? error.message : String(error);
      dialog.showErrorBox('Agented could not start its server', `${reason}\n\nLogs: ${config.logDir}`);
      app.exit(1);
    }
    return undefined;
  });
  if (!running) return;
  workerOrigin = new URL(running.url).origin;
  await openWindow(workerOrigin);
}

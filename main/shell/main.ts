import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, clipboard, dialog, Notification, shell } from 'electron';
import { workerEnvironment } from '../cli/serve.js';
import { resolveConfig } from '../config/config.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { LogFileSink } from '../telemetry/file-sink.js';
import { FanOutSink, Logger, StreamSink } from '../telemetry/logger.js';
import { appRoot } from '../version.js';
import { showDesktopNotification } from './desktop-notifications.js';
import { createIpcHandlers, toServerState } from './ipc-handlers.js';
import { desktopActions, registerIpcHandlers } from './ipc.js';
import { manageAppLifetime } from './lifecycle.js';
import { applyStartAtLogin, launchCommand, openedAtLogin, xdgAutostartDir } from './start-at-login.js';
import { AppTray } from './tray.js';
import { trayActions } from './tray-actions.js';
import { trayIconPath } from './tray-icon.js';
import { UtilityProcessHost } from './utility-process-host.js';
import { WindowController } from './window-controller.js';

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

/**
 * The desktop app: the same Supervisor as `agented serve`, its worker in a
 * utility process, a tray icon whose menu follows the worker, and one window.
 */
async function run(): Promise<void> {
  await app.whenReady();

  const env = { ...process.env };
  // Electron's folders are the desktop defaults; an AGENTED_* variable still wins.
  env.AGENTED_DATA_DIR ||= app.getPath('userData');
  env.AGENTED_LOG_DIR ||= app.getPath('logs');
  const config = resolveConfig({ env });
  const logger = Logger.create({
    sink: new FanOutSink([new LogFileSink(config.logDir, 'main'), new StreamSink(process.stdout)]),
    level: config.logLevel,
    bindings: { process: 'main', pid: process.pid },
  });
  const supervisor = new Supervisor({ host: new UtilityProcessHost(workerEntry), env: workerEnvironment(env, config), logger });
  supervisor.on('state', (state) => logger.info('supervisor state', { state: state.status }));

  const lifetime = manageAppLifetime(supervisor, logger);
  const windows = new WindowController({ preloadPath, supervisor, lifetime, logger });
  registerIpcHandlers({
    handlers: createIpcHandlers({ supervisorState: () => supervisor.state, appVersion: app.getVersion(), ...desktopActions() }),
    workerOrigin: () => windows.workerOrigin,
    logger,
  });
  supervisor.on('notification', (notification) => showDesktopNotification(notification, { open: (link) => windows.openLink(link), logger }));
  app.on('second-instance', () => windows.show());
  app.on('activate', () => windows.show());

  const actions = trayActions({
    supervisor,
    showWindow: () => windows.show(),
    writeClipboard: (text) => clipboard.writeText(text),
    openFolder: (folder) => shell.openPath(folder),
    logDir: config.logDir,
    quit: () => app.quit(),
    warn: (title, body) => {
      if (Notification.isSupported()) new Notification({ title, body }).show();
    },
    logger,
  });
  const tray = new AppTray({ iconPath: trayIconPath(process.platform, appRoot()), run: (action) => void actions[action](), logger });
  const renderTray = () => tray.render({ server: toServerState(supervisor.state), tunnel: supervisor.tunnel });
  supervisor.on('state', renderTray);
  supervisor.on('tunnel', renderTray);
  renderTray();

  const loginItems = {
    platform: process.platform,
    setLoginItemSettings: (settings: { openAtLogin: boolean; args: string[] }) => app.setLoginItemSettings(settings),
    autostartDir: xdgAutostartDir(env, os.homedir()),
    command: launchCommand({ execPath: process.execPath, env, isPackaged: app.isPackaged, appPath: app.getAppPath() }),
  };
  supervisor.on('desktopSettings', ({ startAtLogin }) => {
    try {
      applyStartAtLogin(startAtLogin, loginItems);
    } catch (error) {
      logger.warn('could not apply the start-at-login setting', { start_at_login: startAtLogin, err: error });
    }
  });

  const running = await supervisor.start().catch((error: unknown) => {
    // Quitting during start-up rejects start() too; that is no error to show.
    if (!lifetime.quitting) {
      const reason = error instanceof Error ? error.message : String(error);
      dialog.showErrorBox('Agented could not start its server', `${reason}\n\nLogs: ${config.logDir}`);
      app.exit(1);
    }
    return undefined;
  });
  if (!running) return;
  windows.setWorkerOrigin(new URL(running.url).origin);
  // Started by the OS at login: the app waits in the tray until it is opened.
  const atLogin = openedAtLogin(process.argv, process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin);
  if (!atLogin) windows.show();
}

import { BrowserWindow, shell, type Event } from 'electron';
import type { Logger } from '../telemetry/logger.js';
import { isAllowedExternalUrl, isSameOrigin, mainWindowOptions, withContentSecurityPolicy } from './window-options.js';

export interface MainWindowOptions {
  /** dist/preload/index.cjs */
  preloadPath: string;
  /** The worker's origin (http://127.0.0.1:PORT): the only one the window may show. */
  workerOrigin: string;
  logger: Logger;
}

/**
 * The app window, locked to the worker's origin: navigation elsewhere and new
 * windows are refused (https links to an allowlisted host go to the OS browser), and main adds its
 * own CSP to every response of the worker.
 */
export function createMainWindow({ preloadPath, workerOrigin, logger }: MainWindowOptions): BrowserWindow {
  const options = mainWindowOptions(preloadPath);
  // The isolation flags once more as literals at the constructor, where a static scanner
  // (Electronegativity, npm run electronegativity) can read them; test/shell checks that
  // mainWindowOptions sets the same values, so this can only repeat them, never loosen them.
  const window = new BrowserWindow({ ...options, webPreferences: { ...options.webPreferences, contextIsolation: true, sandbox: true, nodeIntegration: false } });
  const { webContents } = window;

  window.once('ready-to-show', () => window.show());

  const keepOnWorkerOrigin = (event: Event, url: string) => {
    if (isSameOrigin(url, workerOrigin)) return;
    event.preventDefault();
    logger.warn('blocked navigation away from the worker', { url });
    openExternally(url, logger);
  };
  webContents.on('will-navigate', (event) => keepOnWorkerOrigin(event, event.url));
  // A server-side redirect is a navigation too (the login link redirects to `/`, on the same origin).
  webContents.on('will-redirect', (event) => keepOnWorkerOrigin(event, event.url));
  webContents.on('will-attach-webview', (event) => event.preventDefault());
  webContents.setWindowOpenHandler(({ url }) => {
    openExternally(url, logger);
    return { action: 'deny' };
  });

  const { session } = webContents;
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!isSameOrigin(details.url, workerOrigin)) {
      callback({});
      return;
    }
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders) });
  });
  // Nothing in the UI needs the camera, notifications or the like yet: refuse until a feature asks for one by name.
  session.setPermissionRequestHandler((_webContents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);

  return window;
}

function openExternally(url: string, logger: Logger): void {
  if (!isAllowedExternalUrl(url)) {
    logger.warn('refused to open a link outside the allowlist', { url });
    return;
  }
  shell.openExternal(url).catch((error: unknown) => logger.warn('could not open a link in the browser', { url, err: error }));
}

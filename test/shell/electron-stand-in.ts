import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { createIpcHandlers } from '../../main/shell/ipc-handlers.js';
import type { desktopActions as desktopActionsType, registerIpcHandlers as registerIpcHandlersType } from '../../main/shell/ipc.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { repoRoot } from '../helpers/serve.js';
import { loadCommonJs } from './bundle.js';

/*
 * A stand-in for the parts of the `electron` module that main/shell/window*.ts,
 * lifecycle.ts, ipc.ts and desktop-notifications.ts use, following Electron's documented behaviour
 * (https://www.electronjs.org/docs/latest/api/app, .../api/browser-window,
 * .../api/web-contents): the Electron binary cannot run here. It records what the
 * shell code asks of it, and lets a test fire the events Electron would.
 */

/** An Electron event: `preventDefault()` is how a listener refuses what is about to happen. */
export interface StandInEvent {
  readonly url?: string;
  defaultPrevented: boolean;
  preventDefault(): void;
}

function standInEvent(fields: { url?: string } = {}): StandInEvent {
  return {
    ...fields,
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
  };
}

type HeadersListener = (details: { url: string; responseHeaders?: Record<string, string[]> }, callback: (response: { responseHeaders?: Record<string, string[]> }) => void) => void;

export class StandInSession {
  headersListener: HeadersListener | undefined;
  permissionRequestHandler: ((webContents: unknown, permission: string, callback: (granted: boolean) => void) => void) | undefined;
  permissionCheckHandler: ((webContents: unknown, permission: string) => boolean) | undefined;
  readonly webRequest = {
    onHeadersReceived: (listener: HeadersListener) => {
      this.headersListener = listener;
    },
  };

  setPermissionRequestHandler(handler: StandInSession['permissionRequestHandler']): void {
    this.permissionRequestHandler = handler;
  }

  setPermissionCheckHandler(handler: StandInSession['permissionCheckHandler']): void {
    this.permissionCheckHandler = handler;
  }

  /** A response arriving, as the webRequest listener sees it; resolves with the headers the listener answered (undefined: unchanged). */
  receiveHeaders(url: string, responseHeaders: Record<string, string[]>): Promise<Record<string, string[]> | undefined> {
    return new Promise((resolve) => this.headersListener!({ url, responseHeaders }, (response) => resolve(response.responseHeaders)));
  }

  /** Whether a permission request is granted. */
  requestPermission(permission: string): Promise<boolean> {
    return new Promise((resolve) => this.permissionRequestHandler!(undefined, permission, resolve));
  }
}

export class StandInWebContents extends EventEmitter {
  readonly session = new StandInSession();
  windowOpenHandler: ((details: { url: string; frameName: string; features: string; disposition: string }) => { action: 'allow' | 'deny' }) | undefined;

  setWindowOpenHandler(handler: StandInWebContents['windowOpenHandler']): void {
    this.windowOpenHandler = handler;
  }

  /**
   * The page starts a navigation (a link, `location = …`) or the server redirects one:
   * Electron emits the event with the target URL and goes ahead unless a listener
   * prevents it. Returns whether the navigation went ahead.
   */
  navigate(kind: 'will-navigate' | 'will-redirect', url: string): boolean {
    const event = standInEvent({ url });
    this.emit(kind, event);
    return !event.defaultPrevented;
  }

  /** `window.open(url)` or a target=_blank link: Electron asks the handler; without one it opens a window. */
  openWindow(url: string): 'allow' | 'deny' {
    if (!this.windowOpenHandler) return 'allow';
    return this.windowOpenHandler({ url, frameName: '', features: '', disposition: 'foreground-tab' }).action;
  }

  /** A `<webview>` about to attach: goes ahead unless prevented. */
  attachWebview(): boolean {
    const event = standInEvent();
    this.emit('will-attach-webview', event, {}, {});
    return !event.defaultPrevented;
  }
}

export interface StandInElectron {
  /** The module object the bundle's `require('electron')` gets. */
  module: Record<string, unknown>;
  app: StandInApp;
  windows: StandInBrowserWindow[];
  ipcMain: StandInIpcMain;
  /** Every notification shown, in order. */
  notifications: StandInNotification[];
  /** Every URL handed to shell.openExternal. */
  opened: string[];
  /** Every text handed to clipboard.writeText. */
  copied: string[];
}

/** The frame an IPC message came from (`event.senderFrame`); null once the frame is gone. */
export type StandInFrame = { url: string; parent: object | null } | null;
type IpcHandler = (event: { senderFrame: StandInFrame }, ...args: unknown[]) => unknown;

/** ipcMain's handle/removeHandler (https://www.electronjs.org/docs/latest/api/ipc-main). */
export class StandInIpcMain {
  /** The handler of each channel, as registered. */
  readonly handlers = new Map<string, IpcHandler>();

  handle(channel: string, handler: IpcHandler): void {
    // Electron refuses a second handler for a channel; so does the stand-in.
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  /** A renderer's ipcRenderer.invoke(channel, ...args) from `senderFrame`: what the handler answers, or throws, as a promise. */
  async invoke(channel: string, senderFrame: StandInFrame, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler({ senderFrame }, ...args);
  }
}

/** A desktop notification (https://www.electronjs.org/docs/latest/api/notification); a test fires its `click`. */
export class StandInNotification extends EventEmitter {
  static isSupported(): boolean {
    return true;
  }

  constructor(
    readonly options: { title: string; body: string },
    private readonly onShow: (notification: StandInNotification) => void,
  ) {
    super();
  }

  show(): void {
    this.onShow(this);
  }
}

export class StandInApp extends EventEmitter {
  /** Set once Electron would terminate: after `will-quit`, which no listener prevented. */
  exited = false;
  private closingForQuit = false;
  constructor(private readonly windows: StandInBrowserWindow[]) {
    super();
  }

  /**
   * Per the docs of app.quit(): `before-quit` first (a listener may prevent the
   * quit), the windows close, then `will-quit` (also preventable) and the app terminates.
   */
  quit(): void {
    const beforeQuit = standInEvent();
    this.emit('before-quit', beforeQuit);
    if (beforeQuit.defaultPrevented) return;
    this.closingForQuit = true;
    for (const window of this.windows) if (!window.isDestroyed()) window.close();
    this.closingForQuit = false;
    const willQuit = standInEvent();
    this.emit('will-quit', willQuit);
    if (willQuit.defaultPrevented) return;
    this.exited = true;
    this.emit('quit', standInEvent(), 0);
  }

  /**
   * Electron, once the last window has closed: `window-all-closed` if anyone listens,
   * else it quits (the default); not while app.quit() itself closes them.
   */
  lastWindowClosed(): void {
    if (this.closingForQuit) return;
    if (this.listenerCount('window-all-closed') > 0) this.emit('window-all-closed');
    else this.quit();
  }
}

export class StandInBrowserWindow extends EventEmitter {
  readonly webContents = new StandInWebContents();
  readonly loaded: string[] = [];
  visible = false;
  /** How many times show() was called. */
  shows = 0;
  focused = false;
  minimized = false;
  private destroyed = false;

  constructor(
    readonly options: Record<string, unknown>,
    private readonly onClosed: () => void,
  ) {
    super();
  }

  loadURL(url: string): Promise<void> {
    this.loaded.push(url);
    return Promise.resolve();
  }

  show(): void {
    this.visible = true;
    this.shows += 1;
  }

  focus(): void {
    this.focused = true;
  }

  isMinimized(): boolean {
    return this.minimized;
  }

  restore(): void {
    this.minimized = false;
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  /** The page is ready: Electron emits `ready-to-show` once. */
  paint(): void {
    this.emit('ready-to-show');
  }

  /** The user closes the window: `close` (preventable), then the window is destroyed and `closed` fires. */
  close(): void {
    const event = standInEvent();
    this.emit('close', event);
    if (event.defaultPrevented) return;
    this.destroyed = true;
    this.visible = false;
    this.emit('closed');
    this.onClosed();
  }
}

export function createElectronStandIn(): StandInElectron {
  const windows: StandInBrowserWindow[] = [];
  const notifications: StandInNotification[] = [];
  const opened: string[] = [];
  const copied: string[] = [];
  const app = new StandInApp(windows);
  const ipcMain = new StandInIpcMain();
  const onClosed = () => {
    if (windows.every((window) => window.isDestroyed())) app.lastWindowClosed();
  };
  class BrowserWindow extends StandInBrowserWindow {
    constructor(options: Record<string, unknown>) {
      super(options, onClosed);
      windows.push(this);
    }
  }
  class Notification extends StandInNotification {
    constructor(options: { title: string; body: string }) {
      super(options, (shown) => notifications.push(shown));
    }
  }
  // Documented shapes: shell.openExternal(url) => Promise<void>, clipboard.writeText(text) => void.
  const shell = {
    openExternal: async (url: string) => {
      opened.push(url);
    },
  };
  const clipboard = { writeText: (text: string) => void copied.push(text) };
  return { module: { app, BrowserWindow, Notification, ipcMain, shell, clipboard }, app, windows, ipcMain, notifications, opened, copied };
}

/**
 * Bundles shell files (main/shell/<file>) into one CommonJS module, as the app
 * bundles them, with `electron` left to the caller; `load` evaluates it against
 * a stand-in.
 */
export async function bundleShell(files: string[]): Promise<{ load(electron: StandInElectron): Record<string, unknown> }> {
  const result = await build({
    stdin: {
      contents: files.map((file) => `export * from ${JSON.stringify(`./${file}`)};`).join('\n'),
      resolveDir: path.join(repoRoot, 'main', 'shell'),
      sourcefile: 'shell-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    external: ['electron'],
  });
  const code = result.outputFiles[0]!.text;
  return { load: (electron) => loadCommonJs(code, 'shell.cjs', { electron: electron.module }).exports };
}

export interface DesktopBridge {
  /** What main's handlers handed to electron's clipboard.writeText and shell.openExternal. */
  copied: string[];
  opened: string[];
  /** What main logged (refusals among it). */
  log: MemorySink;
}

/**
 * The whole path a renderer call takes in the app, minus Electron itself: the
 * bundled preload (`preloadFile`, from scripts/build-preload.mjs) exposes its API
 * through `expose` (onto a happy-dom window in renderer tests); its
 * ipcRenderer.invoke reaches the ipcMain handlers that the bundled
 * main/shell/ipc.ts registered, as a call from the top frame of `pageUrl`, and
 * those act through a stand-in clipboard and shell.
 */
export async function desktopBridge(options: { preloadFile: string; pageUrl: string; expose: (key: string, value: unknown) => void }): Promise<DesktopBridge> {
  const log = new MemorySink();
  const electron = createElectronStandIn();
  const { registerIpcHandlers, desktopActions } = (await bundleShell(['ipc.ts'])).load(electron) as {
    registerIpcHandlers: typeof registerIpcHandlersType;
    desktopActions: typeof desktopActionsType;
  };
  const pageOrigin = new URL(options.pageUrl).origin;
  // As main/shell/main.ts wires them.
  registerIpcHandlers({
    handlers: createIpcHandlers({ supervisorState: () => ({ status: 'stopped' }), appVersion: '0.0.0-test', ...desktopActions() }),
    workerOrigin: () => pageOrigin,
    logger: Logger.create({ sink: log }),
  });
  const senderFrame = { url: options.pageUrl, parent: null };
  const preloadElectron = {
    contextBridge: { exposeInMainWorld: options.expose },
    ipcRenderer: { invoke: (channel: string, ...args: unknown[]) => electron.ipcMain.invoke(channel, senderFrame, ...args) },
  };
  loadCommonJs(fs.readFileSync(options.preloadFile, 'utf8'), options.preloadFile, { electron: preloadElectron });
  return { copied: electron.copied, opened: electron.opened, log };
}

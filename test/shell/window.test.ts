import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { manageAppLifetime } from '../../main/shell/lifecycle.js';
import type { createMainWindow } from '../../main/shell/window.js';
import type { WindowController } from '../../main/shell/window-controller.js';
import { contentSecurityPolicy } from '../../main/shell/window-options.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { forkSupervisor, type ForkedSupervisor } from '../helpers/fork-supervisor.js';
import { request } from '../helpers/http.js';
import { bundleShell, createElectronStandIn, type StandInBrowserWindow, type StandInElectron } from './electron-stand-in.js';

/*
 * The handlers main/shell/window.ts wires on the real window, fired the way
 * Electron fires them (test/shell/electron-stand-in.ts: the binary cannot run
 * here), and the WindowController over the real Supervisor and worker.
 */

interface ShellModule {
  createMainWindow: typeof createMainWindow;
  WindowController: typeof WindowController;
  manageAppLifetime: typeof manageAppLifetime;
}

let shell: Awaited<ReturnType<typeof bundleShell>>;
beforeAll(async () => {
  shell = await bundleShell(['window.ts', 'window-controller.ts', 'lifecycle.ts']);
});

const workerOrigin = 'http://127.0.0.1:8787';

describe('the window (main/shell/window.ts)', () => {
  let electron: StandInElectron;
  let window: StandInBrowserWindow;
  const sink = new MemorySink();

  beforeAll(() => {
    electron = createElectronStandIn();
    const { createMainWindow } = shell.load(electron) as unknown as ShellModule;
    createMainWindow({ preloadPath: '/app/dist/preload/index.cjs', workerOrigin, logger: Logger.create({ sink }) });
    expect(electron.windows).toHaveLength(1);
    window = electron.windows[0]!;
  });

  it('is created isolated, hidden until painted, with the preload', () => {
    expect(window.options).toMatchObject({
      show: false,
      webPreferences: { preload: '/app/dist/preload/index.cjs', contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false },
    });
    expect(window.visible).toBe(false);
    window.paint();
    expect(window.visible).toBe(true);
  });

  it.each([`${workerOrigin}/`, `${workerOrigin}/executions/abc?x=1`, `${workerOrigin}/auth/login?token=t`])('lets the page navigate on the worker origin: %s', (url) => {
    expect(window.webContents.navigate('will-navigate', url)).toBe(true);
    expect(window.webContents.navigate('will-redirect', url)).toBe(true);
  });

  it.each([
    'http://127.0.0.1:8788/',
    'http://localhost:8787/',
    'https://127.0.0.1:8787/',
    'http://127.0.0.1:8787.evil.test/',
    'https://example.com/phish',
    'https://github.com/agented/agented',
    'file:///etc/passwd',
    'data:text/html,<p>hi</p>',
    'javascript:alert(1)',
  ])('blocks navigating and redirecting away to %s', (url) => {
    expect(window.webContents.navigate('will-navigate', url)).toBe(false);
    expect(window.webContents.navigate('will-redirect', url)).toBe(false);
  });

  it('hands a blocked navigation to the OS browser only when the link is on the allowlist', () => {
    electron.opened.length = 0;
    window.webContents.navigate('will-navigate', 'https://github.com/agented/agented/pull/7');
    window.webContents.navigate('will-navigate', 'https://example.com/phish');
    window.webContents.navigate('will-redirect', 'http://github.com/agented/agented');
    window.webContents.navigate('will-navigate', 'file:///etc/passwd');
    expect(electron.opened).toEqual(['https://github.com/agented/agented/pull/7']);
    expect(sink.lines.some((line) => line.includes('blocked navigation away from the worker'))).toBe(true);
  });

  it('denies every new window, opening only allowlisted https links in the OS browser', () => {
    electron.opened.length = 0;
    const urls = [
      'https://docs.github.com/en/webhooks',
      'https://smee.io/new',
      'https://example.com/',
      'https://evil.github.com/',
      'http://github.com/',
      `${workerOrigin}/executions`,
      'vscode://file/etc/passwd',
      'about:blank',
    ];
    for (const url of urls) expect(window.webContents.openWindow(url), url).toBe('deny');
    expect(electron.opened).toEqual(['https://docs.github.com/en/webhooks', 'https://smee.io/new']);
    expect(sink.lines.at(-1)).toMatch(/outside the allowlist/);
  });

  it('refuses to attach a <webview>', () => {
    expect(window.webContents.attachWebview()).toBe(false);
  });

  it("adds main's CSP to the worker's responses, next to the worker's own, and leaves other responses alone", async () => {
    const { session } = window.webContents;
    await expect(session.receiveHeaders(`${workerOrigin}/`, { 'content-security-policy': ["default-src 'self'"] })).resolves.toEqual({
      'content-security-policy': ["default-src 'self'", contentSecurityPolicy()],
    });
    await expect(session.receiveHeaders('https://example.com/', { 'x-test': ['1'] })).resolves.toBeUndefined();
  });

  it('denies every permission request and check', async () => {
    const { session } = window.webContents;
    for (const permission of ['media', 'notifications', 'clipboard-sanitized-write', 'geolocation']) {
      await expect(session.requestPermission(permission)).resolves.toBe(false);
      expect(session.permissionCheckHandler!(undefined, permission)).toBe(false);
    }
  });
});

describe('the one window (main/shell/window-controller.ts) over the real supervisor', () => {
  let electron: StandInElectron;
  let forked: ForkedSupervisor;
  let controller: WindowController;
  let origin: string;
  let lifetime: ReturnType<typeof manageAppLifetime>;

  /** Waits for the controller's asynchronous open (a login URL from the worker, then loadURL). */
  async function loadedWindow(index: number): Promise<StandInBrowserWindow> {
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const window = electron.windows[index];
      if (window && window.loaded.length > 0) return window;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`window ${index} never loaded`);
  }

  beforeAll(async () => {
    electron = createElectronStandIn();
    const module = shell.load(electron) as unknown as ShellModule;
    forked = forkSupervisor();
    // Signals from an emitter of its own: nothing here sends one, and the test runner keeps its own handlers.
    lifetime = module.manageAppLifetime(forked.supervisor, forked.logger, new EventEmitter() as unknown as NodeJS.Process);
    controller = new module.WindowController({ preloadPath: '/app/preload.cjs', supervisor: forked.supervisor, lifetime, logger: forked.logger });
    // Before the worker first serves there is nothing to show.
    controller.show();
    expect(electron.windows).toHaveLength(0);
    const running = await forked.supervisor.start();
    origin = new URL(running.url).origin;
    controller.setWorkerOrigin(origin);
  });
  afterAll(() => forked.close());

  it('opens the window on a one-time login link that the worker trades for a session cookie', async () => {
    controller.show();
    const window = await loadedWindow(0);
    const [login] = window.loaded;
    expect(login).toMatch(new RegExp(`^${origin}/auth/login\\?token=`));
    const answer = await request(origin, { path: new URL(login!).pathname + new URL(login!).search });
    expect(answer.status).toBe(303);
    expect(String(answer.headers['set-cookie'])).toMatch(/HttpOnly/i);
    // The link is good once.
    expect((await request(origin, { path: new URL(login!).pathname + new URL(login!).search })).status).toBe(401);
  });

  it('brings the existing window back instead of opening another', async () => {
    const window = await loadedWindow(0);
    window.minimized = true;
    window.visible = false;
    controller.show();
    expect({ minimized: window.minimized, visible: window.visible, focused: window.focused }).toEqual({ minimized: false, visible: true, focused: true });
    expect(electron.windows).toHaveLength(1);
  });

  it("opens a notification's page in the window, and nothing off the worker origin", async () => {
    const window = await loadedWindow(0);
    controller.openLink('/executions/abc');
    controller.openLink('https://example.com/executions/abc');
    controller.openLink('//evil.test/x');
    await new Promise((resolve) => setImmediate(resolve));
    expect(window.loaded.slice(1)).toEqual([`${origin}/executions/abc`]);
  });

  it('closing the window closes only the window: the app and its worker stay, and show() opens a fresh one', async () => {
    const first = await loadedWindow(0);
    first.close();
    expect(first.isDestroyed()).toBe(true);
    expect(electron.app.exited).toBe(false);
    expect(lifetime.quitting).toBe(false);
    expect(forked.supervisor.state.status).toBe('running');

    controller.show();
    const second = await loadedWindow(1);
    expect(second).not.toBe(first);
    expect(second.loaded[0]).toMatch(new RegExp(`^${origin}/auth/login\\?token=`));
    expect(second.loaded[0]).not.toBe(first.loaded[0]);
  });

  it('opens no window once a quit has begun', async () => {
    (await loadedWindow(1)).close();
    const quit = new Promise<void>((resolve) => electron.app.once('quit', () => resolve()));
    electron.app.quit();
    controller.show();
    controller.openLink('/executions/abc');
    await quit;
    expect(electron.windows).toHaveLength(2);
    expect(forked.supervisor.state.status).toBe('stopped');
  });
});

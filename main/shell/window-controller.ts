import type { BrowserWindow } from 'electron';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Logger } from '../telemetry/logger.js';
import type { AppLifetime } from './lifecycle.js';
import { createMainWindow } from './window.js';

export interface WindowControllerOptions {
  preloadPath: string;
  supervisor: Supervisor;
  lifetime: AppLifetime;
  logger: Logger;
}

/**
 * The one app window: opened on demand (at start, from the tray, a second
 * launch, a clicked notification), shown again when it exists, never while
 * the app quits. Closing it only closes it; the app stays in the tray.
 */
export class WindowController {
  private window: BrowserWindow | undefined;
  /** Set once the worker first serves; restarts keep its port, so the origin stays valid while it restarts. */
  private origin: string | undefined;

  constructor(private readonly options: WindowControllerOptions) {}

  get workerOrigin(): string | undefined {
    return this.origin;
  }

  /** The worker's origin, once it serves for the first time. */
  setWorkerOrigin(origin: string): void {
    this.origin ??= origin;
  }

  /** Brings the window to the front, or opens it. */
  show(): void {
    const { window } = this;
    if (window) {
      if (window.isMinimized()) window.restore();
      window.show();
      window.focus();
    } else if (this.origin !== undefined && !this.options.lifetime.quitting) {
      this.open(this.origin).catch((error: unknown) => this.options.logger.error('could not open the window', { err: error }));
    }
  }

  /** Opens a page of the UI (a clicked notification's), in the window or a new one. */
  openLink(link: string): void {
    const origin = this.origin;
    if (origin === undefined || this.options.lifetime.quitting) return;
    const target = new URL(link, origin);
    if (target.origin !== origin) return;
    const navigate = (shown: BrowserWindow) =>
      shown.loadURL(target.toString()).catch((error: unknown) => this.options.logger.warn("could not open a notification's page", { err: error }));
    if (this.window) {
      this.show();
      void navigate(this.window);
      return;
    }
    this.open(origin)
      .then(() => this.window && navigate(this.window))
      .catch((error: unknown) => this.options.logger.error('could not open the window', { err: error }));
  }

  private async open(origin: string): Promise<void> {
    const { preloadPath, logger, supervisor } = this.options;
    const created = createMainWindow({ preloadPath, workerOrigin: origin, logger });
    this.window = created;
    created.on('closed', () => {
      if (this.window === created) this.window = undefined;
    });
    // The worker's /auth/login trades this one-time token for the HttpOnly session cookie, then redirects to `/`.
    await created.loadURL(await supervisor.requestLoginUrl());
  }
}

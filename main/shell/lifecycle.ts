import { app } from 'electron';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Logger } from '../telemetry/logger.js';

export interface AppLifetime {
  /** True once a quit was asked for: no new window opens then. */
  readonly quitting: boolean;
}

/**
 * The app's lifetime. It lives in the tray: closing the last window keeps it
 * running, and only a quit (the tray's Quit, the app menu, SIGINT or SIGTERM,
 * the OS logging out) ends it. A quit is held until the worker has stopped
 * gracefully (executions, log batches), then carried out.
 */
export function manageAppLifetime(
  supervisor: Supervisor,
  logger: Logger,
  /** Where SIGINT and SIGTERM arrive: the process; a test passes its own emitter, so it neither sends real signals nor leaves listeners on its runner. */
  signals: Pick<NodeJS.Process, 'on'> = process,
): AppLifetime {
  let quit: 'no' | 'stopping-worker' | 'ready' = 'no';
  app.on('before-quit', (event) => {
    if (quit === 'ready') return;
    event.preventDefault();
    if (quit === 'stopping-worker') return;
    quit = 'stopping-worker';
    logger.info('quitting: stopping the worker first');
    supervisor
      .stop()
      .catch((error: unknown) => logger.error('the worker did not stop cleanly', { err: error }))
      .finally(() => {
        quit = 'ready';
        app.quit();
      });
  });
  signals.on('SIGINT', () => app.quit());
  signals.on('SIGTERM', () => app.quit());
  // Having a listener is what keeps Electron from quitting when the last window closes.
  app.on('window-all-closed', () => logger.info('window closed; Agented stays in the tray'));
  return {
    get quitting() {
      return quit !== 'no';
    },
  };
}

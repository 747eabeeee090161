import { Notification } from 'electron';
import type { DesktopNotification } from '../../common/notifications.js';
import type { Logger } from '../telemetry/logger.js';

/** Shown notifications, held until closed or clicked: one that is garbage-collected loses its click handler. */
const showing = new Set<Notification>();

/**
 * Shows a notification from the worker with the OS's notification service;
 * clicking it opens its page (an execution, the settings) in the window.
 * Where the OS has none, the log line is all there is.
 */
export function showDesktopNotification(notification: DesktopNotification, options: { open: (link: string) => void; logger: Logger }): void {
  if (!Notification.isSupported()) {
    options.logger.warn(`desktop notification (not supported on this system): ${notification.title}`, { notification_id: notification.id, body: notification.body });
    return;
  }
  const shown = new Notification({ title: notification.title, body: notification.body });
  showing.add(shown);
  shown.on('click', () => {
    showing.delete(shown);
    options.open(notification.link);
  });
  shown.on('close', () => showing.delete(shown));
  shown.on('failed', (_event, error) => {
    showing.delete(shown);
    options.logger.warn('a desktop notification could not be shown', { notification_id: notification.id, error });
  });
  shown.show();
}

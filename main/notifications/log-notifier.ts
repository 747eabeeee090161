import type { Logger } from '../telemetry/logger.js';
import type { Notification, Notifier } from './notifier.js';

/** Writes each notification to the log (a warning line with its data): the channel every installation has. */
export class LogNotifier implements Notifier {
  constructor(private readonly logger: Logger) {}

  notify(notification: Notification): void {
    this.logger.warn(`notification: ${notification.title}`, { notification_kind: notification.kind, body: notification.body, data: notification.data });
  }
}

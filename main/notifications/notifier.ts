import type { NotificationKind } from '../../common/notifications.js';

/** Something worth telling the user about while nobody watches the dashboard. */
export interface Notification {
  kind: NotificationKind;
  /** One line, e.g. "Daily budget at 80%". */
  title: string;
  body: string;
  /** What the renderer or a webhook receiver can act on (budget id, backend, execution id…). */
  data: Record<string, unknown>;
}

/**
 * Sends notifications on every configured channel. `notify` returns at once:
 * delivery happens later, is retried when it fails, and never blocks or
 * fails the caller (an execution, a budget check).
 */
export interface Notifier {
  notify(notification: Notification): void;
}

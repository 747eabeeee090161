import { ErrorBody } from '../../../common/errors.js';
import { NotificationSettings, NotificationSettingsUpdate, NotificationTestResult } from '../../../common/notifications.js';
import type { NotificationChannelSettings } from '../../notifications/channel-settings.js';
import type { OutboxNotifier } from '../../notifications/outbox-notifier.js';
import type { NotificationOutbox } from '../../storage/notification-outbox.js';
import { ApiError } from '../errors.js';
import { defineRoute, type Route } from '../route.js';
import { actorOf } from './triggers.js';

/** How many outbox rows the settings page shows. */
const RECENT = 50;

export interface NotificationRouteDependencies {
  channels: NotificationChannelSettings;
  outbox: NotificationOutbox;
  notifier: OutboxNotifier;
}

/** Notification channels (their URLs and secret go to the keychain and never come back) and the outbox. */
export function notificationRoutes(deps: NotificationRouteDependencies): Route[] {
  const view = (): NotificationSettings => ({ channels: deps.channels.view(), recent: deps.outbox.recent(RECENT) });
  return [
    defineRoute({
      method: 'get',
      path: '/api/notifications',
      auth: 'key',
      tag: 'notifications',
      summary: 'Which notification channels are set up (never their URLs or secret), and the latest deliveries with their status.',
      responses: { 200: { description: 'Channels and outbox', schema: NotificationSettings }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: view,
    }),
    defineRoute<Record<string, never>, Record<string, never>, NotificationSettingsUpdate>({
      method: 'put',
      path: '/api/notifications',
      auth: 'key',
      tag: 'notifications',
      summary: 'Sets or clears (null) the Slack incoming-webhook URL, the webhook URL and its signing secret (all kept in the OS keychain), and turns desktop notifications on or off. Applies at once.',
      body: NotificationSettingsUpdate,
      responses: {
        200: { description: 'Stored; channels and outbox as they are now', schema: NotificationSettings },
        401: { description: 'No valid key', schema: ErrorBody },
      },
      handler: async ({ body, req }) => {
        await deps.channels.update(body, actorOf(req));
        return view();
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/notifications/test',
      auth: 'key',
      tag: 'notifications',
      summary: 'Sends a test notification on every configured channel; GET /api/notifications shows how its deliveries went.',
      successStatus: 202,
      responses: {
        202: { description: 'Queued on these channels', schema: NotificationTestResult },
        401: { description: 'No valid key', schema: ErrorBody },
        409: { description: 'No channel is configured', schema: ErrorBody },
      },
      handler: () => {
        if (deps.channels.enabled().length === 0) throw new ApiError('ERR_NO_NOTIFICATION_CHANNEL');
        return deps.notifier.send({ kind: 'test', title: 'Test notification from Agented', body: 'Notifications reach this channel.', data: {} });
      },
    }),
  ];
}

import { z } from 'zod';

/** What a notification is about: a budget crossing 80 %/100 %, a backend with every account cooling down, a failed execution, or a test. */
export const NotificationKind = z.enum(['budget', 'cooldown', 'execution_failed', 'test']);
export type NotificationKind = z.infer<typeof NotificationKind>;

/** Where notifications go. Every configured channel gets every notification. */
export const NotificationChannel = z.enum(['slack', 'webhook', 'desktop']);
export type NotificationChannel = z.infer<typeof NotificationChannel>;

/**
 * The JSON body a generic webhook receives (signed per Standard Webhooks when a
 * secret is set; the `webhook-id` header is the notification's id, the same on
 * every retry, so a receiver can drop duplicates).
 */
export const NotificationMessage = z
  .object({
    kind: NotificationKind,
    title: z.string(),
    body: z.string(),
    data: z.record(z.string(), z.unknown()),
    /** When it was raised (ISO 8601), not when it was delivered. */
    at: z.string(),
  })
  .meta({ id: 'NotificationMessage' });
export type NotificationMessage = z.infer<typeof NotificationMessage>;

/** What the worker hands to the desktop shell (over the supervisor link) to show; `link` is a path of the UI. */
export const DesktopNotification = z.object({
  id: z.string(),
  kind: NotificationKind,
  title: z.string(),
  body: z.string(),
  /** A path of the UI (`/executions/…`), never another origin. */
  link: z.string().max(500).regex(/^\/(?![/\\])/, 'a path of the UI'),
});
export type DesktopNotification = z.infer<typeof DesktopNotification>;

/** The page of the UI a notification is about: clicking a desktop notification opens it. */
export function notificationLink(kind: NotificationKind, data: Record<string, unknown>): string {
  switch (kind) {
    case 'execution_failed':
      return typeof data.executionId === 'string' ? `/executions/${encodeURIComponent(data.executionId)}` : '/executions';
    case 'budget':
      return '/budgets';
    case 'cooldown':
      return '/accounts';
    // The channels are set up under Settings.
    case 'test':
      return '/settings';
    default:
      return kind satisfies never;
  }
}

/** One delivery of a notification to one channel, as kept in the outbox. */
export const OutboxEntry = z
  .object({
    id: z.number().int(),
    notificationId: z.string(),
    channel: NotificationChannel,
    kind: NotificationKind,
    title: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']).describe('failed: given up (a permanent error, or retries used up).'),
    attempts: z.number().int(),
    lastError: z.string().nullable().describe('Why the last attempt failed; never the channel URL.'),
    createdAt: z.string(),
    nextAttemptAt: z.string().nullable().describe('Set while pending.'),
    deliveredAt: z.string().nullable(),
  })
  .meta({ id: 'OutboxEntry' });
export type OutboxEntry = z.infer<typeof OutboxEntry>;

/** Which channels are set up. Never a URL's secret parts or the signing secret. */
export const NotificationChannels = z
  .object({
    slack: z.object({ configured: z.boolean() }),
    webhook: z.object({
      configured: z.boolean(),
      /** The receiver's host (and port), to recognise it; the rest of the URL may hold a token. */
      host: z.string().nullable(),
      /** Deliveries carry a Standard Webhooks signature. */
      signed: z.boolean(),
    }),
    desktop: z.object({
      enabled: z.boolean(),
      /** False when no desktop shell runs the worker (a worker started without a supervisor). */
      available: z.boolean(),
    }),
  })
  .meta({ id: 'NotificationChannels' });
export type NotificationChannels = z.infer<typeof NotificationChannels>;

export const NotificationSettings = z
  .object({ channels: NotificationChannels, recent: z.array(OutboxEntry).describe('The latest deliveries, newest first.') })
  .meta({ id: 'NotificationSettings' });
export type NotificationSettings = z.infer<typeof NotificationSettings>;

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** https, or http to this machine only: the URL and what is posted to it must not cross a network in clear text. */
const ChannelUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      const secure = url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname));
      return secure && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'must be an https URL without credentials (http only to localhost)');

/** Standard Webhooks secret: `whsec_` and 24 to 64 random bytes in base64 (https://www.standardwebhooks.com/). */
export const WebhookSigningSecret = z
  .string()
  .max(200)
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
  .refine((value) => {
    const base64 = value.slice('whsec_'.length);
    const bytes = Math.floor((base64.replace(/=+$/, '').length * 3) / 4);
    return bytes >= 24 && bytes <= 64;
  }, 'must hold 24 to 64 bytes');

/** `PUT /api/notifications`: only the fields to change; `null` clears. Clearing the webhook URL clears its secret too. */
export const NotificationSettingsUpdate = z
  .object({
    slackUrl: ChannelUrl.nullable().describe('A Slack incoming-webhook URL; kept in the OS keychain.'),
    webhookUrl: ChannelUrl.nullable().describe('A URL that receives each notification as JSON; kept in the OS keychain (it may hold a token).'),
    webhookSecret: WebhookSigningSecret.nullable().describe('Signs webhook deliveries (Standard Webhooks); kept in the OS keychain.'),
    desktop: z.boolean(),
  })
  .partial()
  .strict()
  .meta({ id: 'NotificationSettingsUpdate' });
export type NotificationSettingsUpdate = z.infer<typeof NotificationSettingsUpdate>;

/** `POST /api/notifications/test`: the test notification was queued on these channels. */
export const NotificationTestResult = z
  .object({ notificationId: z.string(), channels: z.array(NotificationChannel) })
  .meta({ id: 'NotificationTestResult' });
export type NotificationTestResult = z.infer<typeof NotificationTestResult>;

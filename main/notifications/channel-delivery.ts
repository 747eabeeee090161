import { Webhook } from 'standardwebhooks';
import type { NotificationMessage } from '../../common/notifications.js';

/** How one attempt went. A permanent failure is not retried (the receiver said the request itself is wrong). */
export type DeliveryOutcome = { ok: true } | { ok: false; permanent: boolean; reason: string; retryAfterMs?: number };

export interface PostOptions {
  fetch: typeof fetch;
  signal: AbortSignal;
  /** Masks the channel's secrets in the receiver's answer (an error page may quote the request URL). */
  mask: (text: string) => string;
}

/** How much of an answer is read: far more than its excerpt needs, and an answer that is huge or never ends costs no more memory. */
const ANSWER_BYTES = 64 * 1024;

/**
 * Posts to a Slack incoming webhook, in its documented format: a JSON body
 * with `text` (mrkdwn; `&`, `<`, `>` escaped), answered `200 ok`. Slack's
 * documented failures are 400 invalid_payload, 403 action_prohibited /
 * invalid_token, 404 channel_not_found / no_service, 410 channel_is_archived
 * — the request or the URL is wrong, retrying cannot help — and 500
 * rollup_error and 429 with Retry-After, which are retried
 * (https://api.slack.com/messaging/webhooks,
 * https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks,
 * https://api.slack.com/docs/rate-limits).
 */
export async function postToSlack(url: string, message: NotificationMessage, options: PostOptions): Promise<DeliveryOutcome> {
  const text = `*${slackEscape(message.title)}*\n${slackEscape(message.body)}`;
  const response = await post(url, { 'content-type': 'application/json' }, JSON.stringify({ text }), options);
  const body = await answerOf(response, options);
  if (response.status === 200 && body === 'ok') return { ok: true };
  if (response.status === 200) return { ok: false, permanent: false, reason: `HTTP 200 without "ok": ${excerpt(body)}` };
  return failure(response, body);
}

/**
 * Posts the notification as JSON to a generic webhook. `webhook-id` (the
 * notification's id, the same on every retry) and `webhook-timestamp` are
 * always sent; with a secret, `webhook-signature` too, per Standard Webhooks
 * (https://www.standardwebhooks.com/, signed by its reference library). Any
 * 2xx is success.
 */
export async function postToWebhook(url: string, secret: string | null, notificationId: string, message: NotificationMessage, options: PostOptions): Promise<DeliveryOutcome> {
  const payload = JSON.stringify(message);
  const at = new Date();
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'webhook-id': notificationId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
  };
  if (secret !== null) headers['webhook-signature'] = new Webhook(secret).sign(notificationId, at, payload);
  const response = await post(url, headers, payload, options);
  const body = await answerOf(response, options);
  if (response.status >= 200 && response.status < 300) return { ok: true };
  return failure(response, body);
}

async function post(url: string, headers: Record<string, string>, body: string, options: PostOptions): Promise<Response> {
  // Redirects are not followed: a signed body and a secret URL go only where they were set to go.
  return options.fetch(url, { method: 'POST', headers: { 'user-agent': 'Agented', ...headers }, body, redirect: 'manual', signal: options.signal });
}

/**
 * The start of the answer, masked before the excerpt cuts it: a cut through a secret would leave its first part
 * unmasked. An answer cut off (by the timeout, a reset) is kept as far as it came.
 */
async function answerOf(response: Response, options: PostOptions): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < ANSWER_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // Kept as far as it came.
  } finally {
    // The rest is not wanted: cancelling drops the connection instead of reading on.
    reader.cancel().catch(() => undefined);
  }
  return options.mask(new TextDecoder().decode(Buffer.concat(chunks).subarray(0, ANSWER_BYTES))).trim();
}

/** 408, 425, 429 and 5xx are worth another try; any other answer means the request or URL is wrong. */
function failure(response: Response, body: string): DeliveryOutcome {
  const { status } = response;
  const reason = `HTTP ${status}${body ? `: ${excerpt(body)}` : ''}`;
  const transient = status === 408 || status === 425 || status === 429 || status >= 500;
  if (status >= 300 && status < 400) return { ok: false, permanent: true, reason: `${reason} (a redirect; set the final URL)` };
  if (!transient) return { ok: false, permanent: true, reason };
  const retryAfterMs = retryAfter(response.headers.get('retry-after'));
  return retryAfterMs === undefined ? { ok: false, permanent: false, reason } : { ok: false, permanent: false, reason, retryAfterMs };
}

/** Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3). */
function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** The start of a response body on one line, for the log and the outbox (receivers answer short codes such as no_service). */
function excerpt(body: string): string {
  const line = body.replace(/\s+/g, ' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Slack's mrkdwn control characters (https://api.slack.com/reference/surfaces/formatting#escaping). */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Why a request never got an answer (refused, timed out, DNS), without the URL. */
export function networkReason(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'no answer in time';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return `network error: ${cause.code}`;
  return `network error: ${error instanceof Error ? error.message : String(error)}`;
}

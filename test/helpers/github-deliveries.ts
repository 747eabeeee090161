import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';
import type { WebhookEventMap, WebhookEventName } from '@octokit/webhooks-types';

let definitions: WebhookDefinition[] | undefined;

/**
 * A real payload GitHub sent, from `@octokit/webhooks-examples` (the examples
 * the Octokit project collects from github.com), as a fresh copy.
 */
export function githubExample<E extends WebhookEventName>(event: E, action?: string): WebhookEventMap[E] {
  definitions ??= JSON.parse(fs.readFileSync(createRequire(import.meta.url).resolve('@octokit/webhooks-examples'), 'utf8')) as WebhookDefinition[];
  const definition = definitions.find((candidate) => candidate.name === event) as WebhookDefinition<E> | undefined;
  const example = definition?.examples.find((candidate) => action === undefined || (candidate as { action?: string }).action === action);
  if (!example) throw new Error(`no example of ${event}${action ? `.${action}` : ''} in @octokit/webhooks-examples`);
  return structuredClone(example);
}

/** `sha256=` and the hex HMAC-SHA256 of the exact body, as GitHub signs a delivery (X-Hub-Signature-256). */
export function githubSignature(secret: string, body: string | Buffer): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * The headers GitHub sends with a delivery
 * (https://docs.github.com/webhooks/webhook-events-and-payloads#delivery-headers).
 */
export function githubHeaders(options: {
  secret: string;
  event: string;
  body: string | Buffer;
  deliveryId?: string;
  contentType?: 'application/json' | 'application/x-www-form-urlencoded';
}): Record<string, string> {
  return {
    'content-type': options.contentType ?? 'application/json',
    'user-agent': 'GitHub-Hookshot/0000000',
    'x-github-event': options.event,
    'x-github-delivery': options.deliveryId ?? crypto.randomUUID(),
    'x-github-hook-id': '1',
    'x-hub-signature-256': githubSignature(options.secret, options.body),
  };
}

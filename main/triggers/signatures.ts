import { isUtf8 } from 'node:buffer';
import crypto from 'node:crypto';
import { verify as verifyGithubSignature } from '@octokit/webhooks-methods';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import type { SignatureScheme } from '../../common/triggers.js';

export const DEFAULT_HMAC_HEADER = 'x-signature-256';

export type Verification =
  | {
      ok: true;
      /** The provider's delivery id, when the scheme has one (GitHub, Standard Webhooks). */
      providerDeliveryId: string | null;
    }
  | { ok: false; reason: string };

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** A webhook secret in the form each scheme expects (Standard Webhooks: `whsec_` + base64). */
export function generateWebhookSecret(scheme: SignatureScheme): string | null {
  switch (scheme) {
    case 'standard-webhooks':
      return `whsec_${crypto.randomBytes(32).toString('base64')}`;
    case 'github':
    case 'hmac-sha256':
      return crypto.randomBytes(32).toString('hex');
    case 'none':
      return null;
    default:
      return scheme satisfies never;
  }
}

/**
 * Checks a delivery's signature over the exact bytes received. The verifiers
 * are the providers' own libraries (constant-time comparisons inside):
 * - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC>`, id in `X-GitHub-Delivery`
 *   (https://docs.github.com/webhooks/using-webhooks/validating-webhook-deliveries);
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp` (5-minute tolerance),
 *   `webhook-signature` (https://www.standardwebhooks.com/);
 * - plain HMAC-SHA256 of the body, hex, in a configurable header (with or
 *   without the `sha256=` prefix), checked with the same verifier as GitHub's.
 */
export async function verifyDelivery(
  scheme: SignatureScheme,
  options: { secret: string | null; headerName?: string | undefined },
  rawBody: Buffer,
  headers: Headers,
  /** The body as UTF-8 text, when the caller has it already. */
  bodyText: string = rawBody.toString('utf8'),
): Promise<Verification> {
  if (scheme === 'none') return { ok: true, providerDeliveryId: null };
  // Both libraries take the body as text, and text decoded from bytes that are not UTF-8
  // (each bad byte becomes U+FFFD) no longer says which bytes came: a signature over it would
  // also pass for other bytes, each with a body hash, and so a dedup key, of its own.
  if (!isUtf8(rawBody)) return { ok: false, reason: 'the body is not valid UTF-8, so its signature cannot be checked over its bytes' };
  switch (scheme) {
    case 'github': {
      const signature = header(headers, 'x-hub-signature-256');
      if (!signature) return { ok: false, reason: 'missing X-Hub-Signature-256 header' };
      if (!(await hmacMatches(options.secret, bodyText, signature))) return { ok: false, reason: 'X-Hub-Signature-256 does not match the body' };
      // An empty X-GitHub-Delivery is no id: as `id:` it would make every later delivery a duplicate of the first.
      return { ok: true, providerDeliveryId: header(headers, 'x-github-delivery') || null };
    }
    case 'hmac-sha256': {
      const name = options.headerName ?? DEFAULT_HMAC_HEADER;
      const value = header(headers, name);
      if (!value) return { ok: false, reason: `missing ${name} header` };
      const signature = value.startsWith('sha256=') ? value : `sha256=${value}`;
      if (!(await hmacMatches(options.secret, bodyText, signature))) return { ok: false, reason: `${name} does not match the body` };
      return { ok: true, providerDeliveryId: null };
    }
    case 'standard-webhooks': {
      if (!options.secret) return { ok: false, reason: 'the trigger has no secret' };
      const id = header(headers, 'webhook-id');
      const timestamp = header(headers, 'webhook-timestamp');
      const signature = header(headers, 'webhook-signature');
      if (!id || !timestamp || !signature) return { ok: false, reason: 'missing webhook-id, webhook-timestamp or webhook-signature header' };
      // The spec's timestamp is whole seconds, and the signed content holds it as sent; the library reads it
      // with parseInt and signs what it read, so `1700000000.5` or `1700000000abc` would pass a signature over `1700000000`.
      if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'Standard Webhooks: webhook-timestamp is not a whole number of seconds' };
      try {
        // Only the signature: the payload is parsed once, later, where a body that is not JSON gets its own answer.
        new Webhook(options.secret).verify(rawBody, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, { jsonParse: false });
      } catch (error) {
        if (error instanceof WebhookVerificationError) return { ok: false, reason: `Standard Webhooks: ${error.message}` };
        return { ok: false, reason: 'Standard Webhooks: the signature could not be checked' };
      }
      return { ok: true, providerDeliveryId: id };
    }
    default:
      return scheme satisfies never;
  }
}

async function hmacMatches(secret: string | null, bodyText: string, signature: string): Promise<boolean> {
  if (!secret || bodyText.length === 0) return false;
  try {
    // GitHub signs the bytes it sent; as text they round-trip exactly, being valid UTF-8 (checked above).
    return await verifyGithubSignature(secret, bodyText, signature);
  } catch {
    return false;
  }
}

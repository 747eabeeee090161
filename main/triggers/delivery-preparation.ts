import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { TriggerDefinition } from '../../common/triggers.js';
import { renderExecutionContent, type ExecutionContent } from './execution-factory.js';
import { matchGithubDelivery } from './github-filter.js';
import { lookupPath } from './payload-path.js';
import { verifyDelivery } from './signatures.js';
import { effectiveSignature, receivesDeliveries } from './trigger-service.js';

/** What preparing a delivery needs of its trigger. */
export interface PreparationTrigger {
  id: string;
  definition: TriggerDefinition;
  /** The webhook secret (null for a trigger without one). */
  secret: string | null;
}

export interface PreparationOptions {
  /** Dedup window for deliveries without a provider id (hash of trigger and body). */
  dedupTtlMs: number;
  /** How long a provider delivery id (X-GitHub-Delivery, webhook-id) is remembered. */
  providerDedupTtlMs: number;
  /** Per-value cap of the prompt guardrails. */
  maxValueLength: number;
}

export type RejectionCode = 'ERR_TRIGGER_KIND' | 'ERR_TRIGGER_DISABLED' | 'ERR_SIGNATURE_INVALID' | 'ERR_BAD_JSON';

/**
 * The verdict on one delivery, before anything is stored: refused (and why),
 * answered without an execution (a ping, a filtered event), or accepted with
 * its dedup key and the execution it starts unless the key was seen.
 */
export type PreparedDelivery =
  | { kind: 'rejected'; code: RejectionCode; reason: string; verified: boolean }
  | { kind: 'ignored'; outcome: 'ignored' | 'ping'; reason: string; status: number; answer: Record<string, unknown> }
  | { kind: 'accepted'; dedupKey: string; dedupTtlMs: number; content: ExecutionContent };

/**
 * Everything a delivery's fate depends on that is pure computation over its
 * bytes: the signature, the JSON, the trigger's filters, the dedup key and
 * the rendered prompt. It touches no storage and no shared state, so it runs
 * the same on the thread that serves requests or on the preparation thread
 * (delivery-preparer.ts), which keeps a large payload's parsing off the
 * event loop.
 */
export async function prepareDelivery(trigger: PreparationTrigger, headers: IncomingHttpHeaders, body: Buffer, options: PreparationOptions): Promise<PreparedDelivery> {
  const { definition } = trigger;
  if (!receivesDeliveries(definition)) return rejected('ERR_TRIGGER_KIND', `a ${definition.kind} trigger does not take webhook deliveries`);
  if (!definition.enabled) return rejected('ERR_TRIGGER_DISABLED', 'the trigger is disabled');
  const signature = effectiveSignature(definition);
  const text = body.toString('utf8');
  const verification = await verifyDelivery(signature.scheme, { secret: trigger.secret, headerName: signature.header }, body, headers, text);
  if (!verification.ok) return rejected('ERR_SIGNATURE_INVALID', verification.reason);

  const payload = parsePayload(headers, text);
  if (payload === undefined) return rejected('ERR_BAD_JSON', 'the body is not JSON (nor a form with a JSON "payload" field)', true);

  if (definition.kind === 'github') {
    const event = singleHeader(headers['x-github-event']);
    if (!event) return rejected('ERR_BAD_JSON', 'missing X-GitHub-Event header', true);
    if (event === 'ping') return { kind: 'ignored', outcome: 'ping', reason: 'GitHub ping', status: 200, answer: { ping: true } };
    const match = matchGithubDelivery(definition.github!, event, payload);
    if (!match.matched) return ignored(match.reason);
  }
  if (definition.textFieldPath !== null) {
    const value = lookupPath(payload, definition.textFieldPath);
    if (typeof value !== 'string' || value.trim() === '') return ignored(`no text at ${definition.textFieldPath}`);
  }

  const providerId = verification.providerDeliveryId;
  return {
    kind: 'accepted',
    dedupKey: providerId !== null ? `id:${providerId}` : `body:${crypto.hash('sha256', body, 'hex')}`,
    dedupTtlMs: providerId !== null ? options.providerDedupTtlMs : options.dedupTtlMs,
    content: renderExecutionContent(trigger, { payload, params: {} }, options),
  };
}

/** The headers prepareDelivery reads, whatever the scheme (a custom HMAC header is added by name). */
const READ_HEADERS = ['content-type', 'x-github-event', 'x-github-delivery', 'x-hub-signature-256', 'webhook-id', 'webhook-timestamp', 'webhook-signature'];

/**
 * The part of a delivery's headers that preparing it reads: all it needs to
 * carry to another thread (a request's headers are a dozen or more, each
 * copied on the way).
 */
export function preparationHeaders(definition: TriggerDefinition, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const picked: IncomingHttpHeaders = {};
  for (const name of READ_HEADERS) if (headers[name] !== undefined) picked[name] = headers[name];
  const custom = effectiveSignature(definition).header?.toLowerCase();
  if (custom !== undefined && headers[custom] !== undefined) picked[custom] = headers[custom];
  return picked;
}

function rejected(code: RejectionCode, reason: string, verified = false): PreparedDelivery {
  return { kind: 'rejected', code, reason, verified };
}

function ignored(reason: string): PreparedDelivery {
  return { kind: 'ignored', outcome: 'ignored', reason, status: 202, answer: { ignored: true, reason } };
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** JSON, or GitHub's form encoding (`payload=<json>`). undefined when neither. */
function parsePayload(headers: IncomingHttpHeaders, text: string): unknown {
  try {
    if ((headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(text).get('payload');
      return form === null ? undefined : (JSON.parse(form) as unknown);
    }
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

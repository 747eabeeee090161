import crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type Database from 'better-sqlite3';
import type { DeliveryOutcome } from '../../common/triggers.js';
import { ApiError } from '../server/errors.js';
import type { DedupRepository } from '../storage/dedup-repository.js';
import { GroupCommit } from '../storage/group-commit.js';
import type { DeliveryRepository } from '../storage/delivery-repository.js';
import type { ExecutionRepository } from '../storage/execution-repository.js';
import type { StoredTrigger, TriggerRepository } from '../storage/trigger-repository.js';
import type { Logger } from '../telemetry/logger.js';
import { buildQueuedExecution } from './execution-factory.js';
import { matchGithubDelivery } from './github-filter.js';
import { newId } from './ids.js';
import { lookupPath } from './payload-path.js';
import { verifyDelivery } from './signatures.js';
import { effectiveSignature, receivesDeliveries } from './trigger-service.js';

export interface DeliveryIngestOptions {
  /** Dedup window for deliveries without a provider id (hash of trigger and body). */
  dedupTtlMs: number;
  /** How long a provider delivery id (X-GitHub-Delivery, webhook-id) is remembered. */
  providerDedupTtlMs: number;
  /** Raw body kept for the inspector; longer bodies are cut with a mark. */
  inspectorBodyCapBytes: number;
  /** Per-value cap of the prompt guardrails. */
  maxValueLength: number;
}

export interface IngestAnswer {
  status: number;
  body: Record<string, unknown>;
  /** What the request's access-log line should say about this delivery. */
  logFields: Record<string, unknown>;
}

interface CachedTrigger {
  trigger: StoredTrigger;
  secret: string | null;
}

const MASKED = '[masked]';
const ALWAYS_MASKED = new Set(['authorization', 'cookie', 'x-api-key', 'x-hub-signature', 'x-hub-signature-256', 'webhook-signature']);
const TRUNCATION_MARK = '\n…[truncated by Agented]';

/**
 * Turns one webhook delivery into at most one queued execution. The delivery
 * record, the dedup key (unique) and the execution are written in one SQLite
 * transaction (grouped with the other deliveries of the same event-loop turn);
 * the caller answers 2xx only after it committed, so an accepted
 * delivery is on disk, and a retried one finds its key and starts nothing.
 * Every delivery is recorded for the inspector, rejected ones included.
 */
export class DeliveryIngest {
  private readonly cache = new Map<string, Promise<CachedTrigger | undefined>>();
  private readonly record: (delivery: Parameters<DeliveryRepository['insert']>[0]) => void;
  private readonly accepts: GroupCommit<AcceptInput, { executionId: string } | { duplicate: true }>;

  constructor(
    private readonly deps: {
      db: Database.Database;
      triggers: TriggerRepository;
      secretOf: (triggerId: string) => Promise<string | null>;
      deliveries: DeliveryRepository;
      dedup: DedupRepository;
      executions: ExecutionRepository;
      options: DeliveryIngestOptions;
      now?: () => Date;
    },
  ) {
    this.record = (delivery) => deps.deliveries.insert(delivery);
    this.accepts = new GroupCommit(deps.db, (input: AcceptInput) => {
      const now = input.now.getTime();
      if (!deps.dedup.claim(input.trigger.id, input.dedupKey, input.dedupTtlMs, now)) {
        deps.deliveries.insert({ ...input.delivery, outcome: 'duplicate', reason: `dedup key ${input.dedupKey} already seen`, executionId: null });
        return { duplicate: true as const };
      }
      const execution = buildQueuedExecution(
        { trigger: input.trigger, source: 'webhook', payload: input.payload, params: {}, deliveryId: input.delivery.id, now: input.now },
        { maxValueLength: deps.options.maxValueLength },
      );
      deps.executions.insert(execution);
      deps.deliveries.insert({ ...input.delivery, outcome: 'execution', reason: null, executionId: execution.id });
      return { executionId: execution.id };
    });
  }

  /** Forget a trigger's cached definition and secret (it changed). */
  invalidate(triggerId: string): void {
    this.cache.delete(triggerId);
  }

  async receive(triggerId: string, headers: IncomingHttpHeaders, body: Buffer, log: Logger): Promise<IngestAnswer> {
    const cached = await this.lookup(triggerId);
    if (!cached) throw new ApiError('ERR_TRIGGER_NOT_FOUND');
    const { trigger, secret } = cached;
    const now = this.deps.now?.() ?? new Date();
    const signature = effectiveSignature(trigger.definition);
    const base = {
      id: newId('dlv'),
      triggerId,
      receivedAt: now.toISOString(),
      headers: inspectorHeaders(headers, signature.header),
      ...inspectorBody(body, this.deps.options.inspectorBodyCapBytes),
      verified: false,
      dedupKey: null,
    };
    const reject = (code: 'ERR_TRIGGER_KIND' | 'ERR_TRIGGER_DISABLED' | 'ERR_SIGNATURE_INVALID' | 'ERR_BAD_JSON', reason: string, verified = false): never => {
      this.record({ ...base, verified, outcome: 'rejected', reason, executionId: null });
      log.info('delivery rejected', { trigger_id: triggerId, delivery_id: base.id, reason });
      throw new ApiError(code, reason);
    };

    if (!receivesDeliveries(trigger.definition)) reject('ERR_TRIGGER_KIND', `a ${trigger.definition.kind} trigger does not take webhook deliveries`);
    if (!trigger.definition.enabled) reject('ERR_TRIGGER_DISABLED', 'the trigger is disabled');
    const text = body.toString('utf8');
    const verification = await verifyDelivery(signature.scheme, { secret, headerName: signature.header }, body, headers, text);
    if (!verification.ok) return reject('ERR_SIGNATURE_INVALID', verification.reason);

    const payload = parsePayload(headers, text);
    if (payload === undefined) return reject('ERR_BAD_JSON', 'the body is not JSON (nor a form with a JSON "payload" field)', true);

    const verified = { ...base, verified: true };
    const ignore = (outcome: Extract<DeliveryOutcome, 'ignored' | 'ping'>, reason: string, status: number, answer: Record<string, unknown>): IngestAnswer => {
      this.record({ ...verified, outcome, reason, executionId: null });
      return { status, body: answer, logFields: { trigger_id: triggerId, delivery_id: base.id, outcome, reason } };
    };

    if (trigger.definition.kind === 'github') {
      const event = singleHeader(headers['x-github-event']);
      if (!event) return reject('ERR_BAD_JSON', 'missing X-GitHub-Event header', true);
      if (event === 'ping') return ignore('ping', 'GitHub ping', 200, { ping: true });
      const match = matchGithubDelivery(trigger.definition.github!, event, payload);
      if (!match.matched) return ignore('ignored', match.reason, 202, { ignored: true, reason: match.reason });
    }
    const textPath = trigger.definition.textFieldPath;
    if (textPath !== null) {
      const text = lookupPath(payload, textPath);
      if (typeof text !== 'string' || text.trim() === '') {
        const reason = `no text at ${textPath}`;
        return ignore('ignored', reason, 202, { ignored: true, reason });
      }
    }

    const providerId = verification.providerDeliveryId;
    const dedupKey = providerId !== null ? `id:${providerId}` : `body:${crypto.hash('sha256', body, 'hex')}`;
    const dedupTtlMs = providerId !== null ? this.deps.options.providerDedupTtlMs : this.deps.options.dedupTtlMs;
    const result = await this.accepts.run({ trigger, payload, now, dedupKey, dedupTtlMs, delivery: { ...verified, dedupKey } });
    const logFields = { trigger_id: triggerId, delivery_id: base.id, dedup_key: dedupKey };
    if ('duplicate' in result) return { status: 200, body: { duplicate: true }, logFields: { ...logFields, outcome: 'duplicate' } };
    return { status: 202, body: { executionId: result.executionId }, logFields: { ...logFields, outcome: 'execution', execution_id: result.executionId } };
  }

  private lookup(triggerId: string): Promise<CachedTrigger | undefined> {
    let entry = this.cache.get(triggerId);
    if (!entry) {
      entry = (async () => {
        const trigger = this.deps.triggers.get(triggerId);
        return trigger ? { trigger, secret: await this.deps.secretOf(triggerId) } : undefined;
      })();
      // Only found triggers stay cached: failures (a locked keychain) are tried again, and made-up ids cannot grow the map.
      entry.then(
        (found) => {
          if (!found) this.cache.delete(triggerId);
        },
        () => this.cache.delete(triggerId),
      );
      this.cache.set(triggerId, entry);
    }
    return entry;
  }
}

interface AcceptInput {
  trigger: StoredTrigger;
  payload: unknown;
  now: Date;
  dedupKey: string;
  dedupTtlMs: number;
  delivery: Omit<Parameters<DeliveryRepository['insert']>[0], 'outcome' | 'reason' | 'executionId'>;
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

function inspectorHeaders(headers: IncomingHttpHeaders, signatureHeader: string | undefined): Record<string, string> {
  const masked = new Set(ALWAYS_MASKED);
  if (signatureHeader) masked.add(signatureHeader.toLowerCase());
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    result[name] = masked.has(name) ? MASKED : text.slice(0, 1024);
  }
  return result;
}

function inspectorBody(body: Buffer, cap: number): { body: Buffer; bodyBytes: number; truncated: boolean } {
  if (body.length <= cap) return { body, bodyBytes: body.length, truncated: false };
  return { body: Buffer.concat([body.subarray(0, cap), Buffer.from(TRUNCATION_MARK)]), bodyBytes: body.length, truncated: true };
}

import type { IncomingHttpHeaders } from 'node:http';
import type Database from 'better-sqlite3';
import type { SignatureCheck } from '../../common/triggers.js';
import { ApiError } from '../server/errors.js';
import type { DedupRepository } from '../storage/dedup-repository.js';
import { GroupCommit } from '../storage/group-commit.js';
import type { DeliveryRepository, NewDelivery } from '../storage/delivery-repository.js';
import type { ExecutionRepository } from '../storage/execution-repository.js';
import type { StoredTrigger, TriggerRepository } from '../storage/trigger-repository.js';
import type { Logger } from '../telemetry/logger.js';
import type { ExecutionContent } from './execution-factory.js';
import { queuedExecution } from './execution-factory.js';
import type { DeliveryPreparer } from './delivery-preparer.js';
import type { PreparationTrigger, PreparedDelivery } from './delivery-preparation.js';
import { newId } from './ids.js';
import { effectiveSignature } from './trigger-service.js';

export interface DeliveryIngestOptions {
  /** Raw body kept for the inspector; longer bodies are cut with a mark. */
  inspectorBodyCapBytes: number;
  /** Deliveries kept per trigger for the inspector (AGENTED_DELIVERIES_KEPT). */
  deliveriesKept: number;
}

export interface IngestAnswer {
  status: number;
  body: Record<string, unknown>;
  /** What the request's access-log line should say about this delivery. */
  logFields: Record<string, unknown>;
}

interface CachedTrigger {
  trigger: StoredTrigger;
  /** What preparing a delivery needs of it (one object per cached trigger, so a batch of its deliveries carries it once). */
  preparation: PreparationTrigger;
}

const MASKED = '[masked]';
const ALWAYS_MASKED = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key', 'x-hub-signature', 'x-hub-signature-256', 'webhook-signature']);
const TRUNCATION_MARK = '\n…[truncated by Agented]';

/**
 * Turns one webhook delivery into at most one queued execution. Its verdict
 * (signature, filters, dedup key, rendered prompt) comes from the preparer;
 * the delivery record, the dedup key (unique) and the execution are then
 * written in one SQLite transaction (grouped with the other deliveries of
 * the same event-loop turn); the caller answers 2xx only after it committed,
 * so an accepted delivery is on disk, and a retried one finds its key and
 * starts nothing. Every delivery is recorded for the inspector, rejected
 * ones included, over the trigger's oldest once it holds as many as are
 * kept (DeliveryRepository.add).
 */
export class DeliveryIngest {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly accepts: GroupCommit<AcceptInput, { executionId: string } | { duplicate: true } | { triggerGone: true }>;
  /** Records the deliveries that start nothing (rejected, ignored), also grouped by turn: a flood of bad signatures costs a commit a turn, not one each. */
  private readonly records: GroupCommit<{ delivery: NewDelivery; entry: CacheEntry }, void>;

  constructor(
    private readonly deps: {
      db: Database.Database;
      triggers: TriggerRepository;
      secretOf: (triggerId: string) => Promise<string | null>;
      deliveries: DeliveryRepository;
      dedup: DedupRepository;
      executions: ExecutionRepository;
      preparer: DeliveryPreparer;
      options: DeliveryIngestOptions;
      now?: () => Date;
    },
  ) {
    const keep = deps.options.deliveriesKept;
    // The keys it claims and the executions it announces are final once a batch committed whole (the work inserts, and undoes nothing).
    this.accepts = new GroupCommit(deps.db, (input: AcceptInput) => {
      const { delivery } = input;
      if (this.deleted(input.trigger.id, input.entry)) return { triggerGone: true as const };
      if (!deps.dedup.claim(input.trigger.id, input.dedupKey, input.dedupTtlMs, input.now.getTime())) {
        delivery.outcome = 'duplicate';
        delivery.reason = `dedup key ${input.dedupKey} already seen`;
        delivery.executionId = null;
        deps.deliveries.add(delivery, keep);
        return { duplicate: true as const };
      }
      const execution = queuedExecution({ trigger: input.trigger, source: 'webhook', params: {}, deliveryId: delivery.id, now: input.now }, input.content);
      deps.executions.insert(execution);
      delivery.outcome = 'execution';
      delivery.reason = null;
      delivery.executionId = execution.id;
      deps.deliveries.add(delivery, keep);
      return { executionId: execution.id };
    }, [deps.dedup, deps.executions]);
    this.records = new GroupCommit(deps.db, ({ delivery, entry }: { delivery: NewDelivery; entry: CacheEntry }) => {
      if (!this.deleted(delivery.triggerId, entry)) deps.deliveries.add(delivery, keep);
    });
  }

  /** Forget a trigger's cached definition and secret (it changed). */
  invalidate(triggerId: string): void {
    this.cache.delete(triggerId);
  }

  async receive(triggerId: string, headers: IncomingHttpHeaders, body: Buffer, log: Logger): Promise<IngestAnswer> {
    const entry = this.lookup(triggerId);
    const cached = await entry;
    if (!cached) throw new ApiError('ERR_TRIGGER_NOT_FOUND');
    const { trigger, preparation } = cached;
    const now = this.deps.now?.() ?? new Date();
    const signature = effectiveSignature(trigger.definition);
    // What a check that ran says: a trigger without a scheme has nothing to check.
    const checked: SignatureCheck = signature.scheme === 'none' ? 'none' : 'passed';
    const verdict = await this.deps.preparer.prepare(preparation, headers, body);
    // Only a refused delivery is searched for the secret: one whose signature matched was made by a sender that keeps it to itself.
    const secret = verdict.kind === 'rejected' ? preparation.secret : null;
    const delivery: NewDelivery = {
      id: newId('dlv'),
      triggerId,
      receivedAt: now.toISOString(),
      headers: inspectorHeaders(headers, signature.header, secret),
      ...inspectorBody(body, this.deps.options.inspectorBodyCapBytes, secret),
      verified: false,
      signatureCheck: 'not-reached',
      outcome: 'rejected',
      reason: null,
      executionId: null,
      dedupKey: null,
    };
    switch (verdict.kind) {
      case 'rejected':
        await this.records.run({ delivery: { ...delivery, verified: verdict.verified, signatureCheck: signatureCheckOf(verdict, checked), outcome: 'rejected', reason: verdict.reason }, entry });
        log.info('delivery rejected', { trigger_id: triggerId, delivery_id: delivery.id, reason: verdict.reason });
        throw new ApiError(verdict.code, verdict.reason);
      case 'ignored':
        await this.records.run({ delivery: { ...delivery, verified: true, signatureCheck: checked, outcome: verdict.outcome, reason: verdict.reason }, entry });
        return { status: verdict.status, body: verdict.answer, logFields: { trigger_id: triggerId, delivery_id: delivery.id, outcome: verdict.outcome, reason: verdict.reason } };
      case 'accepted': {
        const { dedupKey } = verdict;
        delivery.verified = true;
        delivery.signatureCheck = checked;
        delivery.dedupKey = dedupKey;
        const result = await this.accepts.run({ trigger, entry, content: verdict.content, now, dedupKey, dedupTtlMs: verdict.dedupTtlMs, delivery });
        if ('triggerGone' in result) throw new ApiError('ERR_TRIGGER_NOT_FOUND');
        const logFields = { trigger_id: triggerId, delivery_id: delivery.id, dedup_key: dedupKey };
        if ('duplicate' in result) return { status: 200, body: { duplicate: true }, logFields: { ...logFields, outcome: 'duplicate' } };
        return { status: 202, body: { executionId: result.executionId }, logFields: { ...logFields, outcome: 'execution', execution_id: result.executionId } };
      }
      default:
        return verdict satisfies never;
    }
  }

  /**
   * Whether the trigger was deleted while its delivery was prepared (its rows then go with it: a delivery
   * must not outlive its trigger, nor start an execution after the DELETE answered). Only a trigger whose
   * cached entry changed meanwhile is looked up: the usual delivery costs a map lookup, not a query.
   */
  private deleted(triggerId: string, entry: CacheEntry): boolean {
    return this.cache.get(triggerId) !== entry && this.deps.triggers.get(triggerId) === undefined;
  }

  private lookup(triggerId: string): CacheEntry {
    let entry = this.cache.get(triggerId);
    if (!entry) {
      entry = (async () => {
        const trigger = this.deps.triggers.get(triggerId);
        if (!trigger) return undefined;
        const secret = await this.deps.secretOf(triggerId);
        return { trigger, preparation: { id: trigger.id, definition: trigger.definition, secret } };
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

type CacheEntry = Promise<CachedTrigger | undefined>;

interface AcceptInput {
  trigger: StoredTrigger;
  /** The cache entry the trigger came from (see `deleted`). */
  entry: CacheEntry;
  content: ExecutionContent;
  now: Date;
  dedupKey: string;
  dedupTtlMs: number;
  /** The delivery's record; its outcome is set by the transaction that decides it. */
  delivery: NewDelivery;
}

/** A refused delivery's check: failed on its signature, refused before the check (disabled, wrong kind), or past it (not JSON). */
function signatureCheckOf(verdict: Extract<PreparedDelivery, { kind: 'rejected' }>, checked: SignatureCheck): SignatureCheck {
  if (verdict.code === 'ERR_SIGNATURE_INVALID') return 'failed';
  return verdict.verified ? checked : 'not-reached';
}

/**
 * Some senders send the secret itself as a token instead of a signature (GitLab's X-Gitlab-Token, a
 * relay's own header, a `token` field in the body). Such a delivery fails the check and is still
 * recorded: the secret is masked wherever it is, in the headers and the body, or the inspector would
 * show it and SQLite keep it in plain text.
 */
function inspectorHeaders(headers: IncomingHttpHeaders, signatureHeader: string | undefined, secret: string | null): Record<string, string> {
  // Node gives header names in lower case.
  const alsoMasked = signatureHeader?.toLowerCase();
  const result: Record<string, string> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    const masked = ALWAYS_MASKED.has(name) || name === alsoMasked || (secret !== null && text.includes(secret));
    result[name] = masked ? MASKED : text.length > 1024 ? text.slice(0, 1024) : text;
  }
  return result;
}

function inspectorBody(received: Buffer, cap: number, secret: string | null): { body: Buffer; bodyBytes: number; truncated: boolean } {
  // Masked before the cut, which could otherwise keep part of it. latin1 maps each byte to one character and back, so the other bytes stay as sent.
  const body = secret !== null && received.includes(secret) ? Buffer.from(received.toString('latin1').split(secret).join(MASKED), 'latin1') : received;
  if (body.length <= cap) return { body, bodyBytes: received.length, truncated: false };
  return { body: Buffer.concat([body.subarray(0, cap), Buffer.from(TRUNCATION_MARK)]), bodyBytes: received.length, truncated: true };
}

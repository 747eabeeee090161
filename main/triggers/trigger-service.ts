import { isDeepStrictEqual } from 'node:util';
import { REPLACED_WHOLE, TriggerCreate, TriggerPatch, type Trigger, type TriggerCreated, type TriggerDefinition, type TriggerUpdated } from '../../common/triggers.js';
import type { SecretStore } from '../secrets/keychain.js';
import { ApiError } from '../server/errors.js';
import type { AuditRepository } from '../storage/audit-repository.js';
import type { StoredTrigger, TriggerRepository } from '../storage/trigger-repository.js';
import { newId } from './ids.js';
import { DEFAULT_HMAC_HEADER, generateWebhookSecret } from './signatures.js';
import { validateTriggerDefinition } from './trigger-validation.js';

/** Who asked, for the audit log. */
export interface Actor {
  actor: string;
  requestId: string | null;
}

export function webhookSecretName(triggerId: string): string {
  return `trigger:${triggerId}:webhook-secret`;
}

/** The signature scheme a trigger uses, with the defaults of its kind applied. */
export function effectiveSignature(definition: TriggerDefinition): Trigger['signature'] {
  if (definition.signature) {
    return definition.signature.scheme === 'hmac-sha256' ? { scheme: 'hmac-sha256', header: definition.signature.header ?? DEFAULT_HMAC_HEADER } : definition.signature;
  }
  switch (definition.kind) {
    case 'github':
      return { scheme: 'github' };
    case 'webhook':
      return { scheme: 'hmac-sha256', header: DEFAULT_HMAC_HEADER };
    case 'schedule':
    case 'manual':
      return { scheme: 'none' };
    default:
      return definition.kind satisfies never;
  }
}

export function receivesDeliveries(definition: TriggerDefinition): boolean {
  return definition.kind === 'github' || definition.kind === 'webhook';
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A definition with a PATCH applied: top-level fields replaced, the fields of its objects merged (but those TriggerPatch replaces whole). */
function mergePatch(definition: TriggerDefinition, patch: TriggerPatch): Record<string, unknown> {
  const stored: Record<string, unknown> = definition;
  const merged: Record<string, unknown> = { ...definition };
  for (const [name, value] of Object.entries(patch)) {
    const before = stored[name];
    merged[name] = isObject(value) && isObject(before) && !REPLACED_WHOLE.has(name) ? { ...before, ...value } : value;
  }
  return merged;
}

export function toApiTrigger(stored: StoredTrigger): Trigger {
  return {
    ...stored.definition,
    id: stored.id,
    signature: effectiveSignature(stored.definition),
    webhookPath: receivesDeliveries(stored.definition) ? `/hooks/${stored.id}` : null,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
  };
}

/**
 * Trigger administration: validation beyond the schema, webhook secrets in
 * the secret store (shown once), audit records, and change notifications for
 * the parts that cache triggers (webhook ingest, scheduler).
 */
export class TriggerService {
  private readonly listeners: ((triggerId: string) => void)[] = [];

  constructor(
    private readonly deps: { triggers: TriggerRepository; secrets: SecretStore; audit: AuditRepository; now?: () => Date },
  ) {}

  onChange(listener: (triggerId: string) => void): void {
    this.listeners.push(listener);
  }

  async create(input: unknown, actor: Actor): Promise<TriggerCreated> {
    const definition = TriggerCreate.parse(input);
    validateTriggerDefinition(definition);
    const id = newId('trg');
    const secret = receivesDeliveries(definition) ? generateWebhookSecret(effectiveSignature(definition).scheme) : null;
    // The secret is stored before the trigger exists, so no delivery can find a trigger without its secret.
    if (secret !== null) await this.deps.secrets.set(webhookSecretName(id), secret);
    const stored = this.deps.triggers.insert(id, definition, this.now());
    this.deps.audit.record({ action: 'trigger.created', ...actor, targetId: id, detail: { name: definition.name, kind: definition.kind } });
    this.changed(id);
    return { ...toApiTrigger(stored), secret };
  }

  get(id: string): StoredTrigger {
    const stored = this.deps.triggers.get(id);
    if (!stored) throw new ApiError('ERR_TRIGGER_NOT_FOUND');
    return stored;
  }

  list(after: string, limit: number): { items: Trigger[]; nextCursor: string | null } {
    const page = this.deps.triggers.page(after, limit + 1);
    const items = page.slice(0, limit).map(toApiTrigger);
    return { items, nextCursor: page.length > limit ? items.at(-1)!.id : null };
  }

  /**
   * Applies a PATCH (see TriggerPatch). When it changes the signature scheme,
   * the secret of the old scheme is replaced by one of the new (or removed
   * for `none`), and the answer carries it: the only time it is shown.
   */
  async update(id: string, patchInput: unknown, actor: Actor): Promise<TriggerUpdated> {
    const current = this.get(id);
    const patch = TriggerPatch.parse(patchInput);
    const definition = TriggerCreate.parse(mergePatch(current.definition, patch));
    // A name or mention stored before the rules on them is still read, and the trigger still edited (disabled), until it changes itself.
    validateTriggerDefinition(definition, { name: patch.name !== undefined, mention: definition.github?.mention !== current.definition.github?.mention });
    // As PATCH /api/settings: a value already in place is no change to store or to record in the audit log.
    const fields = Object.keys(patch).filter((field) => !isDeepStrictEqual(definition[field as keyof TriggerDefinition], current.definition[field as keyof TriggerDefinition]));
    if (fields.length === 0) return toApiTrigger(current);
    const schemeChanged = effectiveSignature(definition).scheme !== effectiveSignature(current.definition).scheme;
    const secret = schemeChanged ? await this.replaceSecret(id, definition) : undefined;
    this.deps.triggers.update(id, definition, this.now());
    const onlyEnabled = fields.length === 1 && fields[0] === 'enabled';
    const action = onlyEnabled ? (definition.enabled ? 'trigger.enabled' : 'trigger.disabled') : 'trigger.updated';
    this.deps.audit.record({ action, ...actor, targetId: id, detail: { fields } });
    if (secret !== undefined) this.deps.audit.record({ action: 'trigger.secret_rotated', ...actor, targetId: id, detail: { reason: 'signature scheme changed' } });
    this.changed(id);
    const updated = toApiTrigger(this.get(id));
    return secret === undefined ? updated : { ...updated, secret };
  }

  async delete(id: string, actor: Actor): Promise<void> {
    const current = this.get(id);
    this.deps.triggers.delete(id);
    // Said at once, not after the keychain answers (a D-Bus round trip): a delivery whose preparation ends meanwhile
    // must find its trigger gone (DeliveryIngest.deleted), not be accepted and leave rows of no trigger.
    this.changed(id);
    await this.deps.secrets.delete(webhookSecretName(id));
    this.deps.audit.record({ action: 'trigger.deleted', ...actor, targetId: id, detail: { name: current.definition.name } });
  }

  /** A new webhook secret, returned this once; the old one stops working at once. */
  async rotateSecret(id: string, actor: Actor): Promise<TriggerCreated> {
    const current = this.get(id);
    if (!receivesDeliveries(current.definition) || effectiveSignature(current.definition).scheme === 'none') {
      throw new ApiError('ERR_TRIGGER_KIND', 'This trigger has no webhook secret.');
    }
    const secret = await this.replaceSecret(id, current.definition);
    this.deps.audit.record({ action: 'trigger.secret_rotated', ...actor, targetId: id });
    this.changed(id);
    return { ...toApiTrigger(current), secret };
  }

  async secretOf(id: string): Promise<string | null> {
    return this.deps.secrets.get(webhookSecretName(id));
  }

  private async replaceSecret(id: string, definition: TriggerDefinition): Promise<string | null> {
    const secret = generateWebhookSecret(effectiveSignature(definition).scheme);
    if (secret === null) await this.deps.secrets.delete(webhookSecretName(id));
    else await this.deps.secrets.set(webhookSecretName(id), secret);
    return secret;
  }

  private changed(id: string): void {
    for (const listener of this.listeners) listener(id);
  }

  private now(): string {
    return (this.deps.now?.() ?? new Date()).toISOString();
  }
}

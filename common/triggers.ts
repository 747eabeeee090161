import { z } from 'zod';
import { ExecutionState } from './execution-state.js';

export const Backend = z.enum(['claude', 'codex', 'gemini', 'opencode']);
export type Backend = z.infer<typeof Backend>;

export const TriggerKind = z.enum(['github', 'webhook', 'schedule', 'manual']);
export type TriggerKind = z.infer<typeof TriggerKind>;

export const SignatureScheme = z.enum(['github', 'standard-webhooks', 'hmac-sha256', 'none']);
export type SignatureScheme = z.infer<typeof SignatureScheme>;

/**
 * What the agent may do without asking (it runs unattended, so nobody can be asked):
 * `read-only` — read and answer; `edit` — also change files in the working directory;
 * `full` — also run any command. Each adapter maps it to its CLI's own flags.
 */
export const PermissionMode = z.enum(['read-only', 'edit', 'full']);
export type PermissionMode = z.infer<typeof PermissionMode>;

export const ConcurrencyStrategy = z.enum(['queue', 'cancel-in-progress', 'drop-newest']);

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'a header name: letters, digits and dashes');
/** `event` or `event.action`, as GitHub names them (X-GitHub-Event and the payload's action). */
const githubEvent = z.string().regex(/^[a-z_]+(\.[a-z_]+)?$/, 'an event such as "pull_request" or "pull_request.opened"');
const payloadPath = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.([A-Za-z_][A-Za-z0-9_-]*|\d+))*$/, 'a dotted path such as "message.text"');

export const TriggerParam = z.object({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'a parameter name: letters, digits and underscores'),
  type: z.enum(['string', 'number', 'boolean']).default('string'),
  required: z.boolean().default(false),
  description: z.string().max(500).optional(),
});
export type TriggerParam = z.infer<typeof TriggerParam>;

const triggerFields = {
  name: z.string().trim().min(1).max(200),
  kind: TriggerKind,
  enabled: z.boolean().default(true),
  backend: Backend.default('claude'),
  fallbackBackends: z.array(Backend).max(3).default([]),
  model: z.string().max(200).nullable().default(null),
  promptTemplate: z.string().min(1).max(20_000),
  workingDirectory: z.string().min(1).max(4096).nullable().default(null),
  timeoutSeconds: z.number().int().min(1).max(7 * 24 * 3600).default(1800),
  permissionMode: PermissionMode.default('edit'),
  /** When every account of every backend in the fallback list is rate-limited: wait queued until the earliest cool-down ends, or fail at once. */
  onRateLimit: z.enum(['wait', 'fail']).default('wait'),
  maxConcurrent: z.number().int().min(1).max(32).default(1),
  concurrency: z
    .object({ key: z.string().max(500).default(''), strategy: ConcurrencyStrategy.default('queue') })
    .default({ key: '', strategy: 'queue' }),
  signature: z
    .object({ scheme: SignatureScheme, header: headerName.optional() })
    .optional()
    .describe('Defaults: github → github; webhook → hmac-sha256 (header X-Signature-256); others → none.'),
  github: z
    .object({ events: z.array(githubEvent).min(1).max(50), mention: z.string().max(100).nullable().default(null) })
    .optional(),
  textFieldPath: payloadPath.nullable().default(null),
  schedule: z
    .object({
      cron: z.string().min(1).max(200),
      timezone: z.string().min(1).max(100).default('UTC'),
      missedRunPolicy: z.enum(['skip', 'run-once']).default('skip'),
    })
    .optional(),
  params: z.array(TriggerParam).max(50).default([]),
};

function checkKind(trigger: { kind: TriggerKind; github?: unknown; schedule?: unknown; workingDirectory: string | null; signature?: { scheme: SignatureScheme } }, context: z.RefinementCtx): void {
  if (trigger.kind === 'github' && !trigger.github) context.addIssue({ code: 'custom', path: ['github'], message: 'a github trigger needs github.events' });
  if (trigger.kind === 'schedule' && !trigger.schedule) context.addIssue({ code: 'custom', path: ['schedule'], message: 'a schedule trigger needs schedule.cron' });
  if (trigger.workingDirectory !== null && !/^(\/|[A-Za-z]:[\\/])/.test(trigger.workingDirectory)) {
    context.addIssue({ code: 'custom', path: ['workingDirectory'], message: 'must be an absolute path' });
  }
  if (trigger.kind === 'github' && trigger.signature && trigger.signature.scheme !== 'github') {
    context.addIssue({ code: 'custom', path: ['signature', 'scheme'], message: 'a github trigger verifies GitHub signatures' });
  }
}

/** `POST /api/triggers`. Only the fields of a trigger's kind are required. */
export const TriggerCreate = z.object(triggerFields).strict().superRefine(checkKind).meta({ id: 'TriggerCreate' });
export type TriggerCreate = z.input<typeof TriggerCreate>;
export type TriggerDefinition = z.output<typeof TriggerCreate>;

type WithoutDefault<S> = S extends z.ZodDefault<infer Inner> ? Inner : S;
/** A field as a PATCH takes it: no default, and an object's own fields each optional and without defaults too. */
type PatchField<S> =
  WithoutDefault<S> extends z.ZodOptional<z.ZodObject<infer Shape>>
    ? z.ZodOptional<z.ZodObject<{ [K in keyof Shape]: z.ZodOptional<WithoutDefault<Shape[K]>> }>>
    : WithoutDefault<S> extends z.ZodObject<infer Shape>
      ? z.ZodObject<{ [K in keyof Shape]: z.ZodOptional<WithoutDefault<Shape[K]>> }>
      : WithoutDefault<S>;
/** Objects a PATCH replaces whole: a signature's header belongs to its scheme. */
export const REPLACED_WHOLE: ReadonlySet<string> = new Set(['signature']);
type PatchFields = { [K in Exclude<keyof typeof triggerFields, 'kind'>]: K extends 'signature' ? WithoutDefault<(typeof triggerFields)[K]> : PatchField<(typeof triggerFields)[K]> };

const withoutDefault = (schema: z.ZodType): z.ZodType => (schema instanceof z.ZodDefault ? (schema.unwrap() as z.ZodType) : schema);

function patchField(schema: z.ZodType): z.ZodType {
  const inner = withoutDefault(schema);
  const object = inner instanceof z.ZodOptional ? inner.unwrap() : inner;
  if (!(object instanceof z.ZodObject)) return inner;
  const partial = z.object(Object.fromEntries(Object.entries(object.shape as Record<string, z.ZodType>).map(([name, field]) => [name, withoutDefault(field).optional()])));
  return inner instanceof z.ZodOptional ? partial.optional() : partial;
}

/**
 * `PATCH /api/triggers/:id`: any field but `kind`, merged into the trigger
 * as a JSON merge patch one level down — `{"schedule":{"cron":"…"}}` keeps
 * the schedule's time zone — except `signature`, which is replaced whole
 * (a header named for one scheme means nothing to another). The fields lose their defaults, the fields of
 * an object too: zod 4 applies a default even inside `.partial()`, which
 * would reset every field a PATCH leaves out.
 */
export const TriggerPatch = z
  .object(Object.fromEntries(Object.entries(triggerFields).filter(([name]) => name !== 'kind').map(([name, schema]) => [name, REPLACED_WHOLE.has(name) ? withoutDefault(schema) : patchField(schema)])) as PatchFields)
  .partial()
  .strict()
  .meta({ id: 'TriggerPatch' });
export type TriggerPatch = z.input<typeof TriggerPatch>;

export const Trigger = z
  .object({
    ...triggerFields,
    id: z.string(),
    signature: z.object({ scheme: SignatureScheme, header: z.string().optional() }),
    /** Path to send deliveries to (webhook and github kinds). */
    webhookPath: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Trigger' });
export type Trigger = z.infer<typeof Trigger>;

/** The creation answer: the only time the webhook secret is ever shown. */
export const TriggerCreated = Trigger.extend({ secret: z.string().nullable() }).meta({ id: 'TriggerCreated' });
export type TriggerCreated = z.infer<typeof TriggerCreated>;

/**
 * The PATCH answer. A change of signature scheme issues a new webhook secret
 * (the old one is for the old scheme): it is in `secret`, shown this once,
 * and null when the new scheme needs none. Any other change has no `secret`.
 */
export const TriggerUpdated = Trigger.extend({ secret: z.string().nullable().optional() }).meta({ id: 'TriggerUpdated' });
export type TriggerUpdated = z.infer<typeof TriggerUpdated>;

export const TriggerIdParams = z.object({ id: z.string().regex(/^trg_[A-Za-z0-9_-]{1,64}$/, 'a trigger id') });

/** The newest execution of a trigger, as the trigger list shows it. */
export const LastExecution = z
  .object({ id: z.string(), state: ExecutionState, createdAt: z.string(), endedAt: z.string().nullable() })
  .meta({ id: 'LastExecution' });
export type LastExecution = z.infer<typeof LastExecution>;

/** A trigger in the list: the trigger and its last execution (null: never ran). */
export const TriggerListItem = Trigger.extend({ lastExecution: LastExecution.nullable() }).meta({ id: 'TriggerListItem' });
export type TriggerListItem = z.infer<typeof TriggerListItem>;

export const TriggerList = z.object({ items: z.array(TriggerListItem), nextCursor: z.string().nullable() }).meta({ id: 'TriggerList' });

export const ManualRun = z.object({ params: z.record(z.string(), z.unknown()).default({}) }).strict().meta({ id: 'ManualRun' });

export const DeliveryOutcome = z.enum(['execution', 'duplicate', 'ignored', 'rejected', 'ping']);
export type DeliveryOutcome = z.infer<typeof DeliveryOutcome>;

/**
 * What became of a delivery's signature check: `passed`, `failed`, `none` (the
 * trigger has no signature scheme), `not-reached` (refused before it: a
 * disabled trigger, a kind that takes no deliveries); null for a delivery
 * recorded before Agented kept this.
 */
export const SignatureCheck = z.enum(['passed', 'failed', 'none', 'not-reached']);
export type SignatureCheck = z.infer<typeof SignatureCheck>;

export const Delivery = z
  .object({
    id: z.string(),
    triggerId: z.string(),
    receivedAt: z.string(),
    headers: z.record(z.string(), z.string()),
    body: z.string().describe('The raw body as UTF-8 text, capped; `truncated` says whether it was cut.'),
    bodyBytes: z.number().int(),
    truncated: z.boolean(),
    verified: z.boolean(),
    signatureCheck: SignatureCheck.nullable(),
    outcome: DeliveryOutcome,
    reason: z.string().nullable(),
    executionId: z.string().nullable(),
    dedupKey: z.string().nullable(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof Delivery>;

export const DeliveryList = z.object({ items: z.array(Delivery), nextCursor: z.string().nullable() }).meta({ id: 'DeliveryList' });

export const HookAccepted = z.object({ executionId: z.string() }).meta({ id: 'HookAccepted' });
export const HookDuplicate = z.object({ duplicate: z.literal(true) }).meta({ id: 'HookDuplicate' });
export const HookIgnored = z.object({ ignored: z.literal(true), reason: z.string() }).meta({ id: 'HookIgnored' });

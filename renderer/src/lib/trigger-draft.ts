import type { Backend, PermissionMode, SignatureScheme, Trigger, TriggerCreate, TriggerKind, TriggerParam, TriggerPatch } from '../../../common/triggers.js';

type Strategy = NonNullable<TriggerCreate['concurrency']>['strategy'] & string;
type OnRateLimit = Trigger['onRateLimit'];

/**
 * What the trigger form edits: every field as a form control holds it
 * (strings for lists and optional values), turned into the API's body by
 * `toCreate` / `toPatch`, which are typed by the contract.
 */
export interface TriggerDraft {
  name: string;
  kind: TriggerKind;
  enabled: boolean;
  backend: Backend;
  fallbackBackends: Backend[];
  model: string;
  promptTemplate: string;
  workingDirectory: string;
  timeoutSeconds: number;
  permissionMode: PermissionMode;
  onRateLimit: OnRateLimit;
  maxConcurrent: number;
  concurrencyKey: string;
  concurrencyStrategy: Strategy;
  signatureScheme: SignatureScheme;
  signatureHeader: string;
  /** Comma- or space-separated, as typed. */
  githubEvents: string;
  githubMention: string;
  textFieldPath: string;
  cron: string;
  timezone: string;
  missedRunPolicy: 'skip' | 'run-once';
  params: { name: string; type: 'string' | 'number' | 'boolean'; required: boolean; description: string }[];
}

export function defaultSignature(kind: TriggerKind): SignatureScheme {
  return kind === 'github' ? 'github' : kind === 'webhook' ? 'hmac-sha256' : 'none';
}

function localTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

export function emptyDraft(kind: TriggerKind = 'github'): TriggerDraft {
  return {
    name: '',
    kind,
    enabled: true,
    backend: 'claude',
    fallbackBackends: [],
    model: '',
    promptTemplate: '',
    workingDirectory: '',
    timeoutSeconds: 1800,
    permissionMode: 'edit',
    onRateLimit: 'wait',
    maxConcurrent: 1,
    concurrencyKey: '',
    concurrencyStrategy: 'queue',
    signatureScheme: defaultSignature(kind),
    signatureHeader: '',
    githubEvents: '',
    githubMention: '',
    textFieldPath: '',
    cron: '',
    timezone: localTimeZone(),
    missedRunPolicy: 'skip',
    params: [],
  };
}

export function draftOf(trigger: Trigger): TriggerDraft {
  return {
    name: trigger.name,
    kind: trigger.kind,
    enabled: trigger.enabled,
    backend: trigger.backend,
    fallbackBackends: [...trigger.fallbackBackends],
    model: trigger.model ?? '',
    promptTemplate: trigger.promptTemplate,
    workingDirectory: trigger.workingDirectory ?? '',
    timeoutSeconds: trigger.timeoutSeconds,
    permissionMode: trigger.permissionMode,
    onRateLimit: trigger.onRateLimit,
    maxConcurrent: trigger.maxConcurrent,
    concurrencyKey: trigger.concurrency.key,
    concurrencyStrategy: trigger.concurrency.strategy,
    signatureScheme: trigger.signature.scheme,
    signatureHeader: trigger.signature.header ?? '',
    githubEvents: trigger.github?.events.join(', ') ?? '',
    githubMention: trigger.github?.mention ?? '',
    textFieldPath: trigger.textFieldPath ?? '',
    cron: trigger.schedule?.cron ?? '',
    timezone: trigger.schedule?.timezone ?? localTimeZone(),
    missedRunPolicy: trigger.schedule?.missedRunPolicy ?? 'skip',
    params: trigger.params.map((param) => ({ name: param.name, type: param.type, required: param.required, description: param.description ?? '' })),
  };
}

const orNull = (value: string): string | null => (value.trim() === '' ? null : value.trim());

export function splitList(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter(Boolean);
}

function params(draft: TriggerDraft): TriggerParam[] {
  return draft.params.map((param) => ({ name: param.name.trim(), type: param.type, required: param.required, ...(param.description.trim() ? { description: param.description.trim() } : {}) }));
}

/** The fields every kind has, plus the ones of this draft's kind; nothing of another kind. */
function body(draft: TriggerDraft): TriggerPatch {
  const patch: TriggerPatch = {
    name: draft.name,
    enabled: draft.enabled,
    backend: draft.backend,
    fallbackBackends: draft.fallbackBackends.filter((backend) => backend !== draft.backend),
    model: orNull(draft.model),
    promptTemplate: draft.promptTemplate,
    workingDirectory: orNull(draft.workingDirectory),
    timeoutSeconds: draft.timeoutSeconds,
    permissionMode: draft.permissionMode,
    onRateLimit: draft.onRateLimit,
    maxConcurrent: draft.maxConcurrent,
    concurrency: { key: draft.concurrencyKey.trim(), strategy: draft.concurrencyStrategy },
    params: params(draft),
  };
  if (draft.kind === 'github') {
    patch.github = { events: splitList(draft.githubEvents), mention: orNull(draft.githubMention) };
    patch.signature = { scheme: 'github' };
  }
  if (draft.kind === 'webhook') {
    patch.signature = { scheme: draft.signatureScheme, ...(draft.signatureScheme === 'hmac-sha256' && draft.signatureHeader.trim() ? { header: draft.signatureHeader.trim() } : {}) };
    patch.textFieldPath = orNull(draft.textFieldPath);
  }
  if (draft.kind === 'schedule') patch.schedule = { cron: draft.cron.trim(), timezone: draft.timezone.trim() || 'UTC', missedRunPolicy: draft.missedRunPolicy };
  return patch;
}

export function toCreate(draft: TriggerDraft): TriggerCreate {
  return { ...body(draft), name: draft.name, promptTemplate: draft.promptTemplate, kind: draft.kind } as TriggerCreate;
}

export function toPatch(draft: TriggerDraft): TriggerPatch {
  return body(draft);
}

/** Concurrency settings, said in words. */
export function concurrencyInWords(settings: { maxConcurrent: number; key: string; strategy: Strategy }, globalLimit?: number): string[] {
  const lines = [
    settings.maxConcurrent === 1
      ? 'One execution of this trigger runs at a time; the next one waits until it ends.'
      : `Up to ${settings.maxConcurrent} executions of this trigger run at the same time; more wait their turn.`,
  ];
  if (settings.key.trim() === '') {
    lines.push('No concurrency key: executions are held back only by the limits.');
  } else if (settings.strategy === 'queue') {
    lines.push(`Executions with the same key (${settings.key}) run one after another, in the order they arrived.`);
  } else if (settings.strategy === 'cancel-in-progress') {
    lines.push(`A new execution with the same key (${settings.key}) cancels the one running or waiting for that key: only the newest runs to the end.`);
  } else {
    lines.push(`While an execution with the same key (${settings.key}) runs or waits, new ones with that key are skipped.`);
  }
  lines.push(globalLimit === undefined ? 'All triggers together are limited by the global limit in Settings.' : `All triggers together run at most ${globalLimit} at once (Settings).`);
  return lines;
}

export const permissionWords: Record<PermissionMode, string> = {
  'read-only': 'Read only — reads files and answers; changes nothing.',
  edit: 'Edit — may also change files in the working directory.',
  full: 'Full — may also run any command. Only for prompts you trust completely.',
};

/** What happens when a rate limit leaves nothing usable: every account of the CLI and of its fall-backs cooling down. */
export const rateLimitWords: Record<OnRateLimit, string> = {
  wait: 'Wait — the execution goes back to the queue, keeping its place, and starts when the earliest cool-down ends.',
  fail: 'Fail — the execution fails at once, saying which account is rate-limited until when; one that has not started yet is skipped.',
};

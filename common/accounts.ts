import { z } from 'zod';
import { Backend } from './triggers.js';

const absolutePath = z.string().min(1).max(4096).regex(/^(\/|[A-Za-z]:[\\/])/, 'must be an absolute path');

const accountFields = {
  backend: Backend,
  name: z.string().trim().min(1).max(100),
  /** Goes to the OS keychain; never returned. */
  apiKey: z.string().min(8).max(4096).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
  /** The CLI's own configuration folder for this account (CLAUDE_CONFIG_DIR, CODEX_HOME, GEMINI_CLI_HOME, XDG_DATA_HOME), so an interactive login stays separate per account. */
  configDir: absolutePath.nullable().default(null),
  /** Lower runs first. */
  priority: z.number().int().min(0).max(1000).default(100),
  enabled: z.boolean().default(true),
};

function needsCredential(account: { apiKey?: string; configDir: string | null }, context: z.RefinementCtx): void {
  if (account.apiKey === undefined && account.configDir === null) {
    context.addIssue({ code: 'custom', path: ['apiKey'], message: 'an account needs an API key or a configuration folder' });
  }
}

/** `POST /api/accounts`. */
export const AccountCreate = z.object(accountFields).strict().superRefine(needsCredential).meta({ id: 'AccountCreate' });
export type AccountCreate = z.input<typeof AccountCreate>;
export type AccountDefinition = z.output<typeof AccountCreate>;

/** `PATCH /api/accounts/:id`: any field but the backend; `apiKey: null` removes the key. */
export const AccountPatch = z
  .object({
    name: accountFields.name,
    apiKey: accountFields.apiKey.unwrap().nullable(),
    configDir: absolutePath.nullable(),
    priority: z.number().int().min(0).max(1000),
    enabled: z.boolean(),
  })
  .partial()
  .strict()
  .meta({ id: 'AccountPatch' });
export type AccountPatch = z.input<typeof AccountPatch>;

export const Account = z
  .object({
    id: z.string(),
    backend: Backend,
    name: z.string(),
    hasApiKey: z.boolean(),
    configDir: z.string().nullable(),
    priority: z.number().int(),
    enabled: z.boolean(),
    /** Rate-limited until then (ISO 8601), or null. */
    coolingDownUntil: z.string().nullable(),
    /** Why it is cooling down: a rate limit, or no credit (set aside for a day, until switched off and on); null when it is not. */
    coolingDownReason: z.enum(['rate_limit', 'no_credit']).nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Account' });
export type Account = z.infer<typeof Account>;

export const AccountIdParams = z.object({ id: z.string().regex(/^acc_[A-Za-z0-9_-]{1,64}$/, 'an account id') });

export const AccountEventKind = z.enum(['request', 'rate_limit', 'auth_error']);
export type AccountEventKind = z.infer<typeof AccountEventKind>;

/** Per-account monitoring: what was asked of it and how it answered. */
export const AccountStats = z
  .object({
    accountId: z.string().nullable().describe('null: the credentials of the environment (no account configured).'),
    backend: Backend,
    name: z.string(),
    requests: z.number().int().describe('Executions (attempts) run on it in the period.'),
    rateLimits: z.number().int(),
    lastRateLimitAt: z.string().nullable(),
    coolingDownUntil: z.string().nullable(),
  })
  .meta({ id: 'AccountStats' });
export type AccountStats = z.infer<typeof AccountStats>;

export const AccountList = z.object({ items: z.array(Account), nextCursor: z.string().nullable() }).meta({ id: 'AccountList' });

/** One try of an execution on one backend and account; an execution that is rate-limited moves on and records each. */
export const Attempt = z
  .object({
    backend: Backend,
    accountId: z.string().nullable(),
    accountName: z.string().nullable(),
    outcome: z.enum(['succeeded', 'failed', 'rate_limited', 'cancelled', 'timed_out', 'interrupted']),
    reason: z.string().nullable(),
    startedAt: z.string(),
    endedAt: z.string(),
    durationMs: z.number().int(),
  })
  .meta({ id: 'Attempt' });
export type Attempt = z.infer<typeof Attempt>;

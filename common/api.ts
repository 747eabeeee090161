import { z } from 'zod';
import { PriceTable } from './budgets.js';
import { StopPolicy } from './stop-policy.js';

/** Schemas of the HTTP API: the one contract for server, OpenAPI and renderer. */

export const HealthLive = z.object({ status: z.literal('ok') }).strict().meta({ id: 'HealthLive' });
export type HealthLive = z.infer<typeof HealthLive>;

export const CheckResult = z.object({
  ok: z.boolean(),
  detail: z.string(),
});

export const HealthReady = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    uptimeSeconds: z.number().nonnegative(),
    pid: z.number().int(),
    checks: z.object({
      database: CheckResult.extend({ schemaVersion: z.number().int() }),
      keychain: CheckResult.extend({ source: z.enum(['keychain', 'environment']) }),
      /** Informational: no usable backend does not make the server unready (executions then fail saying why). */
      backends: CheckResult.extend({ usable: z.array(z.string()) }),
    }),
    executions: z.object({ queued: z.number().int(), running: z.number().int() }),
  })
  .meta({ id: 'HealthReady' });
export type HealthReady = z.infer<typeof HealthReady>;

export const LoginQuery = z.object({
  token: z.string().min(1).max(200).optional(),
});

/** Exchange an API key for a session cookie (used by the login page). */
export const SessionCreate = z
  .object({ apiKey: z.string().min(1).max(512) })
  .strict()
  .meta({ id: 'SessionCreate' });
export type SessionCreate = z.infer<typeof SessionCreate>;

export const Session = z
  .object({ authenticated: z.literal(true), expiresAt: z.iso.datetime() })
  .meta({ id: 'Session' });
export type Session = z.infer<typeof Session>;

export const Empty = z.object({}).strict();

/** The answer to `POST /api/key/rotate`: never the key itself (`agented key show` prints it). */
export const KeyRotated = z
  .object({ rotated: z.literal(true), rotatedAt: z.iso.datetime() })
  .strict()
  .meta({ id: 'KeyRotated' });
export type KeyRotated = z.infer<typeof KeyRotated>;

/** Settings that may be stored in the database (environment variables still win). */
const storedSettingFields = {
  corsOrigins: z.array(z.string().max(2048)).max(100),
  allowedHosts: z.array(z.string().max(253)).max(100),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']),
  dedupTtlSeconds: z.number().int(),
  maxConcurrent: z.number().int(),
  loginTokenTtlSeconds: z.number().int(),
  sessionTtlSeconds: z.number().int(),
  maxBodyBytes: z.number().int(),
  maxHookBodyBytes: z.number().int(),
  providerDedupTtlSeconds: z.number().int(),
  deliveriesKept: z.number().int(),
  promptValueMaxLength: z.number().int(),
  rateLimitBackoffSeconds: z.number().int(),
  stopGraceMs: z.number().int(),
  sseHeartbeatMs: z.number().int(),
  versionTimeoutMs: z.number().int(),
  backendsMaxAgeMs: z.number().int(),
  claudePath: z.string().max(4096),
  codexPath: z.string().max(4096),
  geminiPath: z.string().max(4096),
  opencodePath: z.string().max(4096),
  startAtLogin: z.boolean().describe('Desktop app only: open Agented (in the tray, without its window) when you log in. Applied at once.'),
  stopPolicy: StopPolicy.describe('What a stop (tray Stop, Restart or Quit; SIGINT/SIGTERM to agented serve) does to running executions: let them finish (up to stopFinishTimeoutSeconds), or cancel them. Applied at once.'),
  stopFinishTimeoutSeconds: z.number().int().describe('With stopPolicy "finish": how long a stop waits for running executions before it cancels them. Applied at once.'),
  prices: PriceTable.describe('The whole price table (replaces the stored one; `{}` empties it): dollars per million tokens by `backend` or `backend/model`, for CLIs that report tokens but no cost. Applied at once to new estimates; AGENTED_PRICES wins over it.'),
};

/** Each field also takes null: the stored value is removed, and the setting is back to its default (or its environment variable). */
function orNull<T extends Record<string, z.ZodType>>(shape: T): { [K in keyof T]: z.ZodNullable<T[K]> } {
  return Object.fromEntries(Object.entries(shape).map(([name, schema]) => [name, schema.nullable()])) as { [K in keyof T]: z.ZodNullable<T[K]> };
}

export const StoredSettingsPatch = z
  .object(orNull(storedSettingFields))
  .partial()
  .strict()
  .meta({
    id: 'StoredSettingsPatch',
    description: 'Only the fields to change; null removes a stored value (back to the default). Most stored values apply when the worker restarts (those applied at once say so); environment variables win over them.',
  });
export type StoredSettingsPatch = z.infer<typeof StoredSettingsPatch>;

export const SettingView = z.object({
  /** The value the running worker uses; absent for an optional setting that is not set (JSON drops undefined). */
  value: z.unknown().optional(),
  /** Where that value came from. */
  source: z.enum(['environment', 'stored', 'default']),
  /** The environment variable that overrides it. */
  env: z.string(),
  /** True when a restart would change the value in use: a stored value set, changed or removed (null) since the worker started. */
  restartRequired: z.boolean(),
  /** False for settings needed before the database opens (folders, host, port): environment or flags only. */
  editable: z.boolean(),
});

export const SettingsView = z
  .object({ settings: z.record(z.string(), SettingView) })
  .meta({ id: 'Settings' });
export type SettingsView = z.infer<typeof SettingsView>;

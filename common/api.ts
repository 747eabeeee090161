import { z } from 'zod';

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
    }),
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

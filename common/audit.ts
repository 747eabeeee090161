import { z } from 'zod';
import { Instant } from './instant.js';

export const AuditAction = z.enum(['trigger.created', 'trigger.updated', 'trigger.deleted', 'trigger.enabled', 'trigger.disabled', 'trigger.secret_rotated', 'key.rotated', 'settings.updated', 'account.created', 'account.updated', 'account.deleted', 'budget.created', 'budget.updated', 'budget.deleted', 'notifications.updated']);
export type AuditAction = z.infer<typeof AuditAction>;

export const AuditEntry = z
  .object({
    id: z.number().int(),
    at: z.string(),
    action: AuditAction,
    actor: z.string().describe('How the caller authenticated: key, cookie, cli.'),
    requestId: z.string().nullable(),
    targetId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEntry' });
export type AuditEntry = z.infer<typeof AuditEntry>;

/** Filters combine (all must hold); `since` is an instant with its offset (`2026-11-26T09:00:00Z`), entries at or after it. */
export const AuditQuery = z.object({
  action: AuditAction.optional(),
  targetId: z.string().min(1).max(100).optional(),
  since: Instant.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^\d+$/).optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditList = z.object({ items: z.array(AuditEntry), nextCursor: z.string().nullable() }).meta({ id: 'AuditList' });

import { z } from 'zod';

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

export const AuditQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().regex(/^\d+$/).optional(),
});

export const AuditList = z.object({ items: z.array(AuditEntry), nextCursor: z.string().nullable() }).meta({ id: 'AuditList' });

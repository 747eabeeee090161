import { AuditList, AuditQuery } from '../../../common/audit.js';
import { ErrorBody } from '../../../common/errors.js';
import type { AuditRepository } from '../../storage/audit-repository.js';
import { defineRoute, type Route } from '../route.js';

export function auditRoutes(deps: { audit: AuditRepository }): Route[] {
  return [
    defineRoute<Record<string, never>, AuditQuery>({
      method: 'get',
      path: '/api/audit',
      auth: 'key',
      tag: 'audit',
      summary: 'Administrative actions (triggers created, changed, deleted; secrets and keys rotated), newest first; by action, target id and since a time.',
      query: AuditQuery,
      responses: { 200: { description: 'A page of audit entries', schema: AuditList }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ query }) => {
        const filter = { action: query.action, targetId: query.targetId, since: query.since === undefined ? undefined : new Date(query.since).toISOString() };
        const items = deps.audit.page(query.cursor !== undefined ? Number(query.cursor) : Number.MAX_SAFE_INTEGER, query.limit + 1, filter);
        return { items: items.slice(0, query.limit), nextCursor: items.length > query.limit ? String(items[query.limit - 1]!.id) : null };
      },
    }),
  ];
}

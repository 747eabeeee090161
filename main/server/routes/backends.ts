import type { z } from 'zod';
import { BackendChecklist, BackendQuery } from '../../../common/backends.js';
import { ErrorBody } from '../../../common/errors.js';
import type { BackendHealth } from '../../backends/backend-health.js';
import { defineRoute, type Route } from '../route.js';

export function backendRoutes(deps: { health: BackendHealth }): Route[] {
  return [
    defineRoute<Record<string, never>, z.infer<typeof BackendQuery>>({
      method: 'get',
      path: '/api/backends',
      auth: 'key',
      tag: 'backends',
      summary: 'The CLI health checklist: per agent CLI whether it is installed (where, which version), authenticated, usable, and the fix when not. Cached 30 s; ?refresh=1 checks again.',
      query: BackendQuery,
      responses: { 200: { description: 'The checklist', schema: BackendChecklist }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ query }) => deps.health.checklist(query.refresh === '1' || query.refresh === 'true'),
    }),
  ];
}

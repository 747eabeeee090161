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
      summary: 'The CLI health checklist: per agent CLI whether it is installed (where, which version), authenticated, usable, and the fix when not. Answered from the last check at once; one older than 30 s is checked again in the background (the next request gets the result). Only the first check and ?refresh=1 are waited for (up to the `--version` timeout, 20 s).',
      query: BackendQuery,
      responses: { 200: { description: 'The checklist', schema: BackendChecklist }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ query }) => deps.health.checklist(query.refresh === '1' || query.refresh === 'true'),
    }),
  ];
}

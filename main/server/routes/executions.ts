import type { z } from 'zod';
import { ErrorBody } from '../../../common/errors.js';
import { Execution, ExecutionIdParams, ExecutionList, ExecutionListQuery } from '../../../common/executions.js';
import type { ExecutionRepository } from '../../storage/execution-repository.js';
import { ApiError } from '../errors.js';
import { defineRoute, type Route } from '../route.js';

export function executionRoutes(deps: { executions: ExecutionRepository }): Route[] {
  return [
    defineRoute<Record<string, never>, z.infer<typeof ExecutionListQuery>>({
      method: 'get',
      path: '/api/executions',
      auth: 'key',
      tag: 'executions',
      summary: 'Execution history, newest first; filter by trigger and state.',
      query: ExecutionListQuery,
      responses: { 200: { description: 'A page of executions', schema: ExecutionList }, 400: { description: 'Invalid filter', schema: ErrorBody }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ query }) =>
        deps.executions.page({
          triggerId: query.trigger,
          state: query.status,
          beforeSeq: query.cursor !== undefined && /^\d+$/.test(query.cursor) ? Number(query.cursor) : Number.MAX_SAFE_INTEGER,
          limit: query.limit,
        }),
    }),
    defineRoute<z.infer<typeof ExecutionIdParams>>({
      method: 'get',
      path: '/api/executions/:id',
      auth: 'key',
      tag: 'executions',
      summary: 'One execution, with its rendered prompt and the audit of what was substituted into it.',
      params: ExecutionIdParams,
      responses: { 200: { description: 'The execution', schema: Execution }, 401: { description: 'No valid key', schema: ErrorBody }, 404: { description: 'No such execution', schema: ErrorBody } },
      handler: ({ params }) => {
        const execution = deps.executions.get(params.id);
        if (!execution) throw new ApiError('ERR_EXECUTION_NOT_FOUND');
        return execution;
      },
    }),
  ];
}

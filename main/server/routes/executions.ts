import type { z } from 'zod';
import { ErrorBody } from '../../../common/errors.js';
import { Execution, ExecutionIdParams, ExecutionList, ExecutionListQuery, ExecutionSummaryQuery, ExecutionTotals } from '../../../common/executions.js';
import { HookAccepted } from '../../../common/triggers.js';
import type { ExecutionRepository } from '../../storage/execution-repository.js';
import type { TriggerRepository } from '../../storage/trigger-repository.js';
import { newId } from '../../triggers/ids.js';
import { ExecutionFinishedError, type ExecutionQueue } from '../../executions/execution-queue.js';
import { ApiError } from '../errors.js';
import { defineRoute, type Route } from '../route.js';
import type { ExecutionSelection } from '../../storage/execution-repository.js';

/**
 * The query's filters in the repository's terms. Instants are stored as
 * toISOString writes them (UTC, milliseconds), so a `since` given with an
 * offset is brought to that form before it is compared as text.
 */
function selectionOf(query: z.infer<typeof ExecutionSummaryQuery>): ExecutionSelection {
  return {
    triggerId: query.trigger,
    state: query.status,
    backend: query.backend,
    since: query.since === undefined ? undefined : new Date(query.since).toISOString(),
    until: query.until === undefined ? undefined : new Date(query.until).toISOString(),
  };
}

const FILTERS = 'trigger, status (state), backend, and a time range on createdAt (since ≤ createdAt < until, ISO 8601 instants with an offset)';

export function executionRoutes(deps: { executions: ExecutionRepository }): Route[] {
  return [
    defineRoute<Record<string, never>, z.infer<typeof ExecutionListQuery>>({
      method: 'get',
      path: '/api/executions',
      auth: 'key',
      tag: 'executions',
      summary: `Execution history, newest first; filters: ${FILTERS}. nextCursor continues with the same filters.`,
      query: ExecutionListQuery,
      responses: { 200: { description: 'A page of executions', schema: ExecutionList }, 400: { description: 'Invalid filter', schema: ErrorBody }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ query }) =>
        deps.executions.page({
          ...selectionOf(query),
          beforeSeq: query.cursor === undefined ? undefined : Number(query.cursor),
          limit: query.limit,
        }),
    }),
    // Before /api/executions/:id, which would take `summary` for an id.
    defineRoute<Record<string, never>, z.infer<typeof ExecutionSummaryQuery>>({
      method: 'get',
      path: '/api/executions/summary',
      auth: 'key',
      tag: 'executions',
      summary: `How many executions by state, and their tokens and cost; filters as for the history: ${FILTERS}.`,
      query: ExecutionSummaryQuery,
      responses: { 200: { description: 'Counts and totals', schema: ExecutionTotals }, 400: { description: 'Invalid filter', schema: ErrorBody }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ query }) => deps.executions.totals(selectionOf(query)),
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

/** Cancel and replay: what an operator does to one execution. */
export function executionActionRoutes(deps: { executions: ExecutionRepository; triggers: TriggerRepository; queue: ExecutionQueue }): Route[] {
  const find = (id: string): Execution => {
    const execution = deps.executions.get(id);
    if (!execution) throw new ApiError('ERR_EXECUTION_NOT_FOUND');
    return execution;
  };
  return [
    defineRoute<z.infer<typeof ExecutionIdParams>>({
      method: 'post',
      path: '/api/executions/:id/cancel',
      auth: 'key',
      tag: 'executions',
      summary: 'Cancels an execution. A queued one never starts; a running one is stopped (SIGINT, SIGTERM, SIGKILL to its process group) and answered once it has ended; a finished one answers 409.',
      params: ExecutionIdParams,
      responses: {
        200: { description: 'The execution as it ended: cancelled, or how the CLI ended when it had exited before the cancel came', schema: Execution },
        401: { description: 'No valid key', schema: ErrorBody },
        404: { description: 'No such execution', schema: ErrorBody },
        409: { description: 'Already finished', schema: ErrorBody },
      },
      handler: async ({ params, req }) => {
        const execution = find(params.id);
        try {
          await deps.queue.cancel(execution.id, `cancelled through the API (${req.auth?.method ?? 'key'})`);
        } catch (error) {
          if (error instanceof ExecutionFinishedError) throw new ApiError('ERR_EXECUTION_FINISHED', error.message);
          throw error;
        }
        return find(params.id);
      },
    }),
    defineRoute<z.infer<typeof ExecutionIdParams>>({
      method: 'post',
      path: '/api/executions/:id/replay',
      auth: 'key',
      tag: 'executions',
      summary: 'Queues a new execution with the same trigger, params and rendered prompt (and its context audit), linked to the original.',
      params: ExecutionIdParams,
      successStatus: 202,
      responses: {
        202: { description: 'Queued', schema: HookAccepted },
        401: { description: 'No valid key', schema: ErrorBody },
        404: { description: 'No such execution, or its trigger was deleted', schema: ErrorBody },
        409: { description: 'Its trigger is disabled', schema: ErrorBody },
      },
      handler: ({ params }) => {
        const original = find(params.id);
        const trigger = deps.triggers.get(original.triggerId);
        if (!trigger) throw new ApiError('ERR_TRIGGER_NOT_FOUND', 'The trigger of this execution was deleted.');
        // As a manual run: a disabled trigger starts nothing.
        if (!trigger.definition.enabled) throw new ApiError('ERR_TRIGGER_DISABLED');
        const id = newId('exe');
        deps.executions.insert({
          id,
          triggerId: original.triggerId,
          source: 'replay',
          state: 'queued',
          reason: null,
          // The trigger's current backend: the replay runs as the trigger is set up now, with the same prompt.
          backend: trigger.definition.backend,
          model: trigger.definition.model,
          params: original.params,
          prompt: original.prompt,
          promptContext: original.promptContext,
          concurrencyKey: original.concurrencyKey,
          deliveryId: original.deliveryId,
          replayOf: original.id,
          createdAt: new Date().toISOString(),
        });
        return { executionId: id };
      },
    }),
  ];
}

import type { z } from 'zod';
import { ErrorBody } from '../../../common/errors.js';
import { Execution, ExecutionIdParams, ExecutionList, ExecutionListQuery } from '../../../common/executions.js';
import { HookAccepted } from '../../../common/triggers.js';
import type { ExecutionRepository } from '../../storage/execution-repository.js';
import type { TriggerRepository } from '../../storage/trigger-repository.js';
import { newId } from '../../triggers/ids.js';
import { ExecutionFinishedError, type ExecutionQueue } from '../../executions/execution-queue.js';
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
        200: { description: 'The execution, now cancelled', schema: Execution },
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
      },
      handler: ({ params }) => {
        const original = find(params.id);
        const trigger = deps.triggers.get(original.triggerId);
        if (!trigger) throw new ApiError('ERR_TRIGGER_NOT_FOUND', 'The trigger of this execution was deleted.');
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

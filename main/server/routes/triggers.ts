import { z } from 'zod';
import { ErrorBody } from '../../../common/errors.js';
import { DeliveryList, ManualRun, Trigger, TriggerCreate, TriggerCreated, TriggerIdParams, TriggerList, TriggerPatch, TriggerUpdated, HookAccepted } from '../../../common/triggers.js';
import type { DeliveryRepository } from '../../storage/delivery-repository.js';
import type { ExecutionRepository } from '../../storage/execution-repository.js';
import { buildQueuedExecution } from '../../triggers/execution-factory.js';
import { validateRunParams } from '../../triggers/manual-run.js';
import { toApiTrigger, type Actor, type TriggerService } from '../../triggers/trigger-service.js';
import { ApiError } from '../errors.js';
import { defineRoute, type Route } from '../route.js';
import type { Request } from 'express';

export interface TriggerRouteDependencies {
  service: TriggerService;
  deliveries: DeliveryRepository;
  executions: ExecutionRepository;
  promptValueMaxLength: number;
}

export function actorOf(req: Request): Actor {
  return { actor: req.auth?.method ?? 'unknown', requestId: req.requestId };
}

const PageQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(200).optional() });
/** The inspector pages by a delivery's number within its trigger. */
const DeliveryPageQuery = PageQuery.extend({ cursor: z.string().regex(/^\d{1,15}$/, 'the nextCursor of an earlier page').optional() });
type IdParams = z.infer<typeof TriggerIdParams>;
const errors = {
  401: { description: 'No valid key', schema: ErrorBody },
  404: { description: 'No such trigger', schema: ErrorBody },
};

export function triggerRoutes(deps: TriggerRouteDependencies): Route[] {
  const { service } = deps;
  return [
    defineRoute<Record<string, never>, z.infer<typeof PageQuery>>({
      method: 'get',
      path: '/api/triggers',
      auth: 'key',
      tag: 'triggers',
      summary: 'Triggers, ordered by id, each with its last execution (id, state, createdAt, endedAt; null when it never ran).',
      query: PageQuery,
      responses: { 200: { description: 'A page of triggers', schema: TriggerList }, 401: errors[401] },
      handler: ({ query }): z.infer<typeof TriggerList> => {
        const page = service.list(query.cursor ?? '', query.limit);
        // One query for the whole page, not one per trigger.
        const last = deps.executions.lastPerTrigger(page.items.map((trigger) => trigger.id));
        return { ...page, items: page.items.map((trigger) => ({ ...trigger, lastExecution: last.get(trigger.id) ?? null })) };
      },
    }),
    defineRoute<Record<string, never>, Record<string, never>, z.input<typeof TriggerCreate>>({
      method: 'post',
      path: '/api/triggers',
      auth: 'key',
      tag: 'triggers',
      summary: 'Creates a trigger. The answer carries the webhook secret: the only time it is shown.',
      body: TriggerCreate,
      successStatus: 201,
      responses: { 201: { description: 'Created', schema: TriggerCreated }, 401: errors[401] },
      handler: ({ body, req }) => service.create(body, actorOf(req)),
    }),
    defineRoute<IdParams>({
      method: 'get',
      path: '/api/triggers/:id',
      auth: 'key',
      tag: 'triggers',
      summary: 'One trigger (never its secret).',
      params: TriggerIdParams,
      responses: { 200: { description: 'The trigger', schema: Trigger }, 401: errors[401], 404: errors[404] },
      handler: ({ params }) => toApiTrigger(service.get(params.id)),
    }),
    defineRoute<IdParams, Record<string, never>, z.input<typeof TriggerPatch>>({
      method: 'patch',
      path: '/api/triggers/:id',
      auth: 'key',
      tag: 'triggers',
      summary: 'Changes any field but the kind; an object field (schedule, concurrency, github) is merged, not replaced; signature is replaced whole. A change of signature scheme answers the new webhook secret, once.',
      params: TriggerIdParams,
      body: TriggerPatch,
      responses: { 200: { description: 'The trigger as it is now (with `secret` when the scheme changed)', schema: TriggerUpdated }, 401: errors[401], 404: errors[404] },
      handler: ({ params, body, req }) => service.update(params.id, body, actorOf(req)),
    }),
    defineRoute<IdParams>({
      method: 'delete',
      path: '/api/triggers/:id',
      auth: 'key',
      tag: 'triggers',
      summary: 'Deletes a trigger, its webhook secret and its deliveries (the payload inspector). Its executions stay for history.',
      params: TriggerIdParams,
      responses: { 204: { description: 'Deleted' }, 401: errors[401], 404: errors[404] },
      handler: async ({ params, req, res }) => {
        await service.delete(params.id, actorOf(req));
        res.status(204).end();
      },
    }),
    defineRoute<IdParams>({
      method: 'post',
      path: '/api/triggers/:id/secret',
      auth: 'key',
      tag: 'triggers',
      summary: 'Replaces the webhook secret; the answer shows the new one once. The old one stops working at once.',
      params: TriggerIdParams,
      responses: { 200: { description: 'The trigger with its new secret', schema: TriggerCreated }, 401: errors[401], 404: errors[404], 409: { description: 'This trigger has no secret', schema: ErrorBody } },
      handler: ({ params, req }) => service.rotateSecret(params.id, actorOf(req)),
    }),
    defineRoute<IdParams, Record<string, never>, z.input<typeof ManualRun>>({
      method: 'post',
      path: '/api/triggers/:id/run',
      auth: 'key',
      tag: 'triggers',
      summary: 'Runs a trigger now with the given parameters (checked against its declared ones).',
      params: TriggerIdParams,
      body: ManualRun,
      successStatus: 202,
      responses: { 202: { description: 'Queued', schema: HookAccepted }, 401: errors[401], 404: errors[404], 409: { description: 'The trigger is disabled', schema: ErrorBody } },
      handler: ({ params, body }) => {
        const trigger = service.get(params.id);
        if (!trigger.definition.enabled) throw new ApiError('ERR_TRIGGER_DISABLED');
        const runParams = validateRunParams(trigger.definition.params, ManualRun.parse(body).params);
        const execution = buildQueuedExecution(
          { trigger, source: 'manual', payload: {}, params: runParams, deliveryId: null, now: new Date() },
          { maxValueLength: deps.promptValueMaxLength },
        );
        deps.executions.insert(execution);
        return { executionId: execution.id };
      },
    }),
    defineRoute<IdParams, z.infer<typeof DeliveryPageQuery>>({
      method: 'get',
      path: '/api/triggers/:id/deliveries',
      auth: 'key',
      tag: 'triggers',
      summary: 'The latest deliveries of a trigger, newest first, with headers (signatures masked), body and outcome.',
      params: TriggerIdParams,
      query: DeliveryPageQuery,
      responses: { 200: { description: 'A page of deliveries', schema: DeliveryList }, 401: errors[401], 404: errors[404] },
      handler: ({ params, query }) => {
        service.get(params.id);
        const before = query.cursor === undefined ? Number.MAX_SAFE_INTEGER : Number(query.cursor);
        return deps.deliveries.page(params.id, before, query.limit);
      },
    }),
  ];
}

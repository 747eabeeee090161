import { z } from 'zod';
import { ErrorBody } from '../../../common/errors.js';
import { HookAccepted, HookDuplicate, HookIgnored } from '../../../common/triggers.js';
import type { DeliveryIngest } from '../../triggers/delivery-ingest.js';
import { defineRoute, type Route } from '../route.js';

const HookParams = z.object({ triggerId: z.string().regex(/^trg_[A-Za-z0-9_-]{1,64}$/, 'a trigger id') });

export function hookRoutes(deps: { ingest: DeliveryIngest; maxHookBodyBytes: number }): Route[] {
  return [
    defineRoute<z.infer<typeof HookParams>>({
      method: 'post',
      path: '/hooks/:triggerId',
      auth: 'signature',
      tag: 'hooks',
      summary: "A webhook delivery, authenticated by the trigger's signature scheme. Recorded whatever its outcome.",
      params: HookParams,
      rawBodyLimitBytes: deps.maxHookBodyBytes,
      responses: {
        202: { description: 'Accepted: an execution is queued (or the event was ignored by the filters)', schema: z.union([HookAccepted, HookIgnored]) },
        200: { description: 'A duplicate (nothing started), or a GitHub ping', schema: z.union([HookDuplicate, z.object({ ping: z.literal(true) })]) },
        401: { description: 'Missing or wrong signature', schema: ErrorBody },
        404: { description: 'No such trigger', schema: ErrorBody },
        409: { description: 'The trigger is disabled, or does not take deliveries', schema: ErrorBody },
        413: { description: 'Body over AGENTED_MAX_HOOK_BODY_BYTES', schema: ErrorBody },
      },
      handler: async ({ params, req, res, log }) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const answer = await deps.ingest.receive(params.triggerId, req.headers, body, log);
        res.status(answer.status).json(answer.body);
      },
    }),
  ];
}

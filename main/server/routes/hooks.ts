import { z } from 'zod';
import { ErrorBody } from '../../../common/errors.js';
import { HookAccepted, HookDuplicate, HookIgnored } from '../../../common/triggers.js';
import type { HookHandler } from '../hooks-handler.js';
import { defineRoute, type Route } from '../route.js';

const HookParams = z.object({ triggerId: z.string().max(100) });

export function hookRoutes(deps: { handle: HookHandler }): Route[] {
  return [
    defineRoute<z.infer<typeof HookParams>>({
      method: 'post',
      path: '/hooks/:triggerId',
      auth: 'signature',
      tag: 'hooks',
      summary: "A webhook delivery, authenticated by the trigger's signature scheme. Recorded whatever its outcome.",
      params: HookParams,
      readsOwnBody: true,
      responses: {
        202: { description: 'Accepted: an execution is queued (or the event was ignored by the filters)', schema: z.union([HookAccepted, HookIgnored]) },
        200: { description: 'A duplicate (nothing started), or a GitHub ping', schema: z.union([HookDuplicate, z.object({ ping: z.literal(true) })]) },
        401: { description: 'Missing or wrong signature', schema: ErrorBody },
        404: { description: 'No such trigger', schema: ErrorBody },
        409: { description: 'The trigger is disabled, or does not take deliveries', schema: ErrorBody },
        413: { description: 'Body over AGENTED_MAX_HOOK_BODY_BYTES', schema: ErrorBody },
      },
      handler: ({ params, req, res }) => deps.handle(req, res, params.triggerId),
    }),
  ];
}

import { ErrorBody } from '../../../common/errors.js';
import { TunnelUpdate, TunnelView } from '../../../common/tunnel.js';
import type { TunnelManager } from '../../tunnel/tunnel-manager.js';
import { defineRoute, type Route } from '../route.js';
import { actorOf } from './triggers.js';

export function tunnelRoutes(deps: { tunnel: TunnelManager }): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/tunnel',
      auth: 'key',
      tag: 'tunnel',
      summary: "The tunnel that lets GitHub reach this machine: provider, state, public URL, each trigger's webhook URL (webhookUrlTemplate), the provider's limits, and the last relayed delivery that went wrong.",
      responses: { 200: { description: 'The tunnel', schema: TunnelView }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: () => deps.tunnel.view(),
    }),
    defineRoute<Record<string, never>, Record<string, never>, TunnelUpdate>({
      method: 'put',
      path: '/api/tunnel',
      auth: 'key',
      tag: 'tunnel',
      summary:
        'Chooses the tunnel (off, smee, ngrok, custom) and its settings, stores them (an ngrok authtoken goes to the keychain and is never returned) and restarts the tunnel at once. Answers once it is up, failed, or after 10 s still starting.',
      body: TunnelUpdate,
      responses: {
        200: { description: 'Stored and applied; the tunnel as it is now', schema: TunnelView },
        400: { description: 'Invalid, needs an ngrok authtoken, or set by an environment variable (which wins); nothing was stored', schema: ErrorBody },
        401: { description: 'No valid key', schema: ErrorBody },
      },
      handler: ({ body, req }) => deps.tunnel.update(body, actorOf(req)),
    }),
  ];
}

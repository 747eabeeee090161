import { HealthLive, HealthReady } from '../../../common/api.js';
import { ErrorBody } from '../../../common/errors.js';
import { defineRoute, type Route } from '../route.js';

export interface HealthDependencies {
  readiness(): Promise<HealthReady>;
}

export function healthRoutes(deps: HealthDependencies): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/health/live',
      auth: 'public',
      tag: 'health',
      summary: 'Liveness: answers while the worker serves requests. Says nothing else.',
      responses: { 200: { description: 'Alive', schema: HealthLive } },
      handler: (): HealthLive => ({ status: 'ok' }),
    }),
    defineRoute({
      method: 'get',
      path: '/health/ready',
      auth: 'key',
      tag: 'health',
      summary: 'Readiness: database (readable, with room on its disk), keychain, version and uptime.',
      responses: {
        200: { description: 'Every check passed', schema: HealthReady },
        503: { description: 'A check failed; the body says which', schema: HealthReady },
        401: { description: 'No valid key', schema: ErrorBody },
      },
      handler: async ({ res }) => {
        const report = await deps.readiness();
        res.status(report.status === 'ok' ? 200 : 503).json(report);
      },
    }),
  ];
}

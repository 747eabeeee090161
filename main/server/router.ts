import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { ApiError } from './errors.js';
import { authenticate, type AuthDependencies } from './middleware/authenticate.js';
import { jsonBody } from './middleware/json-body.js';
import type { Route } from './route.js';

function parseOrThrow<T>(schema: z.ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ApiError(
    'ERR_VALIDATION',
    undefined,
    result.error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  );
}

function handle(route: Route): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      // Node sends a HEAD answer's headers only at its end, which an event stream never reaches: the request would hang.
      if (req.method === 'HEAD' && route.responses[200]?.contentType === 'text/event-stream') {
        throw new ApiError('ERR_NOT_FOUND', 'An event stream answers GET only.');
      }
      const params = parseOrThrow(route.params, req.params, 'params');
      const query = parseOrThrow(route.query, req.query, 'query');
      const body = route.readsOwnBody ? undefined : parseOrThrow(route.body, req.body ?? {}, 'body');
      const result = await route.handler({ params, query, body, req, res, log: req.log });
      if (result !== undefined && !res.headersSent) {
        res.status(route.successStatus ?? 200).json(result);
      }
    } catch (error) {
      next(error);
    }
  };
}

/** Mounts every route with its auth, body parsing and validation, in list order. */
export function buildRouter(routes: readonly Route[], deps: AuthDependencies & { maxBodyBytes: number }): Router {
  const router = Router();
  for (const route of routes) {
    // Every route reads its body, even one that declares none: type, size and
    // encoding are checked on every input, and no handler answers while the
    // client is still sending (a shutdown then waits for the whole request).
    const body = route.readsOwnBody ? [] : jsonBody(deps.maxBodyBytes);
    const chain: RequestHandler[] = [authenticate(route.auth, deps, route.publicRequest), ...body, handle(route)];
    router[route.method](route.path, ...chain);
  }
  return router;
}

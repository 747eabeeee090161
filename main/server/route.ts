import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Logger } from '../telemetry/logger.js';

/**
 * Who may call a route.
 * - `public`: anyone (only `GET /health/live`).
 * - `signature`: `/hooks/*`, authenticated by the trigger's own signature scheme.
 * - `key`: the API key (Bearer or X-API-Key) or a valid session cookie.
 * - `login`: a one-time login token, or else the same as `key`.
 * - `shell`: the UI's own files. The requests the route's `publicRequest`
 *   accepts (the app shell: index.html and the hashed build assets, which
 *   hold no data) are served to anyone, so a browser without a session gets
 *   the app's login page; every other request is the same as `key`.
 */
export type RouteAuth = 'public' | 'signature' | 'key' | 'login' | 'shell';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  req: Request;
  res: Response;
  log: Logger;
}

export interface RouteResponse {
  description: string;
  schema?: z.ZodType;
  contentType?: string;
}

/**
 * One HTTP route: its contract (schemas, auth, responses) and its handler.
 * The router, the OpenAPI document and the auth-matrix test are all derived
 * from the list of these, so a route cannot exist in one and not the others.
 */
export interface Route<P = unknown, Q = unknown, B = unknown> {
  method: HttpMethod;
  /** Express 5 path syntax, e.g. `/api/triggers/:id` or `/{*path}`. */
  path: string;
  auth: RouteAuth;
  summary: string;
  tag: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** The handler reads the request body itself (webhooks: signatures are over exact bytes); no JSON parsing. */
  readsOwnBody?: boolean;
  /** With `auth: 'shell'`: the requests served without a key (see RouteAuth). */
  publicRequest?: (req: Request) => boolean;
  /** Status answered when the handler returns a value. */
  successStatus?: number;
  responses: Record<number, RouteResponse>;
  /** Return a value to answer it as JSON with `successStatus`; or write to `res` and return nothing. */
  handler(context: RouteContext<P, Q, B>): unknown;
}

/** Identity function that keeps the schema and handler types tied together. */
export function defineRoute<P = Record<string, never>, Q = Record<string, never>, B = undefined>(route: Route<P, Q, B>): Route {
  return route as unknown as Route;
}

import { z } from 'zod';
import { ErrorBody } from '../../../common/errors.js';
import { buildOpenApiDocument } from '../openapi.js';
import { defineRoute, type Route } from '../route.js';

/** Serves the OpenAPI document of `allRoutes()` (itself included), built once on first request. */
export function openApiRoute(allRoutes: () => readonly Route[], version: string): Route {
  let document: unknown;
  return defineRoute({
    method: 'get',
    path: '/api/openapi.json',
    auth: 'key',
    tag: 'meta',
    summary: 'This API as an OpenAPI 3 document, generated from the zod schemas in common/.',
    responses: {
      200: { description: 'The document', schema: z.looseObject({ openapi: z.string() }) },
      401: { description: 'No valid key', schema: ErrorBody },
    },
    handler: () => (document ??= buildOpenApiDocument(allRoutes(), version)),
  });
}

import { z } from 'zod';
import type { Route } from './route.js';

type JsonSchema = Record<string, unknown>;

const SECURITY_FOR_KEY = [{ bearer: [] }, { apiKeyHeader: [] }, { sessionCookie: [] }];

/** `/api/triggers/:id` → `/api/triggers/{id}`; `/{*path}` → `/{path}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/\{\*(\w+)\}/g, '{$1}').replace(/:(\w+)/g, '{$1}');
}

class SchemaCollector {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const converted = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' });
    // Schemas with a meta id are emitted as definitions; OpenAPI keeps them under components.
    const json = JSON.parse(
      JSON.stringify(converted).replaceAll('"#/definitions/', '"#/components/schemas/').replaceAll('"#/$defs/', '"#/components/schemas/'),
    ) as JsonSchema;
    const definitions = (json.definitions ?? json.$defs) as Record<string, JsonSchema> | undefined;
    delete json.definitions;
    delete json.$defs;
    for (const [id, definition] of Object.entries(definitions ?? {})) this.components[id] = definition;
    return json;
  }
}

function parameters(collector: SchemaCollector, schema: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = collector.convert(schema, 'input');
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    schema: property,
  }));
}

/** `shell` routes serve some requests without a key: the empty requirement marks the key optional. */
function securityOf(auth: Route['auth']): JsonSchema[] {
  switch (auth) {
    case 'key':
    case 'login':
      return SECURITY_FOR_KEY;
    case 'shell':
      return [{}, ...SECURITY_FOR_KEY];
    case 'public':
    case 'signature':
      return [];
    default:
      return auth satisfies never;
  }
}

/** The OpenAPI 3 document, generated from the same route list that the router mounts. */
export function buildOpenApiDocument(routes: readonly Route[], version: string): JsonSchema {
  const collector = new SchemaCollector();
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const responses: Record<string, JsonSchema> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? { content: { [response.contentType ?? 'application/json']: { schema: collector.convert(response.schema, 'output') } } }
          : {}),
      };
    }
    const operation: JsonSchema = {
      operationId: `${route.method}${openApiPath(route.path).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: route.summary,
      tags: [route.tag],
      security: securityOf(route.auth),
      parameters: [...parameters(collector, route.params, 'path'), ...parameters(collector, route.query, 'query')],
      responses,
      ...(route.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: collector.convert(route.body, 'input') } } } }
        : {}),
    };
    (paths[openApiPath(route.path)] ??= {})[route.method] = operation;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Agented API',
      version,
      description: 'The local API of Agented. Every route needs the API key except GET /health/live, /hooks/* (the trigger\'s own signature) and the UI\'s app shell (index.html and the hashed files under /assets/, which hold no data).',
    },
    servers: [{ url: 'http://127.0.0.1:8787' }],
    paths,
    components: {
      schemas: collector.components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        sessionCookie: { type: 'apiKey', in: 'cookie', name: 'agented_session_<port>' },
      },
    },
  };
}

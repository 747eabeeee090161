import { z } from 'zod';
import { ErrorBody } from '../../common/errors.js';
import type { Route } from './route.js';

type JsonSchema = Record<string, unknown>;

const SECURITY_FOR_KEY = [{ bearer: [] }, { apiKeyHeader: [] }, { sessionCookie: [] }];

/** The router answers this for params, query or a body its zod schema refuses (`router.ts`). */
const VALIDATION_ERROR = { description: 'Invalid input; `issues` names each field', schema: ErrorBody };

/** Accepts `null` and nothing else, in a form OpenAPI 3.0.3 allows (`nullable` next to a `type`). */
const nullOnly = (): JsonSchema => ({ type: 'object', nullable: true, enum: [null] });

/** Keywords whose value is a schema, a list of schemas, or a map of names to schemas. */
const SCHEMA_KEYWORDS = new Set(['items', 'additionalProperties', 'not', 'propertyNames', 'contains', 'if', 'then', 'else']);
const SCHEMA_LIST_KEYWORDS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items']);
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas']);

/** Keywords that describe a schema and stay on the outside when it is wrapped. */
const ANNOTATION_KEYWORDS = new Set(['title', 'description', 'default', 'example', 'deprecated', 'readOnly', 'writeOnly', 'externalDocs']);

const isObject = (value: unknown): value is JsonSchema => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * In OpenAPI 3.0.3 `nullable` only has an effect next to `type`, and strict
 * validators (Ajv: "nullable cannot be used without type") refuse it anywhere
 * else. zod writes a nullable reference as `{ nullable: true, allOf: [{ $ref }] }`;
 * this rewrites every such schema, at any depth, to
 * `{ anyOf: [<the schema without nullable>, <null only>] }`. Values that are
 * data (`enum`, `default`, `example`, …) are left as they are.
 */
function typedNullable(schema: JsonSchema): JsonSchema {
  const walked: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) walked[key] = value.map((item) => (isObject(item) ? typedNullable(item) : item));
    else if (SCHEMA_KEYWORDS.has(key) && isObject(value)) walked[key] = typedNullable(value);
    else if (SCHEMA_MAP_KEYWORDS.has(key) && isObject(value)) {
      walked[key] = Object.fromEntries(Object.entries(value).map(([name, item]) => [name, isObject(item) ? typedNullable(item) : item]));
    } else walked[key] = value;
  }
  if (walked.nullable !== true || 'type' in walked) return walked;
  const outer: JsonSchema = {};
  let inner: JsonSchema = {};
  for (const [key, value] of Object.entries(walked)) {
    if (key === 'nullable') continue;
    if (ANNOTATION_KEYWORDS.has(key)) outer[key] = value;
    else inner[key] = value;
  }
  // Without `type` the flag had no effect: a schema with no constraint already accepts null.
  if (Object.keys(inner).length === 0) return outer;
  // `{ allOf: [one] }` is only how zod puts a $ref next to other keywords: unwrap it.
  if (Object.keys(inner).length === 1 && Array.isArray(inner.allOf) && inner.allOf.length === 1 && isObject(inner.allOf[0])) inner = inner.allOf[0];
  return { ...outer, anyOf: [inner, nullOnly()] };
}

/** `/api/triggers/:id` → `/api/triggers/{id}`; `/{*path}` → `/{path}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/\{\*(\w+)\}/g, '{$1}').replace(/:(\w+)/g, '{$1}');
}

class SchemaCollector {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const converted = z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' });
    // Schemas with a meta id are emitted as definitions; OpenAPI keeps them under components.
    const json = typedNullable(
      JSON.parse(JSON.stringify(converted).replaceAll('"#/definitions/', '"#/components/schemas/').replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema,
    );
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

/**
 * The parameters of the path template, in its order: as the route's params
 * schema describes them, or else as a plain string (the UI's wildcard paths
 * have no schema), since OpenAPI 3 requires every one to be declared.
 */
function pathParameters(collector: SchemaCollector, route: Route): JsonSchema[] {
  const described = parameters(collector, route.params, 'path');
  return [...openApiPath(route.path).matchAll(/\{(\w+)\}/g)].map(
    ([, name]) => described.find((parameter) => parameter.name === name) ?? { name, in: 'path', required: true, schema: { type: 'string' } },
  );
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
    // Every route with an input to validate can answer 400 ERR_VALIDATION, declared or not.
    const declared = route.params || route.query || route.body ? { 400: VALIDATION_ERROR, ...route.responses } : route.responses;
    for (const [status, response] of Object.entries(declared)) {
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
      parameters: [...pathParameters(collector, route), ...parameters(collector, route.query, 'query')],
      responses,
      // The router validates a request without a body as `{}` (router.ts): where the schema takes `{}`, the body is optional.
      ...(route.body
        ? { requestBody: { required: !route.body.safeParse({}).success, content: { 'application/json': { schema: collector.convert(route.body, 'input') } } } }
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
    // Relative, so it names the server that serves the document, on whatever host and port it listens (OpenAPI 3.0.3, Server Object).
    servers: [{ url: '/' }],
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

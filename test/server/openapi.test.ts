import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../../main/server/openapi.js';
import { keyedApi, request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server.close());

interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  servers: { url: string }[];
  paths: Record<string, Record<string, { security: unknown[]; parameters?: { name: string; in: string; required?: boolean }[]; responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>; requestBody?: unknown }>>;
  components: { schemas: Record<string, { type?: string; properties?: Record<string, unknown> }> };
}

async function fetchDocument(): Promise<OpenApiDocument> {
  const response = await request(server.url, { path: '/api/openapi.json', headers: { authorization: `Bearer ${server.key}` } });
  expect(response.status).toBe(200);
  return response.json<OpenApiDocument>();
}

/** Every object in the document with `nullable: true` and no `type`, by its JSON pointer. */
function nullableWithoutType(node: unknown, pointer = ''): string[] {
  if (node === null || typeof node !== 'object') return [];
  const found = !Array.isArray(node) && (node as Record<string, unknown>).nullable === true && !('type' in node) ? [pointer] : [];
  return [...found, ...Object.entries(node).flatMap(([key, value]) => nullableWithoutType(value, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`))];
}

// Ajv's default dialect is draft-07: only schemas without OpenAPI 3.0's boolean exclusiveMinimum compile as they are.

describe('GET /api/openapi.json', () => {
  it('documents every mounted route with its auth, generated from the zod schemas', async () => {
    const response = await request(server.url, { path: '/api/openapi.json', headers: { authorization: `Bearer ${server.key}` } });
    expect(response.status).toBe(200);
    const document = response.json<OpenApiDocument>();
    expect(document.openapi).toMatch(/^3\./);
    for (const route of server.worker.app.routes) {
      const operation = document.paths[openApiPath(route.path)]?.[route.method];
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation!.security.length === 0, route.path).toBe(route.auth === 'public' || route.auth === 'signature');
    }
    expect(document.paths['/api/settings']?.patch?.requestBody).toBeDefined();
    expect(document.components.schemas.HealthReady?.properties).toHaveProperty('checks');
    expect(document.components.schemas.Error?.properties).toHaveProperty('error');
    expect(document.components.schemas.StoredSettingsPatch?.properties).toHaveProperty('corsOrigins');
    // Every $ref points at a component that exists.
    for (const [, name] of JSON.stringify(document).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
      expect(document.components.schemas, name).toHaveProperty(name!);
    }
  });

  it('declares every parameter of every path template, as OpenAPI 3 requires', async () => {
    const document = await fetchDocument();
    for (const route of server.worker.app.routes) {
      const path = openApiPath(route.path);
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      const operation = document.paths[path]?.[route.method];
      const declared = (operation?.parameters ?? []).filter((parameter) => parameter.in === 'path');
      expect(declared.map((parameter) => parameter.name), `${route.method} ${path}`).toEqual(templated);
      for (const parameter of declared) expect(parameter.required, `${route.method} ${path} {${parameter.name}}`).toBe(true);
    }
  });

  it('names as its server the one that serves it, whatever its port', async () => {
    const document = await fetchDocument();
    expect(document.servers).toHaveLength(1);
    // A relative server URL is resolved against where the document was fetched (OpenAPI 3.0.3, Server Object).
    expect(new URL(document.servers[0]!.url, `${server.url}/api/openapi.json`).origin).toBe(new URL(server.url).origin);
  });

  it('marks a request body required only where the route refuses a request without one', async () => {
    const document = await fetchDocument();
    const withBody = server.worker.app.routes.filter((route) => route.body);
    expect(withBody.length).toBeGreaterThan(10);
    for (const route of withBody) {
      // The router validates a request without a body as `{}` (router.ts).
      const required = !route.body!.safeParse({}).success;
      expect(document.paths[openApiPath(route.path)]?.[route.method]?.requestBody, `${route.method} ${route.path}`).toMatchObject({ required });
    }
    // A manual run without a body is taken, as its operation must then say.
    const api = keyedApi(server.key);
    const trigger = await api<{ id: string }>(server.url, 'POST', '/api/triggers', { name: 'run without a body', kind: 'manual', promptTemplate: 'hello' });
    const run = await request(server.url, { method: 'POST', path: `/api/triggers/${trigger.body.id}/run`, headers: { authorization: `Bearer ${server.key}` } });
    expect(run.status).toBe(202);
    expect(document.paths['/api/triggers/{id}/run']?.post?.requestBody).toMatchObject({ required: false });
  });

  it('documents 400 on every route that validates params, query or body', async () => {
    const document = await fetchDocument();
    const validating = server.worker.app.routes.filter((route) => route.params || route.query || route.body);
    expect(validating.length).toBeGreaterThan(20);
    for (const route of validating) {
      const response = document.paths[openApiPath(route.path)]?.[route.method]?.responses['400'];
      expect(response, `${route.method} ${route.path}`).toBeDefined();
      expect(response!.content?.['application/json']?.schema, `${route.method} ${route.path}`).toEqual({ $ref: '#/components/schemas/Error' });
    }
    // Requests the router refuses, each under the operation that documents its 400.
    const refused: [method: string, path: string, operation: string][] = [
      ['GET', '/api/executions/nope', '/api/executions/{id}'],
      ['POST', '/api/executions/bad/replay', '/api/executions/{id}/replay'],
      ['GET', '/api/executions/bad/stream', '/api/executions/{id}/stream'],
      ['GET', '/api/audit?limit=9999', '/api/audit'],
      ['GET', '/api/usage?period=bogus', '/api/usage'],
      ['GET', '/api/backends?refresh=maybe', '/api/backends'],
      ['GET', '/api/triggers/bad', '/api/triggers/{id}'],
      ['GET', '/api/triggers/bad/deliveries?limit=0', '/api/triggers/{id}/deliveries'],
    ];
    for (const [method, path, operation] of refused) {
      const response = await request(server.url, { method, path, headers: { authorization: `Bearer ${server.key}` } });
      expect(response.status, `${method} ${path}`).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code, `${method} ${path}`).toBe('ERR_VALIDATION');
      expect(document.paths[operation]?.[method.toLowerCase()]?.responses['400'], `${method} ${operation}`).toBeDefined();
    }
  });

  it('declares OpenAPI 3.0.3 and puts `nullable` only next to a `type`', async () => {
    const document = await fetchDocument();
    expect(document.openapi).toBe('3.0.3');
    expect(nullableWithoutType(document)).toEqual([]);
    // The nullable references still accept null (and the object).
    for (const [schema, property] of [['TriggerListItem', 'lastExecution'], ['Tunnel', 'lastRelayedFailure']] as const) {
      expect(document.components.schemas[schema]?.properties?.[property], `${schema}.${property}`).toMatchObject({
        anyOf: expect.arrayContaining([{ type: 'object', nullable: true, enum: [null] }]) as unknown,
      });
    }
  });

  it('a trigger that never ran answers lastExecution: null, which its published schema accepts', async () => {
    const api = keyedApi(server.key);
    const created = await api<{ id: string }>(server.url, 'POST', '/api/triggers', { name: 'never-run', kind: 'manual', promptTemplate: 'hello' });
    expect(created.status).toBe(201);
    const list = await api<{ items: { id: string; lastExecution: unknown }[] }>(server.url, 'GET', '/api/triggers');
    expect(list.status).toBe(200);
    expect(list.body.items.find((item) => item.id === created.body.id)?.lastExecution).toBeNull();

    const document = await fetchDocument();
    const schema = document.paths['/api/triggers']?.get?.responses['200']?.content?.['application/json']?.schema as object;
    const validate = new Ajv({ strict: false, validateFormats: false }).compile({ ...schema, components: document.components });
    expect(validate(list.body), JSON.stringify(validate.errors)).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPath } from '../../main/server/openapi.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server.close());

interface OpenApiDocument {
  openapi: string;
  info: { version: string };
  paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, { content?: Record<string, { schema: unknown }> }>; requestBody?: unknown }>>;
  components: { schemas: Record<string, { type?: string; properties?: Record<string, unknown> }> };
}

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
});

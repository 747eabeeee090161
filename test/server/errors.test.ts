import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../common/errors.js';
import { buildApp } from '../../main/server/app.js';
import { ApiError } from '../../main/server/errors.js';
import { defineRoute } from '../../main/server/route.js';
import { LoginTokens, SessionCookies } from '../../main/server/session.js';
import { SettingsRepository } from '../../main/storage/settings-repository.js';
import { openDatabase } from '../../main/storage/database.js';
import { resolveConfig } from '../../main/config/config.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { request } from '../helpers/http.js';
import { makeTempDir } from '../helpers/temp.js';

const KEY = 'errors-test-key-0123456789abcdef';
const sink = new MemorySink();
const temp = makeTempDir();
const db = openDatabase({ file: `${temp.dir}/agented.db` });
let server: http.Server;
let url: string;

beforeAll(async () => {
  // The real app, with one extra route through the domains' extension seam that fails the way a bug would.
  const app = buildApp({
    logger: Logger.create({ sink }),
    version: 'test',
    apiKey: () => KEY,
    sessions: new SessionCookies(() => Buffer.alloc(32, 7), 3600),
    loginTokens: new LoginTokens(60_000),
    readiness: () => Promise.reject(new Error('not used')),
    allowedHosts: ['127.0.0.1'],
    corsOrigins: [],
    maxBodyBytes: 1024,
    rendererDir: undefined,
    settings: { config: resolveConfig({ env: { HOME: temp.dir } }), env: {}, settings: new SettingsRepository(db) },
    extraRoutes: [
      defineRoute({
        method: 'get',
        path: '/api/boom',
        auth: 'key',
        tag: 'test',
        summary: 'fails',
        responses: {},
        handler: () => {
          throw new Error('db password is hunter2 at /srv/internal/path.ts:42');
        },
      }),
    ],
  });
  server = app.express.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  db.close();
  temp.remove();
});

describe('coded errors', () => {
  it('an unexpected error is a 500 without internals, and is logged with its request id and stack', async () => {
    const response = await request(url, { path: '/api/boom', headers: { authorization: `Bearer ${KEY}`, 'x-request-id': 'boom-1' } });
    expect(response.status).toBe(500);
    expect(response.json()).toEqual({ error: { code: 'ERR_INTERNAL', message: errorCatalogue.ERR_INTERNAL.message, requestId: 'boom-1' } });
    expect(response.body).not.toMatch(/hunter2|internal\/path|at /);
    const logged = sink.lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.msg === 'request failed');
    expect(logged?.request_id).toBe('boom-1');
    expect(JSON.stringify(logged)).toMatch(/internal\/path\.ts:42/);
  });

  it('every catalogued code has a 4xx/5xx status and a message, and ApiError uses them', () => {
    for (const [code, entry] of Object.entries(errorCatalogue)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.message.length, code).toBeGreaterThan(10);
      const error = new ApiError(code as keyof typeof errorCatalogue);
      expect(error.status).toBe(entry.status);
      expect(error.toBody('r').error).toMatchObject({ code, message: entry.message, requestId: 'r' });
    }
  });
});

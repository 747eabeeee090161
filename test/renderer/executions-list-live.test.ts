// @vitest-environment happy-dom
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionSummary } from '../../common/executions.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { mountApp, type MountedApp } from './mount-app.js';
import { named, plantFinished, shownExecutions } from './planted-executions.js';

/**
 * The executions list kept live against a real worker: executions written
 * through the repository on a second connection to its SQLite file reach the
 * worker's list but not its live stream (as those made while the page's
 * stream was down, or in one burst), and a run started over the API is the
 * change the page hears.
 */
let server: InProcessServer;
let db: Database.Database;
let executions: ExecutionRepository;
let triggerId: string;

async function api<T>(method: string, urlPath: string, body?: unknown): Promise<T> {
  const response = await request(server.url, {
    method,
    path: urlPath,
    headers: { authorization: `Bearer ${server.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  return response.json<T>();
}

/** Finished executions, newest first in `ids`, one second apart and ending `agoMs` ago; written oldest first. */
function plant(ids: string[], agoMs: number): void {
  const now = Date.now();
  const write = plantFinished(db, executions);
  for (let index = ids.length - 1; index >= 0; index--) write(ids[index]!, triggerId, new Date(now - agoMs - index * 1_000).toISOString());
}

beforeAll(async () => {
  server = await startInProcess();
  triggerId = (await api<{ id: string }>('POST', '/api/triggers', { name: 'Burst', kind: 'manual', promptTemplate: 'hello' })).id;
  db = openDatabase({ file: path.join(server.dataDir, 'agented.db') });
  executions = new ExecutionRepository(db);
}, 60_000);

afterAll(async () => {
  db?.close();
  await server?.close();
});

let app: MountedApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const rows = () => shownExecutions(app!);

/** Every execution in the server's order, page by page. */
async function serverOrder(): Promise<string[]> {
  const all: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: ExecutionSummary[]; nextCursor: string | null } = await api('GET', `/api/executions?limit=50${cursor ? `&cursor=${cursor}` : ''}`);
    all.push(...page.items.map((item) => item.id));
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

describe('executions list, live', () => {
  it('more new executions than a page while older pages are loaded: none is skipped, and "Load older" brings the rest, each once', async () => {
    plant(named('exe_old', 60), 3_600_000);
    app = await mountApp(server, '/executions');
    await app.until(() => rows().length === 50 && app!.wrapper.find('[data-testid="load-more"]').exists());
    await app.wrapper.get('[data-testid="load-more"]').trigger('click');
    await app.until(() => rows().length === 60);

    // 55 arrive unheard, then a run the page hears.
    plant(named('exe_new', 55), 60_000);
    const { executionId } = await api<{ executionId: string }>('POST', `/api/triggers/${triggerId}/run`, { params: {} });
    await app.until(() => rows()[0] === executionId);
    for (let pages = 0; pages < 5 && app.wrapper.find('[data-testid="load-more"]').exists(); pages++) {
      const before = rows().length;
      await app.wrapper.get('[data-testid="load-more"]').trigger('click');
      await app.until(() => rows().length > before);
    }
    expect(rows()).toEqual(await serverOrder());
  });
});

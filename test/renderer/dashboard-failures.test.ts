// @vitest-environment happy-dom
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { mountApp, type MountedApp } from './mount-app.js';

/**
 * The dashboard's failures against a real worker whose history holds an
 * execution that Agented's own stop interrupted, written through the
 * repository on a second connection to its SQLite file, as the restarted
 * worker records it (test/executions/crash-recovery.test.ts makes a real one).
 */
let server: InProcessServer;
let db: Database.Database;
let app: MountedApp | undefined;
const interrupted = 'exe_interrupted_01';

beforeAll(async () => {
  server = await startInProcess();
  const created = await request(server.url, {
    method: 'POST',
    path: '/api/triggers',
    headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Nightly build', kind: 'manual', promptTemplate: 'hello' }),
  });
  expect(created.status).toBe(201);
  const triggerId = created.json<{ id: string }>().id;
  db = openDatabase({ file: path.join(server.dataDir, 'agented.db') });
  const executions = new ExecutionRepository(db);
  const now = new Date().toISOString();
  db.transaction(() => {
    executions.insert({ id: interrupted, triggerId, source: 'manual', state: 'queued', reason: null, backend: 'claude', model: null, params: {}, prompt: 'hello', promptContext: [], concurrencyKey: null, deliveryId: null, replayOf: null, createdAt: now });
    executions.start(interrupted, now);
    executions.finish(interrupted, { state: 'interrupted', reason: 'Agented stopped while it ran', exitCode: null, endedAt: now });
  })();
}, 60_000);

afterAll(async () => {
  await app?.close();
  db?.close();
  await server?.close();
});

describe('dashboard failures', () => {
  it('lists an interrupted execution among the recent failures, as the Today panel counts it', async () => {
    app = await mountApp(server, '/');
    const failedToday = () => app!.wrapper.findAll('[data-testid="today"] .stat').find((stat) => stat.get('dt').text() === 'failed')!.get('dd').text();
    await app.until(() => failedToday() === '1' && app!.wrapper.find('[data-testid="failures"] .empty-state, [data-testid="failures"] .exec-row').exists());
    const rows = app.wrapper.findAll('[data-testid="failures"] .exec-row');
    expect(rows.map((row) => row.attributes('href'))).toEqual([`/executions/${interrupted}`]);
    expect(rows[0]!.text()).toContain('Nightly build');
    expect(rows[0]!.text()).toContain('Agented stopped while it ran');
  });
});

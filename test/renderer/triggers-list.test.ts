// @vitest-environment happy-dom
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { mountApp, type MountedApp } from './mount-app.js';

/**
 * The triggers list in the whole renderer against a real worker holding more
 * triggers than the API answers in one page (200).
 */
let server: InProcessServer;
const ids: string[] = [];

beforeAll(async () => {
  server = await startInProcess();
  for (let index = 1; index <= 205; index++) {
    const response = await request(server.url, {
      method: 'POST',
      path: '/api/triggers',
      headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `Trigger ${String(index).padStart(3, '0')}`, kind: 'manual', promptTemplate: 'hello' }),
    });
    expect(response.status).toBe(201);
    ids.push(response.json<{ id: string }>().id);
  }
}, 60_000);

afterAll(async () => {
  await server?.close();
});

let app: MountedApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('triggers list', () => {
  it('shows every trigger, past the first page of the API', async () => {
    app = await mountApp(server, '/triggers');
    await app.until(() => app!.wrapper.find('[data-testid="trigger-table"]').exists());
    const shown = app.wrapper.findAll('[data-testid="trigger-table"] tbody tr').map((row) => row.attributes('data-testid')!.replace('trigger-row-', ''));
    expect(shown).toHaveLength(205);
    expect(new Set(shown)).toEqual(new Set(ids));
  });
});

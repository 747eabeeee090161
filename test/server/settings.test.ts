import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../common/audit.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server.close());

const auth = () => ({ authorization: `Bearer ${server.key}` });
const patchSettings = (body: unknown) =>
  request(server.url, { method: 'PATCH', path: '/api/settings', body: JSON.stringify(body), headers: { ...auth(), 'content-type': 'application/json' } });
const settingsAudit = async () =>
  (await request(server.url, { path: '/api/audit', headers: auth() })).json<{ items: AuditEntry[] }>().items.filter((entry) => entry.action === 'settings.updated');

describe('PATCH /api/settings in the audit log', () => {
  it('records what a patch changed, with the request id and actor, and nothing for a patch that changed nothing', async () => {
    expect((await patchSettings({ maxConcurrent: 4, deliveriesKept: 20 })).status).toBe(200);
    expect(await settingsAudit()).toHaveLength(1);

    for (const body of [{}, { maxConcurrent: 4 }, { maxConcurrent: 4, deliveriesKept: 20 }]) {
      const response = await patchSettings(body);
      expect(response.status).toBe(200);
      expect(response.json<{ settings: Record<string, { value: unknown; source: string }> }>().settings.maxConcurrent).toMatchObject({ source: 'stored', value: 2 });
    }
    expect(await settingsAudit()).toHaveLength(1);

    const changed = await request(server.url, {
      method: 'PATCH',
      path: '/api/settings',
      body: JSON.stringify({ maxConcurrent: 4, deliveriesKept: 30 }),
      headers: { ...auth(), 'content-type': 'application/json', 'x-request-id': 'settings-change-1' },
    });
    expect(changed.status).toBe(200);
    const entries = await settingsAudit();
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({ actor: 'key', requestId: 'settings-change-1', targetId: null, detail: { settings: { deliveriesKept: 30 } } });
  });
});

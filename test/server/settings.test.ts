import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../common/audit.js';
import { openDatabase } from '../../main/storage/database.js';
import { SettingsRepository } from '../../main/storage/settings-repository.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { makeTempDir } from '../helpers/temp.js';

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

type Settings = { settings: Record<string, { value: unknown; source: string; editable: boolean; restartRequired: boolean }> };

describe('PATCH /api/settings: every editable setting, and back to the default', () => {
  it('takes every setting the view calls editable, except the tunnel’s (PUT /api/tunnel)', async () => {
    const view = (await request(server.url, { path: '/api/settings', headers: auth() })).json<Settings>().settings;
    const tunnelSettings = new Set(['tunnel', 'smeeUrl', 'smeeServer', 'tunnelPublicUrl', 'ngrokDomain']);
    const editable = Object.entries(view).filter(([name, setting]) => setting.editable && !tunnelSettings.has(name));
    for (const [name, setting] of editable) {
      // Its own value in use, sent back: a valid value of its type.
      const response = await patchSettings({ [name]: setting.value ?? '/opt/agent/bin' });
      expect(response.status, `${name}: ${response.body}`).toBe(200);
    }
    expect(editable.map(([name]) => name)).toEqual(expect.arrayContaining(['stopGraceMs', 'rateLimitBackoffSeconds', 'sseHeartbeatMs', 'versionTimeoutMs', 'backendsMaxAgeMs']));
  });

  it('null removes a stored value: the setting is back to its default, audited as null', async () => {
    expect((await patchSettings({ claudePath: '/opt/claude/bin/claude', stopGraceMs: 1_500 })).status).toBe(200);
    const reset = await patchSettings({ claudePath: null, stopGraceMs: null });
    expect(reset.status, reset.body).toBe(200);
    const { settings } = reset.json<Settings>();
    expect(settings.claudePath!.source).toBe('default');
    expect(settings.stopGraceMs!.source).toBe('default');
    expect((await settingsAudit())[0]).toMatchObject({ detail: { settings: { claudePath: null, stopGraceMs: null } } });
    // Nothing stored any more: a second reset changes nothing and records nothing.
    const entries = (await settingsAudit()).length;
    expect((await patchSettings({ claudePath: null })).status).toBe(200);
    expect(await settingsAudit()).toHaveLength(entries);
  });
});

describe('GET /api/settings: restartRequired says whether a restart would change the value in use', () => {
  it('a stored value in use, removed with null, needs a restart to go back to the default', async () => {
    const temp = makeTempDir();
    const dataDir = `${temp.dir}/data`;
    const db = openDatabase({ file: `${dataDir}/agented.db` });
    new SettingsRepository(db).set('maxConcurrent', '4');
    db.close();
    const started = await startInProcess({ AGENTED_DATA_DIR: dataDir });
    try {
      const patch = (body: unknown) =>
        request(started.url, { method: 'PATCH', path: '/api/settings', body: JSON.stringify(body), headers: { authorization: `Bearer ${started.key}`, 'content-type': 'application/json' } });
      const reset = await patch({ maxConcurrent: null });
      expect(reset.status, reset.body).toBe(200);
      // The worker still runs 4 executions at once; after a restart it runs the default 2.
      expect(reset.json<Settings>().settings.maxConcurrent).toMatchObject({ value: 4, source: 'default', restartRequired: true });
      // Stored again as it runs: nothing waits for a restart.
      expect((await patch({ maxConcurrent: 4 })).json<Settings>().settings.maxConcurrent).toMatchObject({ value: 4, source: 'stored', restartRequired: false });
    } finally {
      await started.close();
      temp.remove();
    }
  });
});

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import type { AuditEntry } from '../../common/audit.js';
import type { Budget } from '../../common/budgets.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { listFiles } from '../helpers/temp.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server.close());

const KEY = 'sk-ant-account-secret-0123456789';

async function api<T>(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await request(server.url, {
    method,
    path: urlPath,
    headers: { authorization: `Bearer ${server.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: response.body === '' ? (undefined as T) : response.json<T>() };
}

type ErrorAnswer = { error: { code: string; issues?: { path: string; message: string }[] } };

describe('accounts API', () => {
  it('creates an account with a key that is stored sealed, never returned; changes and deletes it, audited', async () => {
    const created = await api<Account>('POST', '/api/accounts', { backend: 'claude', name: 'work', apiKey: KEY, priority: 5 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ backend: 'claude', name: 'work', hasApiKey: true, configDir: null, priority: 5, enabled: true, coolingDownUntil: null, coolingDownReason: null });
    expect(JSON.stringify(created.body)).not.toContain(KEY);
    const id = created.body.id;

    // With AGENTED_API_KEY the keychain is bypassed: the key is sealed in SQLite, not stored in plain text anywhere.
    const db = new Database(path.join(server.dataDir, 'agented.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT count(*) AS n FROM sealed_secrets WHERE name = ?').get(`account:${id}:api-key`)).toEqual({ n: 1 });
    } finally {
      db.close();
    }
    const files = listFiles(server.dataDir).concat(listFiles(server.logDir));
    for (const file of files) expect(fs.readFileSync(file).includes(KEY), file).toBe(false);

    const listed = await api<{ items: Account[] }>('GET', '/api/accounts');
    expect(listed.body.items.map((account) => account.id)).toContain(id);
    expect(JSON.stringify(listed.body)).not.toContain(KEY);

    const renamed = await api<Account>('PATCH', `/api/accounts/${id}`, { name: 'work-2', enabled: false });
    expect(renamed.body).toMatchObject({ name: 'work-2', enabled: false, hasApiKey: true });
    const keyless = await api<ErrorAnswer>('PATCH', `/api/accounts/${id}`, { apiKey: null });
    expect(keyless.status).toBe(400);
    expect(keyless.body.error.issues).toEqual([{ path: 'body.apiKey', message: 'an account needs an API key or a configuration folder' }]);
    // The refused change left the stored key where it was.
    const afterRefusal = new Database(path.join(server.dataDir, 'agented.db'), { readonly: true });
    try {
      expect(afterRefusal.prepare('SELECT count(*) AS n FROM sealed_secrets WHERE name = ?').get(`account:${id}:api-key`)).toEqual({ n: 1 });
    } finally {
      afterRefusal.close();
    }
    expect((await api<Account>('PATCH', `/api/accounts/${id}`, { apiKey: null, configDir: '/home/me/.claude-work' })).body).toMatchObject({ hasApiKey: false, configDir: '/home/me/.claude-work' });

    expect((await api('DELETE', `/api/accounts/${id}`)).status).toBe(204);
    expect((await api<ErrorAnswer>('DELETE', `/api/accounts/${id}`)).body.error.code).toBe('ERR_ACCOUNT_NOT_FOUND');
    const audit = await api<{ items: AuditEntry[] }>('GET', '/api/audit');
    expect(audit.body.items.filter((entry) => entry.targetId === id).map((entry) => entry.action)).toEqual(['account.deleted', 'account.updated', 'account.updated', 'account.created']);
    expect(JSON.stringify(audit.body)).not.toContain(KEY);
  });

  it('refuses what makes no account: no credential, a relative folder, a duplicate name, an unknown backend', async () => {
    const none = await api<ErrorAnswer>('POST', '/api/accounts', { backend: 'codex', name: 'x' });
    expect(none.status).toBe(400);
    expect(none.body.error.issues).toEqual([{ path: 'body.apiKey', message: 'an account needs an API key or a configuration folder' }]);
    const relative = await api<ErrorAnswer>('POST', '/api/accounts', { backend: 'codex', name: 'x', configDir: 'relative/dir' });
    expect(relative.body.error.issues?.[0]?.path).toBe('body.configDir');
    expect((await api<ErrorAnswer>('POST', '/api/accounts', { backend: 'cursor', name: 'x', apiKey: KEY })).status).toBe(400);
    expect((await api('POST', '/api/accounts', { backend: 'codex', name: 'dup', apiKey: KEY })).status).toBe(201);
    const duplicate = await api<ErrorAnswer>('POST', '/api/accounts', { backend: 'codex', name: 'dup', apiKey: KEY });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('ERR_ACCOUNT_EXISTS');
  });

  it.skipIf(process.platform === 'win32')('refuses a Windows folder on this POSIX system, where it would be a folder inside the execution’s working directory', async () => {
    const created = await api<ErrorAnswer>('POST', '/api/accounts', { backend: 'claude', name: 'windows', configDir: 'C:/Users/me/.claude' });
    expect(created.status).toBe(400);
    expect(created.body.error.issues).toEqual([{ path: 'body.configDir', message: 'must be an absolute path' }]);
    const account = await api<Account>('POST', '/api/accounts', { backend: 'claude', name: 'posix', configDir: '/home/me/.claude' });
    const changed = await api<ErrorAnswer>('PATCH', `/api/accounts/${account.body.id}`, { configDir: 'D:\\claude' });
    expect(changed.status).toBe(400);
    expect(changed.body.error.issues).toEqual([{ path: 'body.configDir', message: 'must be an absolute path' }]);
    expect((await api<{ items: Account[] }>('GET', '/api/accounts')).body.items.find((item) => item.id === account.body.id)?.configDir).toBe('/home/me/.claude');
  });
});

describe('budgets API', () => {
  it('creates budgets per scope with their current period and spend, and refuses inconsistent ones', async () => {
    const global = await api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'month', limitUsd: 50 });
    expect(global.status).toBe(201);
    expect(global.body).toMatchObject({ scope: 'global', scopeId: null, period: 'month', limitUsd: 50, limitTokens: null, hard: true, used: 0, spent: { costUsd: 0, tokens: 0, executions: 0 } });
    const start = new Date(global.body.periodStart);
    expect(start.getDate()).toBe(1);
    expect(start.getHours()).toBe(0);
    expect(new Date(global.body.periodEnd).getMonth()).toBe((start.getMonth() + 1) % 12);

    const week = await api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'week', limitTokens: 1000, hard: false });
    expect(new Date(week.body.periodStart).getDay()).toBe(1); // Monday

    expect((await api<ErrorAnswer>('POST', '/api/budgets', { scope: 'trigger', period: 'day', limitUsd: 1 })).body.error.issues?.[0]?.path).toBe('body.scopeId');
    expect((await api<ErrorAnswer>('POST', '/api/budgets', { scope: 'global', period: 'day' })).body.error.issues?.[0]?.message).toBe('set limitUsd, limitTokens or both');
    expect((await api<ErrorAnswer>('POST', '/api/budgets', { scope: 'global', period: 'year', limitUsd: 1 })).status).toBe(400);
    expect((await api<ErrorAnswer>('POST', '/api/budgets', { scope: 'global', period: 'day', limitUsd: -1 })).status).toBe(400);

    expect((await api<{ items: Budget[] }>('GET', '/api/budgets')).body.items.map((budget) => budget.id)).toEqual([global.body.id, week.body.id]);
    expect((await api('DELETE', `/api/budgets/${week.body.id}`)).status).toBe(204);
    expect((await api<ErrorAnswer>('DELETE', `/api/budgets/${week.body.id}`)).status).toBe(404);
  });

  it('changes a budget’s limits, period and hard/soft, keeps one limit at least, fixes the scope, audited', async () => {
    const created = await api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitUsd: 5 });
    const id = created.body.id;
    const changed = await api<Budget>('PATCH', `/api/budgets/${id}`, { period: 'week', limitUsd: null, limitTokens: 20_000, hard: false });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id, scope: 'global', period: 'week', limitUsd: null, limitTokens: 20_000, hard: false, createdAt: created.body.createdAt });
    expect(new Date(changed.body.periodStart).getDay()).toBe(1);

    const noLimit = await api<ErrorAnswer>('PATCH', `/api/budgets/${id}`, { limitTokens: null });
    expect(noLimit.status).toBe(400);
    expect(noLimit.body.error.issues).toEqual([{ path: 'body.limitUsd', message: 'set limitUsd, limitTokens or both' }]);
    expect((await api<ErrorAnswer>('PATCH', `/api/budgets/${id}`, { scope: 'trigger' })).status).toBe(400);
    expect((await api<ErrorAnswer>('PATCH', `/api/budgets/${id}`, { limitUsd: 0 })).body.error.issues?.[0]?.path).toBe('body.limitUsd');
    expect((await api<ErrorAnswer>('PATCH', '/api/budgets/bud_missing', { hard: true })).body.error.code).toBe('ERR_BUDGET_NOT_FOUND');
    // Refused changes stored nothing.
    expect((await api<{ items: Budget[] }>('GET', '/api/budgets')).body.items.find((budget) => budget.id === id)).toMatchObject({ limitTokens: 20_000, limitUsd: null });

    const audit = await api<{ items: AuditEntry[] }>('GET', '/api/audit');
    expect(audit.body.items.filter((entry) => entry.targetId === id).map((entry) => entry.action)).toEqual(['budget.updated', 'budget.created']);
    expect((await api('DELETE', `/api/budgets/${id}`)).status).toBe(204);
  });

  it('the usage report and account monitoring answer for every period', async () => {
    for (const period of ['day', 'week', 'month']) {
      const usage = await api<{ period: string; total: { executions: number } }>('GET', `/api/usage?period=${period}`);
      expect(usage.status).toBe(200);
      expect(usage.body).toMatchObject({ period, total: { executions: 0 } });
      const stats = await api<{ backend: string; name: string }[]>('GET', `/api/accounts/stats?period=${period}`);
      expect(stats.status).toBe(200);
      expect(stats.body.map((row) => row.backend)).toEqual(expect.arrayContaining(['claude', 'codex', 'gemini', 'opencode']));
    }
    expect((await api<ErrorAnswer>('GET', '/api/usage?period=decade')).status).toBe(400);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../common/audit.js';
import type { Budget } from '../../common/budgets.js';
import { keyedApi } from '../helpers/http.js';
import { startInProcess, TEST_API_KEY, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
const call = keyedApi(TEST_API_KEY);
const api = <T>(method: string, path: string, body?: unknown) => call<T>(server.url, method, path, body);

beforeAll(async () => {
  server = await startInProcess();
});
afterAll(async () => {
  await server.close();
});

const budgetAudit = async (id: string) => (await api<{ items: AuditEntry[] }>('GET', '/api/audit')).body.items.filter((entry) => entry.targetId === id);

describe('PATCH /api/budgets/:id', () => {
  it('records in the audit log only what changed: an empty or no-op change is answered with the budget and not recorded', async () => {
    const created = await api<Budget>('POST', '/api/budgets', { scope: 'global', period: 'day', limitUsd: 5 });
    expect(created.status).toBe(201);
    const id = created.body.id;

    const empty = await api<Budget>('PATCH', `/api/budgets/${id}`, {});
    expect(empty.status).toBe(200);
    expect(empty.body).toMatchObject({ id, period: 'day', limitUsd: 5, limitTokens: null, hard: true });
    const same = await api<Budget>('PATCH', `/api/budgets/${id}`, { period: 'day', limitUsd: 5, limitTokens: null, hard: true });
    expect(same.status).toBe(200);
    expect((await budgetAudit(id)).map((entry) => entry.action)).toEqual(['budget.created']);

    const changed = await api<Budget>('PATCH', `/api/budgets/${id}`, { period: 'day', limitUsd: 7 });
    expect(changed.body).toMatchObject({ period: 'day', limitUsd: 7 });
    const entries = await budgetAudit(id);
    expect(entries.map((entry) => [entry.action, entry.detail])).toEqual([
      ['budget.updated', { fields: ['limitUsd'] }],
      ['budget.created', { scope: 'global', period: 'day' }],
    ]);
  });
});

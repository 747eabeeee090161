import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../common/audit.js';
import { keyedApi } from '../helpers/http.js';
import { startInProcess, TEST_API_KEY, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
const call = keyedApi(TEST_API_KEY);
const api = <T>(method: string, path: string, body?: unknown) => call<T>(server.url, method, path, body);

interface AuditPage {
  items: AuditEntry[];
  nextCursor: string | null;
}
interface ErrorAnswer {
  error: { code: string; issues?: { path: string; message: string }[] };
}

beforeAll(async () => {
  server = await startInProcess();
});
afterAll(async () => {
  await server.close();
});

const createTrigger = async (name: string) => (await api<{ id: string }>('POST', '/api/triggers', { name, kind: 'manual', promptTemplate: 'Go' })).body.id;

/** Every entry a query selects, page by page, following nextCursor. */
async function allPages(query: string): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; body: AuditPage } = await api<AuditPage>('GET', `/api/audit?${query}${cursor === null ? '' : `&cursor=${cursor}`}`);
    expect(page.status).toBe(200);
    entries.push(...page.body.items);
    cursor = page.body.nextCursor;
  } while (cursor !== null);
  return entries;
}

describe('GET /api/audit', () => {
  it('filters by action, by target id and by time, newest first, page by page', async () => {
    const before = new Date().toISOString();
    const kept = await createTrigger('kept');
    const deleted = await createTrigger('deleted');
    const alsoDeleted = await createTrigger('also deleted');
    expect((await api('PATCH', `/api/triggers/${kept}`, { name: 'renamed' })).status).toBe(200);
    for (const id of [deleted, alsoDeleted]) expect((await api('DELETE', `/api/triggers/${id}`)).status).toBe(204);

    const deletions = await allPages('action=trigger.deleted&limit=1');
    expect(deletions.map((entry) => [entry.action, entry.targetId])).toEqual([
      ['trigger.deleted', alsoDeleted],
      ['trigger.deleted', deleted],
    ]);
    expect((await allPages(`targetId=${kept}&limit=1`)).map((entry) => entry.action)).toEqual(['trigger.updated', 'trigger.created']);
    expect((await allPages(`targetId=${kept}&action=trigger.created`)).map((entry) => entry.action)).toEqual(['trigger.created']);

    const since = await allPages(`since=${before}`);
    expect(since.map((entry) => entry.targetId)).toEqual([alsoDeleted, deleted, kept, alsoDeleted, deleted, kept]);
    // An instant with an offset is the same instant.
    const offset = new Date(Date.parse(before) + 60 * 60_000).toISOString().replace('Z', '+01:00');
    expect(await allPages(`since=${encodeURIComponent(offset)}`)).toEqual(since);
    expect(await allPages(`since=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
  });

  it('refuses a filter it does not know how to read with a 400 that names it', async () => {
    for (const [query, field] of [
      ['action=trigger.exploded', 'query.action'],
      ['since=yesterday', 'query.since'],
      [`targetId=${'x'.repeat(500)}`, 'query.targetId'],
      ['limit=0', 'query.limit'],
      ['cursor=abc', 'query.cursor'],
    ]) {
      const answer = await api<ErrorAnswer>('GET', `/api/audit?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code).toBe('ERR_VALIDATION');
      expect(answer.body.error.issues?.map((issue) => issue.path), query).toEqual([field]);
    }
  });
});

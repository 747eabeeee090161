import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionState, ExecutionSummary, ExecutionTotals } from '../../common/executions.js';
import type { Backend, TriggerListItem } from '../../common/triggers.js';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

/**
 * The history's filters and totals over real HTTP against the worker's real
 * SQLite file. The executions are written through the repository on a second
 * connection to that file, with the times, backends, states and usage each
 * case needs (finished ones only, so the worker's queue leaves them alone).
 */
let server: InProcessServer;
let db: Database.Database;
let triggerA: string;
let triggerB: string;
let neverRan: string;

interface Planted {
  id: string;
  trigger: 'A' | 'B';
  backend: Backend;
  state: ExecutionState;
  createdAt: string;
  tokens?: [number, number, number];
}

// Ten executions over three days, oldest first.
const PLANTED: Planted[] = [
  { id: 'exe_h01', trigger: 'A', backend: 'claude', state: 'succeeded', createdAt: '2026-11-20T08:00:00.000Z', tokens: [100, 10, 0.5] },
  { id: 'exe_h02', trigger: 'A', backend: 'codex', state: 'failed', createdAt: '2026-11-20T09:00:00.000Z' },
  { id: 'exe_h03', trigger: 'B', backend: 'claude', state: 'succeeded', createdAt: '2026-11-21T07:30:00.000Z', tokens: [200, 20, 1.25] },
  { id: 'exe_h04', trigger: 'B', backend: 'gemini', state: 'cancelled', createdAt: '2026-11-21T08:00:00.000Z' },
  { id: 'exe_h05', trigger: 'A', backend: 'claude', state: 'failed', createdAt: '2026-11-21T09:00:00.000Z', tokens: [50, 5, 0.25] },
  { id: 'exe_h06', trigger: 'A', backend: 'codex', state: 'succeeded', createdAt: '2026-11-21T23:59:59.999Z', tokens: [10, 1, 0.1] },
  { id: 'exe_h07', trigger: 'B', backend: 'claude', state: 'skipped', createdAt: '2026-11-22T00:00:00.000Z' },
  { id: 'exe_h08', trigger: 'A', backend: 'claude', state: 'succeeded', createdAt: '2026-11-22T10:00:00.000Z', tokens: [300, 30, 2] },
  { id: 'exe_h09', trigger: 'B', backend: 'opencode', state: 'timed_out', createdAt: '2026-11-22T11:00:00.000Z' },
  { id: 'exe_h10', trigger: 'A', backend: 'claude', state: 'succeeded', createdAt: '2026-11-22T12:00:00.000Z' },
];

const auth = () => ({ authorization: `Bearer ${server.key}` });
const get = async <T>(path: string) => {
  const response = await request(server.url, { path, headers: auth() });
  expect(response.status, `${path}: ${response.body.slice(0, 300)}`).toBe(200);
  return response.json<T>();
};
const ids = (items: ExecutionSummary[]) => items.map((item) => item.id);
/** The planted ids matching a predicate, newest first (the history's order). */
const expected = (match: (planted: Planted) => boolean) => PLANTED.filter(match).map((planted) => planted.id).reverse();

async function createTrigger(name: string): Promise<string> {
  const response = await request(server.url, {
    method: 'POST',
    path: '/api/triggers',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify({ name, kind: 'manual', promptTemplate: 'hello' }),
  });
  expect(response.status).toBe(201);
  return response.json<{ id: string }>().id;
}

beforeAll(async () => {
  server = await startInProcess();
  triggerA = await createTrigger('history A');
  triggerB = await createTrigger('history B');
  neverRan = await createTrigger('history never ran');
  db = openDatabase({ file: path.join(server.dataDir, 'agented.db') });
  const executions = new ExecutionRepository(db);
  for (const planted of PLANTED) {
    executions.insert({
      id: planted.id,
      triggerId: planted.trigger === 'A' ? triggerA : triggerB,
      source: 'manual',
      state: planted.state === 'skipped' ? 'skipped' : 'queued',
      reason: null,
      backend: planted.backend,
      model: null,
      params: {},
      prompt: 'hello',
      promptContext: [],
      concurrencyKey: null,
      deliveryId: null,
      replayOf: null,
      createdAt: planted.createdAt,
    });
    if (planted.state !== 'skipped') {
      // Straight to its end state in the file, before the worker's queue could look at it.
      db.prepare('UPDATE executions SET state = ?, ended_at = ? WHERE id = ?').run(planted.state, planted.createdAt, planted.id);
    }
    if (planted.tokens) executions.setUsage(planted.id, { inputTokens: planted.tokens[0], outputTokens: planted.tokens[1], costUsd: planted.tokens[2], costEstimated: false, estimatedUsd: null });
  }
});
afterAll(async () => {
  db?.close();
  await server?.close();
});

describe('GET /api/executions: filters on the server', () => {
  it('filters by backend, alone and with trigger and state', async () => {
    expect(ids((await get<{ items: ExecutionSummary[] }>('/api/executions?backend=codex')).items)).toEqual(expected((p) => p.backend === 'codex'));
    expect(ids((await get<{ items: ExecutionSummary[] }>(`/api/executions?backend=claude&trigger=${triggerA}&status=succeeded`)).items)).toEqual(
      expected((p) => p.backend === 'claude' && p.trigger === 'A' && p.state === 'succeeded'),
    );
  });

  it('filters by a half-open time range: since ≤ createdAt < until', async () => {
    const day = await get<{ items: ExecutionSummary[] }>('/api/executions?since=2026-11-21T00:00:00Z&until=2026-11-22T00:00:00Z');
    expect(ids(day.items)).toEqual(['exe_h06', 'exe_h05', 'exe_h04', 'exe_h03']);
    expect(ids((await get<{ items: ExecutionSummary[] }>('/api/executions?since=2026-11-22T00:00:00.000Z')).items)).toEqual(['exe_h10', 'exe_h09', 'exe_h08', 'exe_h07']);
    expect(ids((await get<{ items: ExecutionSummary[] }>('/api/executions?until=2026-11-21T07:30:00Z')).items)).toEqual(['exe_h02', 'exe_h01']);
  });

  it('compares instants, not text: an offset is converted to UTC first', async () => {
    // 09:00+01:00 to 10:00+01:00 is 08:00Z to 09:00Z: exe_h04 (08:00Z) is in; exe_h03 (07:30Z) and exe_h05 (09:00Z) are out.
    // Compared as text the range would hold exe_h05 and miss exe_h04.
    const page = await get<{ items: ExecutionSummary[] }>(`/api/executions?since=${encodeURIComponent('2026-11-21T09:00:00+01:00')}&until=${encodeURIComponent('2026-11-21T10:00:00+01:00')}`);
    expect(ids(page.items)).toEqual(['exe_h04']);
  });

  it('pages through a filtered range with the cursor, newest first, nothing twice or missed', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: ExecutionSummary[]; nextCursor: string | null } = await get(
        `/api/executions?backend=claude&since=2026-11-20T08:00:00Z&until=2026-11-22T12:00:00Z&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...ids(page.items));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual(expected((p) => p.backend === 'claude' && p.createdAt >= '2026-11-20T08:00:00.000Z' && p.createdAt < '2026-11-22T12:00:00.000Z'));
    expect(pages).toBe(3);
    // Without a time range the cursor pages the same way.
    const first = await get<{ items: ExecutionSummary[]; nextCursor: string }>('/api/executions?status=succeeded&limit=3');
    const second = await get<{ items: ExecutionSummary[] }>(`/api/executions?status=succeeded&limit=3&cursor=${first.nextCursor}`);
    expect([...ids(first.items), ...ids(second.items)]).toEqual(expected((p) => p.state === 'succeeded'));
  });

  it('answers bad filters with 400 and a JSON error naming the field', async () => {
    const cases: [string, string][] = [
      ['backend=gpt-4', 'query.backend'],
      ['since=yesterday', 'query.since'],
      ['until=2026-11-22', 'query.until'],
      // No offset: which time zone would it be?
      ['since=2026-11-22T10:00:00', 'query.since'],
      ['since=2026-11-22T10:00:00Z&until=2026-11-22T10:00:00Z', 'query.until'],
      ['since=2026-11-23T00:00:00Z&until=2026-11-22T00:00:00Z', 'query.until'],
      ['status=sleeping', 'query.status'],
    ];
    for (const path of ['/api/executions', '/api/executions/summary']) {
      for (const [query, field] of cases) {
        const response = await request(server.url, { path: `${path}?${query}`, headers: auth() });
        expect(response.status, `${path}?${query}`).toBe(400);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        const body = response.json<{ error: { code: string; issues: { path: string; message: string }[] } }>();
        expect(body.error.code).toBe('ERR_VALIDATION');
        expect(body.error.issues.map((issue) => issue.path), `${path}?${query}`).toContain(field);
      }
    }
    // A cursor is a number nextCursor gave: anything else would silently start over at the first page.
    for (const cursor of ['abc', '-5', '1.5']) {
      const response = await request(server.url, { path: `/api/executions?cursor=${cursor}`, headers: auth() });
      expect(response.status, cursor).toBe(400);
      expect(response.json<{ error: { issues: { path: string }[] } }>().error.issues.map((issue) => issue.path)).toContain('query.cursor');
    }
  });
});

describe('GET /api/executions/summary', () => {
  it('counts by state and sums tokens and cost over the same filters', async () => {
    const day = await get<ExecutionTotals>('/api/executions/summary?since=2026-11-21T00:00:00Z&until=2026-11-22T00:00:00Z');
    expect(day).toEqual({
      total: 4,
      byState: { queued: 0, running: 0, succeeded: 2, failed: 1, cancelled: 1, timed_out: 0, interrupted: 0, skipped: 0 },
      inputTokens: 260,
      outputTokens: 26,
      costUsd: expect.closeTo(1.6, 9),
      costEstimated: false,
    });
    const claudeOfA = await get<ExecutionTotals>(`/api/executions/summary?trigger=${triggerA}&backend=claude`);
    expect(claudeOfA.total).toBe(4);
    expect(claudeOfA.byState.succeeded).toBe(3);
    expect(claudeOfA.byState.failed).toBe(1);
    expect(claudeOfA.costUsd).toBeCloseTo(2.75, 9);
    const nothing = await get<ExecutionTotals>('/api/executions/summary?since=2030-01-01T00:00:00Z');
    expect(nothing).toMatchObject({ total: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 });
  });
});

describe('GET /api/triggers: each trigger with its last execution', () => {
  it('carries the newest execution of each trigger, and null for one that never ran', async () => {
    const list = await get<{ items: TriggerListItem[] }>('/api/triggers');
    const byId = new Map(list.items.map((item) => [item.id, item]));
    expect(byId.get(triggerA)!.lastExecution).toEqual({ id: 'exe_h10', state: 'succeeded', createdAt: '2026-11-22T12:00:00.000Z', endedAt: '2026-11-22T12:00:00.000Z' });
    expect(byId.get(triggerB)!.lastExecution).toMatchObject({ id: 'exe_h09', state: 'timed_out' });
    expect(byId.get(neverRan)!.lastExecution).toBeNull();
    // The single trigger's own answer is unchanged (no list-only field).
    const one = await get<Record<string, unknown>>(`/api/triggers/${triggerA}`);
    expect(one).not.toHaveProperty('lastExecution');
  });
});

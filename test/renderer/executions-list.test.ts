// @vitest-environment happy-dom
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../main/storage/database.js';
import { ExecutionRepository } from '../../main/storage/execution-repository.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { mountApp, type MountedApp } from './mount-app.js';
import { named, plantFinished, shownExecutions } from './planted-executions.js';

/**
 * The executions list in the whole renderer against a real worker whose
 * history was written through the repository on a second connection to its
 * SQLite file, at the times each case needs (finished executions only, each
 * written in one transaction, so the worker's queue never sees them queued):
 * "Nightly build" ran 60 times in the last half hour, "Weekly report" 3 times
 * three days ago and twice three weeks ago. A page holds 50.
 */
let server: InProcessServer;
let db: Database.Database;
let nightly: string;
let weekly: string;
const ids = { nightly: [] as string[], recentWeekly: [] as string[], oldWeekly: [] as string[] };

async function createTrigger(name: string): Promise<string> {
  const response = await request(server.url, {
    method: 'POST',
    path: '/api/triggers',
    headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, kind: 'manual', promptTemplate: 'hello' }),
  });
  expect(response.status).toBe(201);
  return response.json<{ id: string }>().id;
}

beforeAll(async () => {
  server = await startInProcess();
  nightly = await createTrigger('Nightly build');
  weekly = await createTrigger('Weekly report');
  db = openDatabase({ file: path.join(server.dataDir, 'agented.db') });
  const executions = new ExecutionRepository(db);
  const now = Date.now();
  const plant = plantFinished(db, executions);
  const at = (msAgo: number) => new Date(now - msAgo).toISOString();
  ids.nightly = named('exe_nightly', 60);
  ids.recentWeekly = named('exe_weekly_recent', 3);
  ids.oldWeekly = named('exe_weekly_old', 2);
  // Each list is newest first, one step apart from `agoMs`; written oldest first, as the worker writes them (the unfiltered list is in that order).
  const plantAll = (list: string[], triggerId: string, agoMs: number, stepMs: number) => {
    for (let index = list.length - 1; index >= 0; index--) plant(list[index]!, triggerId, at(agoMs + (index + 1) * stepMs));
  };
  plantAll(ids.oldWeekly, weekly, 21 * 86_400_000, 60_000);
  plantAll(ids.recentWeekly, weekly, 3 * 86_400_000, 60_000);
  plantAll(ids.nightly, nightly, 0, 30_000);
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

/** The ids of the rows shown, top to bottom. */
const rows = () => shownExecutions(app!);
const totalsLine = () => app!.wrapper.get('[data-testid="execution-totals"]').text();
const everything = () => [...ids.nightly, ...ids.recentWeekly, ...ids.oldWeekly];

async function choose(filter: 'trigger' | 'since', value: string): Promise<void> {
  await app!.wrapper.get(`[data-testid="filter-${filter}"]`).setValue(value);
}

async function loadOlder(): Promise<void> {
  const before = rows().length;
  await app!.wrapper.get('[data-testid="load-more"]').trigger('click');
  await app!.until(() => rows().length > before);
}

describe('executions list', () => {
  it('shows the newest 50, and "Load older" appends the rest in order, each once, until there is nothing more', async () => {
    app = await mountApp(server, '/executions');
    await app.until(() => rows().length > 0 && app!.wrapper.find('[data-testid="execution-totals"]').exists());
    expect(rows()).toEqual(everything().slice(0, 50));
    expect(totalsLine()).toMatch(/^65 executions: 65 succeeded/);
    expect(app.wrapper.get('[data-testid="load-more"]').text()).toBe('Load older executions');

    await loadOlder();
    expect(rows()).toEqual(everything());
    expect(app.wrapper.find('[data-testid="load-more"]').exists()).toBe(false);
    expect(app.wrapper.get('.load-more').text()).toBe('That is all.');
  });

  it('filters by trigger on the server, with the filter in the URL and the totals of the same filter', async () => {
    app = await mountApp(server, '/executions');
    await app.until(() => app!.wrapper.findAll('[data-testid="filter-trigger"] option').length === 3 && rows().length === 50);
    await choose('trigger', weekly);
    await app.until(() => rows().length === 5);
    expect(app.router.currentRoute.value.query).toEqual({ trigger: weekly });
    expect(rows()).toEqual([...ids.recentWeekly, ...ids.oldWeekly]);
    expect(app.wrapper.findAll('[data-testid="execution-table"] tbody tr').every((row) => row.text().includes('Weekly report'))).toBe(true);
    expect(totalsLine()).toMatch(/^5 executions match: 5 succeeded/);
    expect(app.wrapper.find('[data-testid="load-more"]').exists()).toBe(false);

    // Opened from its URL, the page applies the filter as well.
    await app.close();
    app = await mountApp(server, `/executions?trigger=${nightly}`);
    await app.until(() => rows().length === 50 && app!.wrapper.findAll('[data-testid="filter-trigger"] option').length === 3);
    expect((app.wrapper.get('[data-testid="filter-trigger"]').element as HTMLSelectElement).value).toBe(nightly);
    await loadOlder();
    expect(rows()).toEqual(ids.nightly);
  });

  it('filters by time on the server: the last hour, the last 7 days, and with a trigger', async () => {
    app = await mountApp(server, '/executions');
    await app.until(() => rows().length === 50);
    await choose('since', 'hour');
    await app.until(() => app!.wrapper.find('[data-testid="execution-totals"]').exists() && totalsLine().startsWith('60 executions match'));
    expect(app.router.currentRoute.value.query).toEqual({ since: 'hour' });
    expect(rows()).toEqual(ids.nightly.slice(0, 50));
    // The next page keeps the same window.
    await loadOlder();
    expect(rows()).toEqual(ids.nightly);
    expect(app.wrapper.get('.load-more').text()).toBe('That is all for last hour.');

    await choose('since', 'week');
    await app.until(() => totalsLine().startsWith('63 executions match'));
    await choose('trigger', weekly);
    await app.until(() => rows().length === 3);
    expect(rows()).toEqual(ids.recentWeekly);
    expect(app.router.currentRoute.value.query).toEqual({ since: 'week', trigger: weekly });

    await app.wrapper.get('.filters button').trigger('click');
    await app.until(() => rows().length === 50 && totalsLine().startsWith('65 executions:'));
    expect(app.router.currentRoute.value.query).toEqual({});
  });
});

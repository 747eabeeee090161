import Database from 'better-sqlite3';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SettingsView } from '../../common/api.js';
import type { AuditEntry } from '../../common/audit.js';
import { MAX_PRICES } from '../../common/budgets.js';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

/*
 * The price table as a setting (issue 7, docs/accounts.md "Prices"): PATCH
 * /api/settings `prices` against the real worker over HTTP, stored in its
 * SQLite file, reported by GET /api/settings with its source, audited; bad
 * tables refused with a 400 naming the field and nothing stored.
 */

let server: InProcessServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Refusal {
  error: { code: string; issues: { path: string; message: string }[] };
}

async function call<T>(method: string, urlPath: string, body?: unknown, raw?: string): Promise<{ status: number; body: T }> {
  const response = await request(server!.url, {
    method,
    path: urlPath,
    headers: { authorization: `Bearer ${server!.key}`, ...(body === undefined && raw === undefined ? {} : { 'content-type': 'application/json' }) },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: response.status, body: response.json<T>() };
}

/** What the settings table of the worker's database file holds for `prices`. */
function storedRow(): string | undefined {
  const db = new Database(path.join(server!.dataDir, 'agented.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], { value: string }>("SELECT value FROM settings WHERE name = 'prices'").get()?.value;
  } finally {
    db.close();
  }
}

const TABLE = { codex: { inputPerMTok: 1.25, outputPerMTok: 10 }, 'codex/gpt-4.1': { inputPerMTok: 2, outputPerMTok: 8 }, gemini: { inputPerMTok: 0, outputPerMTok: 0 } };

describe('the price table in /api/settings', () => {
  it('is empty by default, round-trips through PATCH into SQLite, is in use at once, and the change is audited', async () => {
    server = await startInProcess();
    const initial = (await call<SettingsView>('GET', '/api/settings')).body.settings.prices;
    expect(initial).toEqual({ value: {}, source: 'default', env: 'AGENTED_PRICES', editable: true, restartRequired: false });

    const patched = await call<SettingsView>('PATCH', '/api/settings', { prices: TABLE });
    expect(patched.status).toBe(200);
    expect(patched.body.settings.prices).toEqual({ value: TABLE, source: 'stored', env: 'AGENTED_PRICES', editable: true, restartRequired: false });
    expect(JSON.parse(storedRow()!)).toEqual(TABLE);
    expect((await call<SettingsView>('GET', '/api/settings')).body.settings.prices?.value).toEqual(TABLE);

    const audit = (await call<{ items: AuditEntry[] }>('GET', '/api/audit?limit=5')).body.items.find((entry) => entry.action === 'settings.updated');
    expect(audit?.detail).toEqual({ settings: { prices: TABLE } });
    expect(audit?.actor).toBe('key');

    // `{}` empties it: nothing is estimated any more.
    const emptied = await call<SettingsView>('PATCH', '/api/settings', { prices: {} });
    expect(emptied.body.settings.prices).toMatchObject({ value: {}, source: 'stored', restartRequired: false });
  });

  it('refuses a bad table with 400 naming the field, and stores nothing', async () => {
    server = await startInProcess();
    expect((await call<SettingsView>('PATCH', '/api/settings', { prices: TABLE })).status).toBe(200);
    const tooMany = Object.fromEntries(Array.from({ length: MAX_PRICES + 1 }, (_, index) => [`codex/model-${index}`, { inputPerMTok: 1, outputPerMTok: 1 }]));
    const cases: [unknown, string, RegExp][] = [
      [{ prices: { codex: { inputPerMTok: -1, outputPerMTok: 10 } } }, 'body.prices.codex.inputPerMTok', /0 or more/],
      [{ prices: { codex: { inputPerMTok: 1, outputPerMTok: 20_000 } } }, 'body.prices.codex.outputPerMTok', /at most 10000/],
      [{ prices: { codex: { inputPerMTok: '1.25', outputPerMTok: 10 } } }, 'body.prices.codex.inputPerMTok', /number/],
      [{ prices: { codex: { inputPerMTok: 1 } } }, 'body.prices.codex.outputPerMTok', /number/],
      [{ prices: { codex: { inputPerMTok: 1, outputPerMTok: 1, cachedPerMTok: 1 } } }, 'body.prices.codex', /cachedPerMTok/],
      [{ prices: { 'cursor/gpt-5': { inputPerMTok: 1, outputPerMTok: 1 } } }, 'body.prices.cursor/gpt-5', /backend \(claude, codex, gemini, opencode\)/],
      [{ prices: { 'codex/gpt 5': { inputPerMTok: 1, outputPerMTok: 1 } } }, 'body.prices.codex/gpt 5', /without spaces/],
      [{ prices: tooMany }, 'body.prices', new RegExp(`at most ${MAX_PRICES} prices`)],
      [{ prices: [] }, 'body.prices', /object/],
      [{ prices: '{"codex":{"inputPerMTok":1,"outputPerMTok":1}}' }, 'body.prices', /object/],
    ];
    for (const [body, field, message] of cases) {
      const refused = await call<Refusal>('PATCH', '/api/settings', body);
      expect(refused.status, JSON.stringify(body).slice(0, 120)).toBe(400);
      expect(refused.body.error.code).toBe('ERR_VALIDATION');
      const issue = refused.body.error.issues.find((candidate) => candidate.path === field);
      expect(issue?.message, JSON.stringify(refused.body.error.issues)).toMatch(message);
    }
    // JSON's 1e999 parses to Infinity: a price must be finite.
    const infinite = await call<Refusal>('PATCH', '/api/settings', undefined, '{"prices":{"codex":{"inputPerMTok":1e999,"outputPerMTok":1}}}');
    expect(infinite.status).toBe(400);
    expect(infinite.body.error.issues).toContainEqual({ path: 'body.prices.codex.inputPerMTok', message: 'must be a number of dollars (finite)' });
    // A good setting beside a bad table is not stored either: all or nothing.
    expect((await call<Refusal>('PATCH', '/api/settings', { logLevel: 'debug', prices: { codex: { inputPerMTok: -1, outputPerMTok: 1 } } })).status).toBe(400);

    const after = (await call<SettingsView>('GET', '/api/settings')).body.settings;
    expect(after.prices).toMatchObject({ value: TABLE, source: 'stored' });
    expect(after.logLevel?.source).toBe('default');
    expect(JSON.parse(storedRow()!)).toEqual(TABLE);
    const audited = (await call<{ items: AuditEntry[] }>('GET', '/api/audit?limit=50')).body.items.filter((entry) => entry.action === 'settings.updated');
    expect(audited).toHaveLength(1);
  });

  it('AGENTED_PRICES wins over a stored table, and GET says the environment set it', async () => {
    const fromEnvironment = { codex: { inputPerMTok: 3, outputPerMTok: 12 } };
    server = await startInProcess({ AGENTED_PRICES: JSON.stringify(fromEnvironment) });
    const patched = await call<SettingsView>('PATCH', '/api/settings', { prices: TABLE });
    expect(patched.status).toBe(200);
    expect(patched.body.settings.prices).toEqual({ value: fromEnvironment, source: 'environment', env: 'AGENTED_PRICES', editable: true, restartRequired: false });
    // Stored all the same, for when the variable is gone.
    expect(JSON.parse(storedRow()!)).toEqual(TABLE);
  });
});

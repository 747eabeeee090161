import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunnelView } from '../../common/tunnel.js';
import { request, type RawResponse, unusedPort } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { listFiles } from '../helpers/temp.js';

/*
 * ngrok cannot reach its servers from here. What runs: the settings, the
 * authtoken's storage (sealed in SQLite, as with AGENTED_API_KEY; the keychain
 * takes the same path through SecretStore), the refusal without an authtoken,
 * and the real @ngrok/ngrok library failing to connect — pointed by
 * AGENTED_NGROK_SERVER_ADDR (ngrok's server_addr) at a closed local port — with
 * its error surfaced in GET /api/tunnel. A working ngrok session is not
 * exercised (docs/tunnels.md).
 */

const AUTHTOKEN = '2abcDEFghiJKLmnoPQRstuVWXyz_0123456789abcdefGHIJ';

let server: InProcessServer;
let closedPort: number;

function api(method: string, urlPath: string, body?: unknown): Promise<RawResponse> {
  return request(server.url, {
    method,
    path: urlPath,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${server.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
}

beforeAll(async () => {
  // A port nothing listens on: ngrok, pointed there, fails at once instead of dialling its servers.
  closedPort = await unusedPort();
  // Debug level: ngrok's own log lines (if it writes any) would be written too.
  server = await startInProcess({ AGENTED_NGROK_SERVER_ADDR: `127.0.0.1:${closedPort}`, AGENTED_LOG_LEVEL: 'debug' });
});
afterAll(() => server.close());

describe('ngrok tunnel', () => {
  it('is refused without an authtoken, and nothing is stored', async () => {
    const response = await api('PUT', '/api/tunnel', { provider: 'ngrok' });
    expect(response.status, response.body).toBe(400);
    const { error } = response.json<{ error: { code: string; issues: { path: string; message: string }[] } }>();
    expect(error.code).toBe('ERR_VALIDATION');
    expect(error.issues[0]).toMatchObject({ path: 'body.authtoken' });
    expect(error.issues[0]!.message).toMatch(/dashboard\.ngrok\.com/);
    expect((await api('GET', '/api/tunnel')).json<TunnelView>()).toMatchObject({ provider: 'off', status: 'off', settings: { ngrokAuthtokenStored: false } });
  });

  it('refuses a domain that is not one', async () => {
    const response = await api('PUT', '/api/tunnel', { provider: 'ngrok', authtoken: AUTHTOKEN, domain: 'not a domain' });
    expect(response.status).toBe(400);
    expect((await api('GET', '/api/tunnel')).json<TunnelView>().settings.ngrokAuthtokenStored).toBe(false);
  });

  it('stores the authtoken sealed, never returns or logs it, and surfaces the connection failure', async () => {
    const response = await api('PUT', '/api/tunnel', { provider: 'ngrok', authtoken: AUTHTOKEN, domain: 'agented-test.ngrok-free.app' });
    expect(response.status, response.body).toBe(200);
    const view = response.json<TunnelView>();
    expect(view).toMatchObject({ provider: 'ngrok', status: 'error', publicUrl: null, webhookUrlTemplate: null, settings: { ngrokAuthtokenStored: true, ngrokDomain: 'agented-test.ngrok-free.app' } });
    expect(view.error).toMatch(/^ngrok: failed to connect session/);
    expect(view.notes.join('\n')).toMatch(/signatures verify/);
    expect(view.fixedByEnvironment).toEqual(['AGENTED_NGROK_SERVER_ADDR']);
    expect(response.body).not.toContain(AUTHTOKEN);

    // A second PUT needs no authtoken: the stored one is used.
    const again = await api('PUT', '/api/tunnel', { provider: 'ngrok' });
    expect(again.status, again.body).toBe(200);
    expect(again.json<TunnelView>()).toMatchObject({ status: 'error', settings: { ngrokAuthtokenStored: true } });

    for (const answer of [await api('GET', '/api/tunnel'), await api('GET', '/api/settings'), await api('GET', '/api/audit?limit=50')]) {
      expect(answer.status).toBe(200);
      expect(answer.body).not.toContain(AUTHTOKEN);
    }
    const audit = (await api('GET', '/api/audit?limit=5')).json<{ items: { action: string; detail: Record<string, unknown> }[] }>().items;
    expect(audit.find((entry) => entry.detail.ngrokAuthtoken === 'replaced')).toMatchObject({ action: 'settings.updated', detail: { tunnel: { tunnel: 'ngrok' } } });

    const logs = listFiles(server.logDir).map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    expect(logs).toMatch(/tunnel failed; trying again later/);
    expect(logs).not.toContain(AUTHTOKEN);

    // Sealed: in the database, but not readable there.
    const db = new Database(path.join(server.dataDir, 'agented.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT ciphertext FROM sealed_secrets WHERE name = ?').get('ngrok-authtoken') as { ciphertext: Buffer } | undefined;
      expect(row).toBeDefined();
      expect(row!.ciphertext.toString('latin1')).not.toContain(AUTHTOKEN);
    } finally {
      db.close();
    }
    for (const file of listFiles(server.dataDir)) expect(fs.readFileSync(file).includes(AUTHTOKEN), file).toBe(false);
  });

  it('switches off cleanly after a failed start', async () => {
    const response = await api('PUT', '/api/tunnel', { provider: 'off' });
    expect(response.json<TunnelView>()).toMatchObject({ provider: 'off', status: 'off', error: null, settings: { ngrokAuthtokenStored: true } });
  });
});

describe('ngrok chosen in the environment, without an authtoken', () => {
  let headless: InProcessServer;
  beforeAll(async () => {
    headless = await startInProcess({ AGENTED_TUNNEL: 'ngrok', AGENTED_NGROK_SERVER_ADDR: `127.0.0.1:${closedPort}` });
  });
  afterAll(() => headless.close());

  it('says what is missing, and does not retry until it is given', async () => {
    // The tunnel starts after the worker listens, without holding up its start.
    let view: TunnelView;
    for (const deadline = Date.now() + 5_000; ; ) {
      view = (await request(headless.url, { path: '/api/tunnel', headers: { authorization: `Bearer ${headless.key}` } })).json<TunnelView>();
      if (view.status === 'error' || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(view).toMatchObject({ provider: 'ngrok', status: 'error', settings: { ngrokAuthtokenStored: false }, fixedByEnvironment: ['AGENTED_TUNNEL', 'AGENTED_NGROK_SERVER_ADDR'] });
    expect(view.error).toMatch(/no ngrok authtoken is stored/);
    const logs = listFiles(headless.logDir).map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    expect(logs).toMatch(/tunnel cannot start until its settings change/);
    expect(logs).not.toMatch(/trying again later/);
  });
});

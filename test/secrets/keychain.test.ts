import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import { loadCredentials } from '../../main/secrets/credentials.js';
import { KeychainUnavailableError, type SecretStore } from '../../main/secrets/keychain.js';
import { request, unusedPort } from '../helpers/http.js';
import { inSecretService } from '../helpers/secret-service.js';
import { runCli, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { within } from '../helpers/time.js';

/** Everything a test started, ended in afterEach even when an assertion failed first. */
const cleanups: (() => void | Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh HOME (and so a fresh keyring); no AGENTED_API_KEY, so the keychain is used. */
function tempHome(): Record<string, string> {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  return { HOME: temp.dir, AGENTED_DATA_DIR: path.join(temp.dir, 'data'), AGENTED_LOG_DIR: path.join(temp.dir, 'logs') };
}

interface Finished {
  code: number | null;
  stdout: string[];
  stderr: string;
}

/** Runs a short CLI command in its own D-Bus session with a Secret Service, to the end. */
async function runInSession(args: string[], env: Record<string, string>, unlock: boolean): Promise<Finished> {
  const proc = runCli({ args, env, wrap: inSecretService({ unlock }) });
  cleanups.push(() => proc.killGroup('SIGKILL'));
  // 'close' comes after the last output line was read.
  const closed = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  const code = await proc.exited;
  await closed;
  return { code, stdout: proc.stdout, stderr: proc.stderr.join('\n') };
}

async function keyShow(env: Record<string, string>): Promise<string> {
  const result = await runInSession(['key', 'show'], env, true);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toHaveLength(1);
  return result.stdout[0]!;
}

function serveInSession(env: Record<string, string>, unlock: boolean): ServeProcess {
  const server = runCli({ env, wrap: inSecretService({ unlock }) });
  // dbus-run-session wraps the CLI: end the whole group.
  cleanups.push(() => server.killGroup('SIGKILL'));
  return server;
}

const ready = (url: string, key: string) => request(url, { path: '/health/ready', headers: { authorization: `Bearer ${key}` } });

describe('API key in a real Secret Service (gnome-keyring)', () => {
  it('is created on first start and is the same after a restart', async () => {
    const env = tempHome();
    const first = await keyShow(env);
    expect(first).toMatch(/^agt_[A-Za-z0-9_-]{43}$/);
    // A new D-Bus session and keyring daemon over the same HOME: a restart.
    expect(await keyShow(env)).toBe(first);
  });

  it('authenticates `agented serve`, and the same key still works after a restart', async () => {
    const env = tempHome();
    const key = await keyShow(env);

    for (const run of ['first start', 'restart']) {
      const server = serveInSession(env, true);
      const { url } = await server.ready;
      const response = await ready(url, key);
      expect(response.status, run).toBe(200);
      expect(response.json<HealthReady>().checks.keychain).toMatchObject({ ok: true, source: 'keychain' });
      expect((await ready(url, `${key}x`)).status, run).toBe(401);
      expect((await ready(url, 'agt_wrong-key-0123456789abcdefghijklmnopqrstuvw')).status, run).toBe(401);
      await server.killGroup('SIGKILL');
    }
  });

  it('a locked keychain stops `key show` and `serve` with the fix, and changes nothing', async () => {
    const env = tempHome();
    const key = await keyShow(env);

    const show = await runInSession(['key', 'show'], env, false);
    expect(show.code).not.toBe(0);
    expect(show.code).not.toBeNull();
    expect(show.stdout).toEqual([]);
    expect(show.stderr).toMatch(/keychain cannot be used/);
    expect(show.stderr).toMatch(/AGENTED_API_KEY/);
    expect(show.stderr).toMatch(/unlock/);

    const server = serveInSession(env, false);
    // The supervisor must give up on its own, not restart-loop on a fatal error.
    const code = await within(server.exited, 15_000, '`agented serve` exiting on a locked keychain');
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    const stderr = server.stderr.join('\n');
    expect(stderr).toMatch(/ERR_KEYCHAIN_UNAVAILABLE/);
    expect(stderr).toMatch(/keychain cannot be used/);
    expect(stderr).toMatch(/AGENTED_API_KEY/);
    expect(server.stdout.filter((line) => line.includes('"msg":"worker started"'))).toHaveLength(1);
    expect(server.stdout.some((line) => line.includes('"event":"ready"'))).toBe(false);

    expect(await keyShow(env)).toBe(key);
  });

  it('`key rotate` replaces the key, and refuses when AGENTED_API_KEY is set', async () => {
    const env = tempHome();
    const before = await keyShow(env);

    const rotated = await runInSession(['key', 'rotate'], env, true);
    expect(rotated.code, rotated.stderr).toBe(0);
    const after = rotated.stdout[0];
    expect(after).toMatch(/^agt_[A-Za-z0-9_-]{43}$/);
    expect(after).not.toBe(before);
    expect(await keyShow(env)).toBe(after);
    // The rotation is in the audit log, the key is not.
    const db = new Database(path.join(env.AGENTED_DATA_DIR!, 'agented.db'), { readonly: true });
    const audit = db.prepare("SELECT action, actor, detail FROM audit_log WHERE action = 'key.rotated'").all();
    db.close();
    expect(audit).toEqual([{ action: 'key.rotated', actor: 'cli', detail: '{}' }]);

    const refused = await runInSession(['key', 'rotate'], { ...env, AGENTED_API_KEY: 'environment-key-0123456789abcdef' }, true);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toEqual([]);
    expect(refused.stderr).toMatch(/AGENTED_API_KEY/);
    expect(refused.stderr).toMatch(/Nothing was rotated/);
    expect(await keyShow(env)).toBe(after);
  });
});

/**
 * Stands in for a platform keyring, not for our code: some Secret Service
 * setups answer "nothing stored" while the collection is locked, and then
 * lose or refuse what is written.
 */
class LockedKeyring implements SecretStore {
  readonly calls: string[] = [];
  constructor(private readonly writes: 'dropped' | 'refused') {}
  async get(name: string): Promise<string | null> {
    this.calls.push(`get ${name}`);
    return null;
  }
  async set(name: string): Promise<void> {
    this.calls.push(`set ${name}`);
    if (this.writes === 'refused') throw new Error('Couldn\'t access platform storage: the collection is locked');
  }
  async delete(name: string): Promise<boolean> {
    this.calls.push(`delete ${name}`);
    return false;
  }
}

describe('`key rotate` with a server running', () => {
  it('asks the server on the configured port to rotate: the old key is refused at once, the new one printed and accepted, the rotation audited once', async () => {
    const env = tempHome();
    const before = await keyShow(env);
    const port = await unusedPort();
    const busAddressFile = path.join(env.HOME!, 'bus-address');
    const server = runCli({ args: ['serve', '--port', String(port)], env, wrap: inSecretService({ unlock: true, busAddressFile }) });
    cleanups.push(() => server.killGroup('SIGKILL'));
    const { url } = await server.ready;
    expect((await ready(url, before)).status).toBe(200);

    // The same Secret Service as the server, as on a desktop: one per login session.
    const rotate = runCli({ args: ['key', 'rotate'], env: { ...env, AGENTED_PORT: String(port), DBUS_SESSION_BUS_ADDRESS: fs.readFileSync(busAddressFile, 'utf8') } });
    cleanups.push(() => rotate.killGroup('SIGKILL'));
    const closed = new Promise<void>((resolve) => rotate.child.once('close', () => resolve()));
    const code = await rotate.exited;
    await closed;
    expect(code, rotate.stderr.join('\n')).toBe(0);
    const after = rotate.stdout[0]!;
    expect(after).toMatch(/^agt_[A-Za-z0-9_-]{43}$/);
    expect(after).not.toBe(before);
    expect(rotate.stderr.join('\n')).toMatch(/rotated the key: it refuses the old one from now on/);

    // No restart: the running server already takes only the new key.
    expect((await ready(url, before)).status).toBe(401);
    expect((await ready(url, after)).status).toBe(200);
    const audit = await request(url, { path: '/api/audit', headers: { authorization: `Bearer ${after}` } });
    const rotations = audit.json<{ items: { action: string; actor: string }[] }>().items.filter((entry) => entry.action === 'key.rotated');
    expect(rotations).toEqual([expect.objectContaining({ action: 'key.rotated', actor: 'key' })]);
  });
});

describe('loadCredentials', () => {
  it.each(['dropped', 'refused'] as const)('rejects with KeychainUnavailableError when a keyring reads null and writes are %s', async (writes) => {
    const store = new LockedKeyring(writes);
    const loading = loadCredentials(store, undefined);
    await expect(loading).rejects.toBeInstanceOf(KeychainUnavailableError);
    await expect(loading).rejects.toMatchObject({ code: 'ERR_KEYCHAIN_UNAVAILABLE', message: expect.stringMatching(/AGENTED_API_KEY/) });
    // Nothing was deleted, and it gave up at the first secret.
    expect(store.calls).not.toContain('delete api-key');
    expect(store.calls.every((call) => call.endsWith('api-key'))).toBe(true);
  });

  it('takes the key from the environment without touching the store', async () => {
    const store = new LockedKeyring('refused');
    const key = 'environment-key-0123456789abcdef';
    const credentials = await loadCredentials(store, key);
    expect(credentials.source).toBe('environment');
    expect(credentials.apiKey).toBe(key);
    expect(credentials.sessionSecret).toHaveLength(32);
    // Derived, so the same key gives the same session secret after a restart.
    expect((await loadCredentials(store, key)).sessionSecret.equals(credentials.sessionSecret)).toBe(true);
    expect(store.calls).toEqual([]);
  });
});

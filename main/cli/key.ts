import net from 'node:net';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { resolveConfig } from '../config/config.js';
import { loadCredentials, rotateApiKey } from '../secrets/credentials.js';
import { OsKeychain, type SecretStore } from '../secrets/keychain.js';
import { AuditRepository } from '../storage/audit-repository.js';
import { DatabaseTooNewError, openDatabase } from '../storage/database.js';
import { EXIT_FAILURE } from './exit-codes.js';

/** `agented key show`: the key in effect (creating it in the keychain on first use). */
export async function keyShow(store: SecretStore = new OsKeychain()): Promise<number> {
  const config = resolveConfig({ env: process.env });
  const credentials = await loadCredentials(store, config.apiKey);
  if (credentials.source === 'environment') process.stderr.write('(from AGENTED_API_KEY; the keychain is not used)\n');
  process.stdout.write(`${credentials.apiKey}\n`);
  return 0;
}

/**
 * `agented key rotate`: a new key in the keychain. A server running on the
 * configured host and port is asked to rotate it itself (`POST
 * /api/key/rotate` with the current key), so it refuses the old key at once
 * and audits the rotation; with no server there (or one that does not take
 * this key) the key is replaced here, and a server elsewhere applies it when
 * it restarts.
 */
export async function keyRotate(store: SecretStore = new OsKeychain()): Promise<number> {
  const config = resolveConfig({ env: process.env });
  if (config.apiKey !== undefined) {
    process.stderr.write('agented: the API key comes from AGENTED_API_KEY; change it there. Nothing was rotated.\n');
    return 2;
  }
  const current = await loadCredentials(store, undefined);
  const server = await rotateOnRunningServer(config.host, config.port, current.apiKey);
  if (server.rotated) {
    const { apiKey } = await loadCredentials(store, undefined);
    process.stdout.write(`${apiKey}\n`);
    process.stderr.write(`The server at ${server.url} rotated the key: it refuses the old one from now on.\n`);
    return 0;
  }
  if (server.failure) {
    process.stderr.write(`agented: the server at ${server.url} could not rotate the key (${server.failure}). Nothing was rotated.\n`);
    return 1;
  }
  // Opened before the key changes: a data folder that cannot take the audit record fails the command with nothing rotated.
  let db: Database.Database;
  try {
    db = openDatabase({ file: path.join(config.dataDir, 'agented.db') });
  } catch (error) {
    if (error instanceof DatabaseTooNewError || (error as { code?: unknown }).code === undefined) throw error;
    process.stderr.write(`agented: AGENTED_DATA_DIR=${JSON.stringify(config.dataDir)} cannot be used: ${(error as Error).message}. Nothing was rotated.\n`);
    return EXIT_FAILURE;
  }
  let apiKey: string;
  try {
    apiKey = await rotateApiKey(store);
    // The rotation goes to the audit log beside the API's own admin actions (the key itself never does).
    new AuditRepository(db).record({ action: 'key.rotated', actor: 'cli', requestId: null, targetId: null });
  } finally {
    db.close();
  }
  process.stdout.write(`${apiKey}\n`);
  const elsewhere = server.answered ? ` The server at ${server.url} did not take the current key, so it was not asked.` : '';
  process.stderr.write(`The key was replaced in the keychain.${elsewhere} Restart running servers (agented serve, or Stop/Start in the tray) to apply it.\n`);
  return 0;
}

interface ServerRotation {
  url: string;
  /** The server rotated the key (and audited it). */
  rotated: boolean;
  /** A server answered but does not use this key (another keychain, or AGENTED_API_KEY): not ours to rotate. */
  answered: boolean;
  /** The server took the key but could not rotate it (a locked keychain): nothing changed anywhere. */
  failure: string | null;
}

/** Asks the server on host:port to rotate its key; no server there (or no answer within 3 s) is not a failure. */
async function rotateOnRunningServer(host: string, port: number, apiKey: string): Promise<ServerRotation> {
  const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const authority = net.isIPv6(target) ? `[${target}]:${port}` : `${target}:${port}`;
  const url = `http://${authority}`;
  const none: ServerRotation = { url, rotated: false, answered: false, failure: null };
  if (port === 0) return none;
  let response: Response;
  try {
    response = await fetch(`${url}/api/key/rotate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: '{}',
      signal: AbortSignal.timeout(3_000),
    });
  } catch {
    return none;
  }
  const text = await response.text().catch(() => '');
  if (response.status === 200) return { ...none, rotated: true };
  // 409: that server's key comes from its environment, not from this keychain.
  if (response.status === 401 || response.status === 409) return { ...none, answered: true };
  if (response.status === 503) return { ...none, failure: errorMessage(text) ?? 'the keychain cannot be used' };
  // Not an Agented server that knows the route: rotate here.
  return none;
}

function errorMessage(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: { message?: unknown } };
    return typeof parsed.error?.message === 'string' ? parsed.error.message : undefined;
  } catch {
    return undefined;
  }
}

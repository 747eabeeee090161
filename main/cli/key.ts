import path from 'node:path';
import { resolveConfig } from '../config/config.js';
import { loadCredentials, rotateApiKey } from '../secrets/credentials.js';
import { OsKeychain, type SecretStore } from '../secrets/keychain.js';
import { AuditRepository } from '../storage/audit-repository.js';
import { openDatabase } from '../storage/database.js';

/** `agented key show`: the key in effect (creating it in the keychain on first use). */
export async function keyShow(store: SecretStore = new OsKeychain()): Promise<number> {
  const config = resolveConfig({ env: process.env });
  const credentials = await loadCredentials(store, config.apiKey);
  if (credentials.source === 'environment') process.stderr.write('(from AGENTED_API_KEY; the keychain is not used)\n');
  process.stdout.write(`${credentials.apiKey}\n`);
  return 0;
}

/** `agented key rotate`: a new key in the keychain. Old keys stop working when the server restarts. */
export async function keyRotate(store: SecretStore = new OsKeychain()): Promise<number> {
  const config = resolveConfig({ env: process.env });
  if (config.apiKey !== undefined) {
    process.stderr.write('agented: the API key comes from AGENTED_API_KEY; change it there. Nothing was rotated.\n');
    return 2;
  }
  const apiKey = await rotateApiKey(store);
  recordRotation(config.dataDir);
  process.stdout.write(`${apiKey}\n`);
  process.stderr.write('The key was replaced in the keychain. Restart running servers (agented serve, or Stop/Start in the tray) to apply it.\n');
  return 0;
}

/** The rotation goes to the audit log beside the API's own admin actions (the key itself never does). */
function recordRotation(dataDir: string): void {
  const db = openDatabase({ file: path.join(dataDir, 'agented.db') });
  try {
    new AuditRepository(db).record({ action: 'key.rotated', actor: 'cli', requestId: null, targetId: null });
  } finally {
    db.close();
  }
}

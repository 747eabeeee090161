import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keychainHome, keyShowIn, type KeychainHome } from '../helpers/keychain-serve.js';
import { inSecretService } from '../helpers/secret-service.js';
import { runCli } from '../helpers/serve.js';
import { within } from '../helpers/time.js';

/* `agented key` against a real Secret Service (gnome-keyring in a private D-Bus session), with no server running. */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const home = (): KeychainHome => keychainHome(cleanups);

async function key(args: string[], env: Record<string, string>) {
  const run = runCli({ args: ['key', ...args], env, wrap: inSecretService({ unlock: true }) });
  cleanups.push(() => run.killGroup('SIGKILL'));
  const code = await within(run.exited, 30_000, `agented key ${args.join(' ')} exiting`);
  // dbus-daemon may complain about its fd limit; only agented's lines count.
  return { code, stdout: run.stdout, stderr: run.stderr.filter((line) => !line.startsWith('dbus-daemon')) };
}

describe('agented key rotate without a server', () => {
  it('a data folder that cannot hold the audit record: one line, exit 1, and the key is not rotated', async () => {
    const keychain = home();
    const before = await keyShowIn(keychain);
    // A file where the data folder should be.
    const dataDir = keychain.env.AGENTED_DATA_DIR!;
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    fs.writeFileSync(dataDir, '');

    const { code, stdout, stderr } = await key(['rotate'], keychain.env);

    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(new RegExp(`^agented: AGENTED_DATA_DIR=${JSON.stringify(dataDir)} cannot be used: .*EEXIST.*Nothing was rotated\\.$`));
    expect(code).toBe(1);
    expect(stdout).toEqual([]);
    expect(await keyShowIn(keychain)).toBe(before);
  }, 60_000);
});

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { inSecretService } from './secret-service.js';
import { runCli, type ServeProcess } from './serve.js';
import { listFiles, makeTempDir } from './temp.js';
import { untilTrue } from './time.js';

/**
 * `agented` with its key in a real Secret Service (gnome-keyring in a private
 * D-Bus session, see secret-service.ts). Each keychain is a fresh HOME; a
 * command run later with the same HOME sees the same secrets.
 */
export interface KeychainHome {
  env: Record<string, string>;
  logDir: string;
  /** The running `serve`'s bus address is written here (see lockKeyring). */
  busAddressFile: string;
  remove(): void;
}

export function keychainHome(cleanups?: (() => unknown)[]): KeychainHome {
  const temp = makeTempDir('agented-keychain-');
  // Removed with the test's other cleanups, when it keeps a list of them.
  cleanups?.push(temp.remove);
  const logDir = path.join(temp.dir, 'logs');
  return {
    // No AGENTED_API_KEY: the keychain is used.
    env: { HOME: temp.dir, AGENTED_DATA_DIR: path.join(temp.dir, 'data'), AGENTED_LOG_DIR: logDir },
    logDir,
    busAddressFile: path.join(temp.dir, 'bus-address'),
    remove: temp.remove,
  };
}

/** `agented key show` in its own session over the same keyring: the key the keychain holds. */
export async function keyShowIn(home: KeychainHome): Promise<string> {
  const proc = runCli({ args: ['key', 'show'], env: home.env, wrap: inSecretService({ unlock: true }) });
  const closed = new Promise<void>((resolve) => proc.child.once('close', () => resolve()));
  const code = await proc.exited;
  await closed;
  expect(code, proc.stderr.join('\n')).toBe(0);
  expect(proc.stdout).toHaveLength(1);
  return proc.stdout[0]!;
}

/** `agented serve --port 0` in a session with an unlocked keyring; end it with killGroup. */
export function serveWithKeychain(home: KeychainHome): ServeProcess {
  return runCli({ env: home.env, wrap: inSecretService({ unlock: true, busAddressFile: home.busAddressFile }) });
}

/**
 * Locks the running serve's keyring through the Secret Service API itself
 * (org.freedesktop.Secret.Service.Lock): what a desktop does when the
 * screen locks or the user locks the keyring.
 */
export async function lockKeyring(home: KeychainHome): Promise<void> {
  await untilTrue(() => fs.existsSync(home.busAddressFile) && fs.readFileSync(home.busAddressFile, 'utf8').length > 0, 'the D-Bus address of the keyring', 10_000);
  const address = fs.readFileSync(home.busAddressFile, 'utf8');
  await promisify(execFile)(
    'gdbus',
    ['call', '--session', '--dest', 'org.freedesktop.secrets', '--object-path', '/org/freedesktop/secrets', '--method', 'org.freedesktop.Secret.Service.Lock', "['/org/freedesktop/secrets/collection/login']"],
    { env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address } },
  );
}

/** Every line of every file in the log folder. */
export function logFolderText(logDir: string): string {
  return listFiles(logDir)
    .map((file) => fs.readFileSync(file, 'utf8'))
    .join('\n');
}

import crypto from 'node:crypto';
import { KeychainUnavailableError, type SecretStore } from './keychain.js';

export const API_KEY_NAME = 'api-key';
export const SESSION_SECRET_NAME = 'session-secret';

export interface Credentials {
  apiKey: string;
  /** Signs session cookies. */
  sessionSecret: Buffer;
  source: 'keychain' | 'environment';
}

export function generateApiKey(): string {
  return `agt_${crypto.randomBytes(32).toString('base64url')}`;
}

/**
 * The API key and the session secret. With AGENTED_API_KEY set the keychain is
 * not touched at all and the session secret is derived from the key (HKDF), so
 * a headless machine without a keychain writes no secret to disk. Otherwise
 * both come from the keychain and are created on first start.
 */
export async function loadCredentials(store: SecretStore, apiKeyFromEnv: string | undefined): Promise<Credentials> {
  if (apiKeyFromEnv !== undefined) {
    return { apiKey: apiKeyFromEnv, sessionSecret: deriveSessionSecret(apiKeyFromEnv), source: 'environment' };
  }
  const apiKey = await getOrCreate(store, API_KEY_NAME, generateApiKey);
  const sessionSecret = await getOrCreate(store, SESSION_SECRET_NAME, () => crypto.randomBytes(32).toString('base64url'));
  return { apiKey, sessionSecret: Buffer.from(sessionSecret, 'base64url'), source: 'keychain' };
}

/** Replaces the API key in the keychain and returns the new one. */
export async function rotateApiKey(store: SecretStore): Promise<string> {
  const apiKey = generateApiKey();
  await writeAndVerify(store, API_KEY_NAME, apiKey);
  return apiKey;
}

/**
 * The key that signs session cookies: the session secret bound to the API
 * key. A new API key (rotated in the worker, or by `agented key rotate` and a
 * restart) therefore ends every browser session without a second keychain
 * entry to keep in step; the session secret keeps a cookie unforgeable by
 * someone who only ever held the key.
 */
export function cookieSigningKey(sessionSecret: Buffer, apiKey: string): Buffer {
  return crypto.createHmac('sha256', sessionSecret).update(`session-cookie-v2\0${apiKey}`).digest();
}

function deriveSessionSecret(apiKey: string): Buffer {
  return Buffer.from(crypto.hkdfSync('sha256', apiKey, 'agented', 'session-cookie-v1', 32));
}

async function getOrCreate(store: SecretStore, name: string, generate: () => string): Promise<string> {
  const existing = await guarded(`reading "${name}"`, () => store.get(name));
  if (existing !== null) return existing;
  // Some Secret Service setups answer "nothing stored" while the collection is
  // locked or missing. Write, then read back: only a round trip proves the
  // store works, so a locked keychain never silently rotates the key.
  const created = generate();
  await writeAndVerify(store, name, created);
  return created;
}

async function writeAndVerify(store: SecretStore, name: string, value: string): Promise<void> {
  await guarded(`writing "${name}"`, () => store.set(name, value));
  const readBack = await guarded(`reading "${name}" back`, () => store.get(name));
  if (readBack !== value) {
    throw new KeychainUnavailableError(`"${name}" was written but could not be read back (the keychain is probably locked)`);
  }
}

/**
 * Any failure of the store means the keychain cannot be used. Callers rely on
 * the error type: the worker reports it as fatal (no restart loop) and the
 * CLI prints the fix, whichever SecretStore raised it.
 */
async function guarded<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof KeychainUnavailableError) throw error;
    throw new KeychainUnavailableError(`${what} failed (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  }
}

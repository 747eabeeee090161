// @vitest-environment happy-dom
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { keychainHome, keyShowIn, lockKeyring, serveWithKeychain, type KeychainHome } from '../helpers/keychain-serve.js';
import type { ServeProcess } from '../helpers/serve.js';
import { mountApp, type MountedApp } from './mount-app.js';

/**
 * The Settings page's key rotation against `agented serve` with its key in a
 * real Secret Service (gnome-keyring): the confirmation says what breaks, its
 * button rotates through the API, and the page then points to
 * `agented key show` (the new key itself never reaches it).
 */
let keychain: KeychainHome;
let server: ServeProcess;
let url: string;
let key: string;
let app: MountedApp | undefined;

beforeAll(async () => {
  keychain = keychainHome();
  key = await keyShowIn(keychain);
  server = serveWithKeychain(keychain);
  ({ url } = await server.ready);
}, 30_000);
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(async () => {
  await server?.killGroup('SIGKILL');
  keychain?.remove();
});

const RotateDialog = 'dialog[aria-label="Rotate the API key?"]';
const status = (apiKey: string) => request(url, { path: '/health/ready', headers: { authorization: `Bearer ${apiKey}` } });

async function openSettings(apiKey: string): Promise<MountedApp> {
  app = await mountApp({ url, key: apiKey }, '/settings');
  await app.until(() => app!.wrapper.find('[data-testid="rotate-key"]').exists());
  return app;
}

describe('Settings: rotate the API key', () => {
  it('confirm rotates through the API, says to read the new key with agented key show, and the old key is refused', async () => {
    const page = await openSettings(key);
    await page.wrapper.get('[data-testid="rotate-key"]').trigger('click');
    const dialog = page.wrapper.get(RotateDialog).text();
    expect(dialog).toContain('stops working at once');
    expect(dialog).toContain('401');
    expect(dialog).toContain('this browser stays signed in; every other browser is signed out');
    expect(dialog).toContain('webhooks are not affected');

    await page.wrapper.get(`${RotateDialog} [data-testid="confirm"]`).trigger('click');
    await page.until(() => page.wrapper.find('[data-testid="rotate-done"]').exists());
    const done = page.wrapper.get('[data-testid="rotate-done"]').text();
    expect(done).toMatch(/^Rotated \(.+\)\. Read the new key with/);
    expect(done).toContain('agented key show');

    expect((await status(key)).status).toBe(401);
    const newKey = await keyShowIn(keychain);
    expect(newKey).not.toBe(key);
    expect((await status(newKey)).status).toBe(200);
    expect(page.wrapper.html()).not.toContain(newKey);
    key = newKey;
  });

  it('shows what happened when the rotation fails (a locked keyring), and the key stays', async () => {
    await lockKeyring(keychain);
    const page = await openSettings(key);
    await page.wrapper.get('[data-testid="rotate-key"]').trigger('click');
    await page.wrapper.get(`${RotateDialog} [data-testid="confirm"]`).trigger('click');
    await page.until(() => page.wrapper.find('[data-testid="rotate-failed"]').exists());
    const failed = page.wrapper.get('[data-testid="rotate-failed"]').text();
    expect(failed).toContain('The key was not rotated');
    expect(failed).toContain('keychain cannot be used');
    expect(page.wrapper.find('[data-testid="rotate-done"]').exists()).toBe(false);
    expect((await status(key)).status).not.toBe(401);
  });
});

describe('Settings: a key from AGENTED_API_KEY', () => {
  it('explains to change the variable and offers no rotation', async () => {
    const worker = await startInProcess();
    try {
      app = await mountApp(worker, '/settings');
      await app.until(() => app!.wrapper.find('[data-testid="api-key-panel"]').exists());
      const panel = app.wrapper.get('[data-testid="api-key-panel"]').text();
      expect(panel).toContain('AGENTED_API_KEY');
      expect(panel).toContain('set a new value there and restart Agented');
      expect(app.wrapper.find('[data-testid="rotate-key"]').exists()).toBe(false);
      await app.close();
      app = undefined;
    } finally {
      await worker.close();
    }
  });
});

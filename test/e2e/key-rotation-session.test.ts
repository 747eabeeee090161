import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { keychainHome, keyShowIn, serveWithKeychain, type KeychainHome } from '../helpers/keychain-serve.js';
import type { ReadyLine, ServeProcess } from '../helpers/serve.js';

/**
 * The Settings page's key rotation in Chromium, signed in with a cookie: the
 * rotation ends every session signed with the old key, but its answer brings
 * this browser a fresh cookie, so the page goes on working; another browser
 * is sent to the login page.
 */
let keychain: KeychainHome;
let server: ServeProcess;
let ready: ReadyLine;
let key: string;

beforeAll(async () => {
  keychain = keychainHome();
  key = await keyShowIn(keychain);
  server = serveWithKeychain(keychain);
  ready = await server.ready;
}, 30_000);
afterAll(async () => {
  await server?.killGroup('SIGKILL');
  keychain?.remove();
});

describe('end to end: rotating the key from the Settings page', () => {
  it('keeps this browser signed in with a new cookie and signs the other browser out', async () => {
    const browser = await launchBrowser();
    const other = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(ready.loginUrl);
      // The link works once: the other browser signs in with the pasted key.
      const otherPage = await other.context.newPage();
      await otherPage.goto(`${ready.url}/login`);
      await otherPage.getByTestId('login-secret').fill(key);
      await otherPage.getByTestId('login-submit').click();
      await otherPage.getByTestId('checklist').waitFor();
      const [before] = await browser.context.cookies(ready.url);

      await page.goto(`${ready.url}/settings`);
      await page.getByTestId('rotate-key').click();
      await page.getByTestId('confirm').click();
      await page.getByTestId('rotate-done').waitFor();
      const [after] = await browser.context.cookies(ready.url);
      expect(after?.value).toMatch(/^v2\./);
      expect(after?.value).not.toBe(before?.value);

      // This browser: the next pages still load their data.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard', exact: true }).click();
      await page.getByTestId('checklist').waitFor();
      expect(new URL(page.url()).pathname).toBe('/');

      // The other browser's next call meets a 401, which sends it to the login page.
      await otherPage.reload();
      await otherPage.waitForURL((url) => url.pathname === '/login');
    } finally {
      await other.close();
      await browser.close();
    }
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVersion } from '../../main/version.js';
import { artifactPath, launchBrowser } from '../helpers/browser.js';
import { runCli, type ReadyLine, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

let cli: ServeProcess;
let ready: ReadyLine;
const temp = makeTempDir();

beforeAll(async () => {
  cli = runCli({
    env: { HOME: temp.dir, AGENTED_API_KEY: 'e2e-test-key-0123456789abcdefghij', AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: `${temp.dir}/logs` },
  });
  ready = await cli.ready;
});
afterAll(async () => {
  expect(await cli.stop('SIGINT')).toBe(0);
  temp.remove();
});

describe('end to end: agented serve + Debian Chromium', () => {
  it('the one-time login URL opens the UI, the cookie survives a reload, and the token fails a second time', async () => {
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.loginUrl.startsWith(`${ready.url}/auth/login?token=`)).toBe(true);

    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') consoleErrors.push(message.text());
      });

      await page.goto(ready.loginUrl);
      expect(new URL(page.url()).pathname).toBe('/');
      await expect.poll(() => page.getByTestId('version').textContent(), { timeout: 10_000 }).toContain(readVersion());
      await page.screenshot({ path: artifactPath('foundation-placeholder.png') });

      // HttpOnly: the page's own scripts cannot read the session.
      expect(await page.evaluate('document.cookie')).toBe('');
      const [cookie] = await browser.context.cookies(ready.url);
      expect(cookie).toMatchObject({ name: `agented_session_${ready.port}`, httpOnly: true, sameSite: 'Strict' });

      await page.reload();
      await expect.poll(() => page.getByTestId('version').textContent(), { timeout: 10_000 }).toContain(readVersion());
      expect(consoleErrors).toEqual([]);

      // A fresh browser (no cookie) cannot reuse the link.
      const other = await launchBrowser();
      try {
        const stranger = await other.context.newPage();
        const response = await stranger.goto(ready.loginUrl);
        expect(response?.status()).toBe(401);
        await expect.poll(() => stranger.locator('h1').textContent()).toContain('Sign in to Agented');
        const home = await stranger.goto(ready.url);
        expect(home?.status()).toBe(401);
        await stranger.screenshot({ path: artifactPath('foundation-login-required.png') });
      } finally {
        await other.close();
      }
    } finally {
      await browser.close();
    }
  });
});

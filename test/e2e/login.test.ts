import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readVersion } from '../../main/version.js';
import { artifactPath, launchBrowser, trackApiRequests } from '../helpers/browser.js';
import { runCli, type ReadyLine, type ServeProcess } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

const API_KEY = 'e2e-test-key-0123456789abcdefghij';
let cli: ServeProcess;
let ready: ReadyLine;
const temp = makeTempDir();

beforeAll(async () => {
  cli = runCli({
    env: { HOME: temp.dir, AGENTED_API_KEY: API_KEY, AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: `${temp.dir}/logs` },
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

      // A fresh browser (no cookie) cannot reuse the link; the server's page points to the app's sign-in page.
      const other = await launchBrowser();
      try {
        const stranger = await other.context.newPage();
        const response = await stranger.goto(ready.loginUrl);
        expect(response?.status()).toBe(401);
        await expect.poll(() => stranger.locator('h1').textContent()).toContain('Sign in to Agented');
        await stranger.getByRole('link', { name: 'sign in with the API key' }).click();
        await stranger.getByTestId('login-secret').waitFor();
        expect(new URL(stranger.url()).pathname).toBe('/login');
        await stranger.screenshot({ path: artifactPath('foundation-login-required.png') });
      } finally {
        await other.close();
      }
    } finally {
      await browser.close();
    }
  });

  it('a cold browser opening the app gets the app\'s login page, pastes the key, and lands where it was going', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const problems = watchConsole(page);

      // The shell loads without a session; the app finds none and shows its own login page.
      const response = await page.goto(`${ready.url}/settings`);
      expect(response?.status()).toBe(200);
      await page.getByTestId('login-secret').waitFor();
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(await page.getByTestId('session-expired').count()).toBe(0);
      await page.screenshot({ path: artifactPath('login-cold.png') });

      await page.getByTestId('login-secret').fill(API_KEY);
      await page.getByTestId('login-submit').click();
      await page.waitForURL((url) => url.pathname === '/settings');
      await expect.poll(() => page.getByTestId('settings-version').textContent(), { timeout: 10_000 }).toContain(readVersion());
      const [cookie] = await browser.context.cookies(ready.url);
      expect(cookie).toMatchObject({ name: `agented_session_${ready.port}`, httpOnly: true, sameSite: 'Strict' });

      // The dashboard, with its data: the API answers the new session.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard', exact: true }).click();
      await page.getByTestId('checklist').waitFor();
      await expect.poll(() => page.getByTestId('version').textContent(), { timeout: 10_000 }).toContain(readVersion());
      // The only errors: the 401 of the session check before signing in. No CSP violation, no script error.
      expect(problems.filter((problem) => !problem.includes('401 (Unauthorized)'))).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('when the session cookie is gone the page says the session expired, when opened afresh too, and signing in returns to the page', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const problems = watchConsole(page);
      const requests = trackApiRequests(page);
      await page.goto(`${ready.url}/login`);
      await page.getByTestId('login-secret').fill(API_KEY);
      await page.getByTestId('login-submit').click();
      await page.getByTestId('checklist').waitFor();
      await requests.settled();

      // The cookie ends (expiry and clearing look the same to the page: the next call gets a 401).
      // The person goes to the triggers; whichever call meets the 401 first — that click's, or one the
      // dashboard makes on its own (Chromium may still hold one in its per-host queue) — the page says the
      // session expired and remembers where the person was or was going.
      await browser.context.clearCookies();
      const triggersLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Triggers', exact: true });
      await triggersLink.click({ timeout: 5_000 }).catch((error: unknown) => {
        if (new URL(page.url()).pathname !== '/login') throw error;
      });
      await expect.poll(() => page.getByTestId('session-expired').textContent(), { timeout: 10_000 }).toContain('session has expired');
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(['/', '/triggers']).toContain(new URL(page.url()).searchParams.get('next'));
      await page.screenshot({ path: artifactPath('login-session-expired.png') });

      // Opened afresh (the laptop opened the next morning, the browser dropped the expired cookie): the shell loads, and still says why.
      const reopened = await page.goto(`${ready.url}/executions`);
      expect(reopened?.status()).toBe(200);
      await expect.poll(() => page.getByTestId('session-expired').textContent(), { timeout: 10_000 }).toContain('session has expired');
      expect(new URL(page.url()).searchParams.get('next')).toBe('/executions');

      await page.getByTestId('login-secret').fill(API_KEY);
      await page.getByTestId('login-submit').click();
      await page.waitForURL((url) => url.pathname === '/executions');
      await page.locator('h1', { hasText: 'Executions' }).waitFor();
      expect(problems.filter((problem) => !problem.includes('401 (Unauthorized)'))).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

/** Console errors and uncaught exceptions of a page (a CSP violation is reported as a console error). */
function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return problems;
}

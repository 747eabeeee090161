import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.js';
import { serveForFile } from '../helpers/serve.js';

/**
 * What the pages show and announce where only a real browser can tell:
 * a select's shown option (Chromium resets a select whose options change),
 * the cookies and storage that tabs share, and the accessibility tree.
 * Debian's Chromium against `agented serve` with the built renderer.
 */
const API_KEY = 'renderer-chromium-key-0123456789abcdefghij';
const server = serveForFile(API_KEY);

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.ready.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

const createTrigger = async (name: string) => (await api<{ id: string }>('POST', '/api/triggers', { name, kind: 'manual', promptTemplate: 'hello' })).id;

/** Signs the browser in with the API key on the login page. */
async function signIn(page: Page, path = '/'): Promise<void> {
  await page.goto(`${server.ready.url}/login?next=${encodeURIComponent(path)}`);
  await page.getByTestId('login-secret').fill(API_KEY);
  await page.getByTestId('login-submit').click();
  await page.waitForURL((url) => url.pathname === path);
}

/** The text of the option the trigger filter shows. */
const shownTriggerFilter = (page: Page) => page.evaluate<string>(`document.querySelector('[data-testid="filter-trigger"]').selectedOptions[0]?.textContent?.trim() ?? ''`);

describe('the renderer in Chromium', () => {
  it('the executions filter names the trigger it filters by, also one deleted since', async () => {
    const kept = await createTrigger('Kept trigger');
    const gone = await createTrigger('Deleted trigger');
    await api('DELETE', `/api/triggers/${gone}`);
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/executions');

      await page.goto(`${server.ready.url}/executions?trigger=${kept}`);
      await page.getByTestId('filter-trigger').locator('option', { hasText: 'Kept trigger' }).waitFor({ state: 'attached' });
      await expect.poll(() => shownTriggerFilter(page)).toBe('Kept trigger');

      await page.goto(`${server.ready.url}/executions?trigger=${gone}`);
      await page.getByTestId('filter-trigger').locator('option', { hasText: 'Kept trigger' }).waitFor({ state: 'attached' });
      await expect.poll(() => shownTriggerFilter(page)).toBe(`deleted trigger ${gone}`);
      expect(await page.getByTestId('filter-trigger').inputValue()).toBe(gone);
    } finally {
      await browser.close();
    }
  });

  it('signing out in another tab: this tab shows the login page without saying the session expired', async () => {
    const browser = await launchBrowser();
    try {
      const first = await browser.context.newPage();
      await signIn(first, '/triggers');
      await first.locator('h1', { hasText: 'Triggers' }).waitFor();
      const second = await browser.context.newPage();
      await second.goto(`${server.ready.url}/settings`);
      await second.getByRole('button', { name: 'Sign out' }).click();
      await second.waitForURL((url) => url.pathname === '/login');

      // The first tab's next call (here: following a link) meets the 401.
      await first.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Executions', exact: true }).click();
      await first.waitForURL((url) => url.pathname === '/login');
      await first.getByTestId('login-secret').waitFor();
      expect(await first.getByTestId('session-expired').count()).toBe(0);
      expect(new URL(first.url()).searchParams.get('expired')).toBeNull();
    } finally {
      await browser.close();
    }
  });

  it('the enable switch on the trigger page is announced as a switch with a name that does not change with its state', async () => {
    const id = await createTrigger('Announced trigger');
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, `/triggers/${id}`);
      const pageSwitch = page.getByRole('switch', { name: 'Announced trigger enabled', exact: true });
      await pageSwitch.waitFor({ timeout: 10_000 });
      expect(await pageSwitch.isChecked()).toBe(true);
      await pageSwitch.press('Space');
      await expect.poll(async () => (await api<{ enabled: boolean }>('GET', `/api/triggers/${id}`)).enabled).toBe(false);
      await expect.poll(() => page.getByRole('switch', { name: 'Announced trigger enabled', exact: true }).isChecked()).toBe(false);
      // The list announces the same switch by the same name.
      await page.goto(`${server.ready.url}/triggers`);
      await page.getByRole('switch', { name: 'Announced trigger enabled', exact: true }).waitFor();
    } finally {
      await browser.close();
    }
  });
  it('a budget limit typed as a number the browser cannot read is refused under its field, and the stored limit stays', async () => {
    const budget = await api<{ id: string }>('POST', '/api/budgets', { scope: 'global', period: 'month', limitUsd: 10, limitTokens: 1_000_000, hard: true });
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await signIn(page, '/budgets');
      await page.getByTestId('edit-budget').click();
      const usd = page.getByTestId('budget-limit-usd');
      await usd.clear();
      // Typed as a user types (fill() refuses such text): the browser then reports the field empty, which the form reads as "no limit".
      await usd.pressSequentially('1e');
      await page.getByTestId('budget-save').click();
      await expect.poll(() => page.getByTestId('budget-error-limit-usd').textContent()).toContain('not a number');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('budget-limit-usd');
      const { items } = await api<{ items: { id: string; limitUsd: number | null; limitTokens: number | null }[] }>('GET', '/api/budgets');
      expect(items.find((item) => item.id === budget.id)).toMatchObject({ limitUsd: 10, limitTokens: 1_000_000 });
    } finally {
      await browser.close();
    }
  });
});

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { artifactPath, launchBrowser } from '../helpers/browser.js';
import { serveForFile } from '../helpers/serve.js';

/**
 * Keyboard use and the colour scheme, in Debian's Chromium against `agented
 * serve` (the built renderer): what a keyboard user sees is computed style,
 * which only a real browser computes (happy-dom has no layout or cascade of
 * :focus-visible).
 */
const API_KEY = 'e2e-keyboard-key-0123456789abcdefghij';
const server = serveForFile(API_KEY);

interface Focused {
  text: string;
  tag: string;
  focusVisible: boolean;
  outlineStyle: string;
  outlineWidth: number;
  outlineColor: string;
  boxShadow: string;
  left: number;
}

/** What has the focus now, and how it is drawn (page code as text: this file is checked without the DOM's types). */
function focused(page: Page): Promise<Focused> {
  return page.evaluate<Focused>(`(() => {
    const element = document.activeElement;
    const style = getComputedStyle(element);
    return {
      text: (element.textContent ?? '').trim(),
      tag: element.tagName.toLowerCase(),
      focusVisible: element.matches(':focus-visible'),
      outlineStyle: style.outlineStyle,
      outlineWidth: Number.parseFloat(style.outlineWidth),
      outlineColor: style.outlineColor,
      boxShadow: style.boxShadow,
      left: element.getBoundingClientRect().left,
    };
  })()`);
}

const visibleRing = (state: Focused) => state.focusVisible && ((state.outlineStyle !== 'none' && state.outlineWidth >= 1) || state.boxShadow !== 'none');
const background = (page: Page) => page.evaluate<string>('getComputedStyle(document.body).backgroundColor');

describe('keyboard and colour scheme in Chromium', () => {
  it('Tab goes through the skip link and the main navigation, each with a visible focus ring; Enter follows a link; dark mode changes the background', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.emulateMedia({ colorScheme: 'light', reducedMotion: 'reduce' });
      await page.goto(server.ready.loginUrl);
      await page.getByTestId('checklist').waitFor();

      // First stop: the skip link, moved on screen while focused.
      await page.keyboard.press('Tab');
      const skip = await focused(page);
      expect(skip).toMatchObject({ text: 'Skip to content', tag: 'a' });
      expect(visibleRing(skip), JSON.stringify(skip)).toBe(true);
      expect(skip.left).toBeGreaterThanOrEqual(0);

      // Then the brand link and the seven pages, in order, each drawn with the ring.
      const stops: string[] = [];
      for (let index = 0; index < 8; index++) {
        await page.keyboard.press('Tab');
        const state = await focused(page);
        expect(visibleRing(state), JSON.stringify(state)).toBe(true);
        stops.push(state.text);
      }
      expect(stops).toEqual(['▲ Agented', 'Dashboard', 'Triggers', 'Executions', 'Usage', 'Budgets', 'Accounts', 'Settings']);
      const ringLight = (await focused(page)).outlineColor;
      await page.screenshot({ path: artifactPath('keyboard-focus.png') });

      // Back to Triggers (Shift+Tab) and Enter: the page opens.
      for (let index = 0; index < 5; index++) await page.keyboard.press('Shift+Tab');
      expect((await focused(page)).text).toBe('Triggers');
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.pathname === '/triggers');
      await page.locator('h1', { hasText: 'Triggers' }).waitFor();

      // The skip link takes the focus past the navigation to the page's content.
      await page.goto(`${server.ready.url}/triggers`);
      await page.locator('h1', { hasText: 'Triggers' }).waitFor();
      await page.keyboard.press('Tab');
      expect((await focused(page)).text).toBe('Skip to content');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('main');
      await page.keyboard.press('Tab');
      const inContent = await page.evaluate<boolean>("Boolean(document.activeElement?.closest('main'))");
      expect(inContent).toBe(true);
      expect(visibleRing(await focused(page))).toBe(true);

      // Dark mode follows the OS: the background changes, and the ring is still drawn (in the dark theme's colour).
      const light = await background(page);
      await page.emulateMedia({ colorScheme: 'dark' });
      await expect.poll(() => background(page)).not.toBe(light);
      const dark = await background(page);
      expect({ light, dark }).toEqual({ light: 'rgb(246, 247, 249)', dark: 'rgb(15, 17, 21)' });
      await page.goto(server.ready.url);
      await page.getByTestId('checklist').waitFor();
      for (let index = 0; index < 3; index++) await page.keyboard.press('Tab');
      const darkRing = await focused(page);
      expect(darkRing.text).toBe('Dashboard');
      expect(visibleRing(darkRing), JSON.stringify(darkRing)).toBe(true);
      expect(darkRing.outlineColor).not.toBe(ringLight);
      await page.screenshot({ path: artifactPath('keyboard-focus-dark.png') });
    } finally {
      await browser.close();
    }
  }, 120_000);
});

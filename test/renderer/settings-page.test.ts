// @vitest-environment happy-dom
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SettingsRepository } from '../../main/storage/settings-repository.js';
import { openDatabase } from '../../main/storage/database.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { mountApp, type MountedApp } from './mount-app.js';

/**
 * The Settings page's "Access and limits" form against the real worker: a
 * Save stores what was changed on the page, and leaves alone a stored value
 * the page does not show (one waiting for a restart shows the value in use),
 * or one another tab stored since this page loaded.
 */
let server: InProcessServer;
let app: MountedApp | undefined;

beforeAll(async () => {
  server = await startInProcess();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(() => server?.close());

/** What the settings table holds now, read from the worker's SQLite file. */
function storedSettings(): Record<string, string> {
  const db = openDatabase({ file: `${server.dataDir}/agented.db` });
  try {
    return new SettingsRepository(db).all();
  } finally {
    db.close();
  }
}

async function openSettings(): Promise<MountedApp> {
  app = await mountApp(server, '/settings');
  await app.until(() => app!.wrapper.find('[data-testid="settings-max-concurrent"]').exists());
  return app;
}

async function saveAccess(page: MountedApp): Promise<void> {
  await page.wrapper.get('[data-testid="settings-form"]').trigger('submit');
  await page.until(() => page.wrapper.get('[data-testid="settings-form"]').text().includes('Saved.'));
}

describe('the Settings page saves what was changed on it', () => {
  it('keeps a stored limit that waits for a restart when another field is saved', async () => {
    await (await openSettings()).api.updateSettings({ maxConcurrent: 5, corsOrigins: [] });
    await app!.close();

    const page = await openSettings();
    // The field shows the limit in use (2) until a restart; the 5 stored is not for this form to undo.
    expect(page.wrapper.get('[data-testid="settings-max-concurrent"]').element).toHaveProperty('value', '2');
    await page.wrapper.get('#settings-origins').setValue('https://tools.example.com');
    await saveAccess(page);
    expect(storedSettings()).toMatchObject({ maxConcurrent: '5', corsOrigins: 'https://tools.example.com' });
    expect(page.wrapper.text()).toContain('Restart Agented to apply.');
  });

  it('does not undo what another tab stored since the page loaded', async () => {
    const page = await openSettings();
    await page.api.updateSettings({ allowedHosts: ['agented.internal'] });
    await page.wrapper.get('[data-testid="settings-max-concurrent"]').setValue('3');
    await saveAccess(page);
    expect(storedSettings()).toMatchObject({ maxConcurrent: '3', allowedHosts: 'agented.internal' });
  });
});

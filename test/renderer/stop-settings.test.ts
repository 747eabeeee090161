// @vitest-environment happy-dom
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../renderer/src/api/client.js';
import StopSettings from '../../renderer/src/components/StopSettings.vue';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { loadedMounts, settle } from './mount-component.js';

/**
 * The Settings page's stop policy control against the real worker: what it
 * stores is what GET /api/settings then reports as in use, and the server's
 * refusal of a bad value comes back under the field.
 */
let server: InProcessServer;
let api: ApiClient;

beforeAll(async () => {
  server = await startInProcess();
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(server.url);
  api = new ApiClient({ headers: { Authorization: `Bearer ${server.key}` } });
});
afterAll(() => server?.close());

const mountLoaded = loadedMounts(StopSettings, '[data-testid="stop-save"]');

describe('stop settings', () => {
  it('shows the default (finish, 60 s), stores cancel, and the worker reports it in use at once', async () => {
    const wrapper = await mountLoaded(api);
    expect((wrapper.get('[data-testid="stop-finish"]').element as HTMLInputElement).checked).toBe(true);
    expect(wrapper.get('[data-testid="stop-finish-seconds"]').element).toHaveProperty('value', '60');

    await wrapper.get('[data-testid="stop-cancel"]').setValue(true);
    // The wait only matters when finishing.
    expect(wrapper.find('[data-testid="stop-finish-seconds"]').exists()).toBe(false);
    await wrapper.get('form').trigger('submit');
    await settle(wrapper, () => wrapper.text().includes('Saved.'));
    const settings = (await api.settings()).settings;
    expect(settings.stopPolicy).toMatchObject({ value: 'cancel', source: 'stored', restartRequired: false });
  });

  it('puts the server’s refusal of a wait out of range under the field, and stores nothing', async () => {
    const wrapper = await mountLoaded(api);
    await wrapper.get('[data-testid="stop-finish"]').setValue(true);
    await wrapper.get('[data-testid="stop-finish-seconds"]').setValue('0');
    await wrapper.get('form').trigger('submit');
    await settle(wrapper, () => wrapper.find('[data-testid="stop-finish-error"]').exists());
    expect(wrapper.get('[data-testid="stop-finish-error"]').text()).toMatch(/at least 1/);
    expect((await api.settings()).settings.stopPolicy?.value).toBe('cancel');
  });
});

describe('stop settings in two tabs', () => {
  it('saving the policy leaves the wait another tab stored since this one loaded', async () => {
    await api.updateSettings({ stopPolicy: 'finish', stopFinishTimeoutSeconds: 60 });
    const wrapper = await mountLoaded(api);
    // The other tab.
    await api.updateSettings({ stopFinishTimeoutSeconds: 120 });
    await wrapper.get('[data-testid="stop-cancel"]').setValue(true);
    await wrapper.get('form').trigger('submit');
    await settle(wrapper, () => wrapper.text().includes('Saved.'));
    expect((await api.settings()).settings).toMatchObject({ stopPolicy: { value: 'cancel' }, stopFinishTimeoutSeconds: { value: 120 } });
  });
});

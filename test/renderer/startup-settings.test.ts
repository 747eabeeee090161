// @vitest-environment happy-dom
import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopSettings } from '../../common/worker-protocol.js';
import { ApiClient } from '../../renderer/src/api/client.js';
import StartupSettings from '../../renderer/src/components/StartupSettings.vue';
import { startWorker, type RunningWorker } from '../../main/worker/start-worker.js';
import { TEST_API_KEY } from '../helpers/in-process.js';
import { makeTempDir } from '../helpers/temp.js';
import { loadedMounts, settle } from './mount-component.js';

/**
 * The Settings page's start-at-login control against the real worker: what
 * it stores is what GET /api/settings then reports in use, and what the
 * worker tells the desktop shell at once; set by AGENTED_START_AT_LOGIN, it
 * is read-only and names the variable.
 */
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * The real worker in this process (as test/helpers/in-process.ts starts it),
 * with the hook main/worker/main.ts wires to the supervisor link: what it
 * would tell the desktop shell is collected in `toldShell`.
 */
async function serve(env: Record<string, string> = {}): Promise<{ api: ApiClient; toldShell: DesktopSettings[] }> {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const toldShell: DesktopSettings[] = [];
  const worker: RunningWorker = await startWorker({
    env: { HOME: temp.dir, AGENTED_API_KEY: TEST_API_KEY, AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: `${temp.dir}/logs`, AGENTED_PORT: '0', ...env },
    shutdownGraceMs: 2_000,
    desktopSettings: (settings) => toldShell.push(settings),
  });
  cleanups.push(() => worker.close());
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(worker.url);
  return { api: new ApiClient({ headers: { Authorization: `Bearer ${TEST_API_KEY}` } }), toldShell };
}

const mountLoaded = loadedMounts(StartupSettings, '[data-testid="startup-save"]');

const checkbox = (wrapper: VueWrapper) => wrapper.get('[data-testid="startup-at-login"]').element as HTMLInputElement;

describe('start at login settings', () => {
  let api: ApiClient;
  let toldShell: DesktopSettings[];

  beforeAll(async () => {
    ({ api, toldShell } = await serve());
  });

  it('is off by default, says what it does on macOS, Windows and Linux, and that agented serve ignores it', async () => {
    const wrapper = await mountLoaded(api);
    expect(checkbox(wrapper).checked).toBe(false);
    expect(checkbox(wrapper).disabled).toBe(false);
    const systems = wrapper.get('[data-testid="startup-systems"]').text();
    expect(systems).toMatch(/macOS.*Login Items/);
    expect(systems).toMatch(/Windows.*Startup/);
    expect(systems).toMatch(/Linux.*~\/\.config\/autostart\/agented\.desktop/);
    expect(wrapper.text()).toMatch(/agented serve ignores the setting/);
    expect(wrapper.find('[data-testid="startup-environment"]').exists()).toBe(false);
  });

  it('stores it on save, and the worker reports it in use at once, with no restart pending', async () => {
    const wrapper = await mountLoaded(api);
    await wrapper.get('[data-testid="startup-at-login"]').setValue(true);
    await wrapper.get('form').trigger('submit');
    await settle(wrapper, () => wrapper.text().includes('Saved.'));
    expect((await api.settings()).settings.startAtLogin).toMatchObject({ value: true, source: 'stored', env: 'AGENTED_START_AT_LOGIN', restartRequired: false });
    // The shell heard it when the worker started and again when it was stored: it applies without a restart.
    expect(toldShell).toEqual([{ startAtLogin: false }, { startAtLogin: true }]);

    // A fresh mount shows the stored value; turning it off stores false.
    const again = await mountLoaded(api);
    expect(checkbox(again).checked).toBe(true);
    await again.get('[data-testid="startup-at-login"]').setValue(false);
    await again.get('form').trigger('submit');
    await settle(again, () => again.text().includes('Saved.'));
    expect((await api.settings()).settings.startAtLogin).toMatchObject({ value: false, source: 'stored' });
    expect(toldShell.at(-1)).toEqual({ startAtLogin: false });
  });
});

describe('start at login set by AGENTED_START_AT_LOGIN', () => {
  it('is shown as in use, read-only, naming the variable; nothing can be saved over it', async () => {
    const { api, toldShell } = await serve({ AGENTED_START_AT_LOGIN: 'true' });
    const wrapper = await mountLoaded(api);
    expect(checkbox(wrapper).checked).toBe(true);
    expect(checkbox(wrapper).disabled).toBe(true);
    expect(wrapper.get('[data-testid="startup-environment"]').text()).toBe('Set by AGENTED_START_AT_LOGIN: change it there.');
    expect((wrapper.get('[data-testid="startup-save"]').element as HTMLButtonElement).disabled).toBe(true);

    // Even a submit that gets through (the form is still a form) stores nothing.
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect((await api.settings()).settings.startAtLogin).toMatchObject({ value: true, source: 'environment' });
    expect(toldShell).toEqual([{ startAtLogin: true }]);
  });
});

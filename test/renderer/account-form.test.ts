// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../common/accounts.js';
import { ApiClient } from '../../renderer/src/api/client.js';
import { ApiKey } from '../../renderer/src/api/inject.js';
import AccountForm from '../../renderer/src/components/AccountForm.vue';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

/**
 * The account form against the real worker: what it sends is judged by the
 * server's zod schemas, their issues come back under the fields, and the API
 * key goes one way only.
 */
let server: InProcessServer;
let api: ApiClient;

beforeAll(async () => {
  server = await startInProcess();
  // The page's own origin, as when the worker serves the UI (happy-dom applies CORS like a browser).
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(server.url);
  api = new ApiClient({ headers: { Authorization: `Bearer ${server.key}` } });
});
afterAll(() => server?.close());

const mounted: VueWrapper[] = [];
afterEach(() => {
  for (const wrapper of mounted.splice(0)) wrapper.unmount();
});

const KEY = 'sk-ant-form-secret-0123456789';

function mountForm(props: { account?: Account } = {}): VueWrapper {
  const wrapper = mount(AccountForm, { props, global: { provide: { [ApiKey as symbol]: api } }, attachTo: document.body });
  mounted.push(wrapper);
  return wrapper;
}

async function submit(wrapper: VueWrapper): Promise<void> {
  await wrapper.get('[data-testid="account-form"]').trigger('submit');
  // The round trip to the server, then the re-render.
  for (let index = 0; index < 40 && !wrapper.emitted('saved') && !wrapper.find('[data-testid="account-form-failure"]').exists(); index++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    await flushPromises();
  }
}

const text = (wrapper: VueWrapper, id: string) => wrapper.get(`[data-testid="${id}"]`).text();

describe('account form', () => {
  it('shows the server’s issues under their fields, marks them invalid and focuses the first', async () => {
    const wrapper = mountForm();
    expect(document.activeElement).toBe(wrapper.get('[data-testid="account-name"]').element);
    await wrapper.get('[data-testid="account-name"]').setValue('   ');
    await wrapper.get('[data-testid="account-key"]').setValue('short');
    await wrapper.get('[data-testid="account-priority"]').setValue('5000');
    await submit(wrapper);

    expect(wrapper.emitted('saved')).toBeUndefined();
    expect(text(wrapper, 'account-form-failure')).toContain('3 fields need a change');
    expect(text(wrapper, 'account-error-name')).not.toBe('');
    expect(text(wrapper, 'account-error-credential')).toMatch(/8/);
    expect(text(wrapper, 'account-error-priority')).toMatch(/1000/);
    expect(wrapper.get('[data-testid="account-key"]').attributes('aria-invalid')).toBe('true');
    expect(wrapper.get('[data-testid="account-key"]').attributes('aria-describedby')).toBe('credential-error');
    expect(wrapper.get('[data-testid="account-backend"]').attributes('aria-invalid')).toBe('false');
    expect(document.activeElement).toBe(wrapper.get('[data-testid="account-name"]').element);
    expect((await api.accounts()).items).toEqual([]);
  });

  it('an account without a key or folder: the server’s rule shows under the credential shown, key or folder', async () => {
    const wrapper = mountForm();
    await wrapper.get('[data-testid="account-name"]').setValue('nothing');
    await submit(wrapper);
    expect(text(wrapper, 'account-error-credential')).toBe('an account needs an API key or a configuration folder');

    await wrapper.get('[data-testid="account-credential-folder"]').setValue(true);
    expect(text(wrapper, 'account-error-credential')).toBe('an account needs an API key or a configuration folder');
    await wrapper.get('[data-testid="account-folder"]').setValue('relative/dir');
    await submit(wrapper);
    expect(text(wrapper, 'account-error-credential')).toBe('must be an absolute path');
    // The folder's variable for the chosen CLI is named in the help.
    await wrapper.get('[data-testid="account-backend"]').setValue('codex');
    expect(wrapper.get('#account-folder-help').text()).toContain('CODEX_HOME');
  });

  it('creates an account with a key that the page never gets back; a taken name shows under the name', async () => {
    const wrapper = mountForm();
    await wrapper.get('[data-testid="account-backend"]').setValue('claude');
    await wrapper.get('[data-testid="account-name"]').setValue('work');
    await wrapper.get('[data-testid="account-key"]').setValue(KEY);
    await wrapper.get('[data-testid="account-priority"]').setValue('5');
    await submit(wrapper);

    const [[created]] = wrapper.emitted('saved') as [[Account]];
    expect(created).toMatchObject({ backend: 'claude', name: 'work', hasApiKey: true, configDir: null, priority: 5, enabled: true });
    expect(JSON.stringify(await api.accounts())).not.toContain(KEY);

    const again = mountForm();
    await again.get('[data-testid="account-name"]').setValue('work');
    await again.get('[data-testid="account-key"]').setValue(KEY);
    await submit(again);
    expect(text(again, 'account-error-name')).toContain('already has an account named "work"');
    expect(again.get('[data-testid="account-name"]').attributes('aria-invalid')).toBe('true');
  });

  it('editing: the key field starts empty and keeps the stored key; switching to a folder removes it; the CLI is fixed', async () => {
    const account = (await api.accounts()).items.find((item) => item.name === 'work') ?? (await api.createAccount({ backend: 'claude', name: 'work', apiKey: KEY }));
    const wrapper = mountForm({ account });
    expect(wrapper.get('[data-testid="account-key"]').element).toHaveProperty('value', '');
    expect(wrapper.get('[data-testid="account-key"]').attributes('placeholder')).toContain('Stored');
    expect(wrapper.get('[data-testid="account-key"]').attributes('type')).toBe('password');
    expect(wrapper.get('[data-testid="account-backend"]').attributes('disabled')).toBeDefined();
    expect(wrapper.html()).not.toContain(KEY);

    // Rename only: the key stays.
    await wrapper.get('[data-testid="account-name"]').setValue('work-renamed');
    await wrapper.get('[data-testid="account-enabled"]').setValue(false);
    await submit(wrapper);
    const [[renamed]] = wrapper.emitted('saved') as [[Account]];
    expect(renamed).toMatchObject({ id: account.id, name: 'work-renamed', hasApiKey: true, enabled: false });

    // To a folder: the key is removed.
    const folder = mountForm({ account: renamed });
    await folder.get('[data-testid="account-credential-folder"]').setValue(true);
    expect(folder.get('#account-folder-help').text()).toContain('removes the stored API key');
    await folder.get('[data-testid="account-folder"]').setValue('/home/me/.claude-work');
    await submit(folder);
    const [[moved]] = folder.emitted('saved') as [[Account]];
    expect(moved).toMatchObject({ hasApiKey: false, configDir: '/home/me/.claude-work' });
  });
});

// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Trigger, TriggerCreated } from '../../common/triggers.js';
import { ApiClient } from '../../renderer/src/api/client.js';
import { ApiKey } from '../../renderer/src/api/inject.js';
import TriggerForm from '../../renderer/src/components/TriggerForm.vue';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

/**
 * The trigger form against the real worker: what it sends is validated by
 * the server's zod schemas, and their issues come back under the fields.
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

function mountForm(props: { trigger?: Trigger; globalLimit?: number } = {}): VueWrapper {
  const wrapper = mount(TriggerForm, { props, global: { plugins: [createPinia()], provide: { [ApiKey as symbol]: api } }, attachTo: document.body });
  mounted.push(wrapper);
  return wrapper;
}

async function submit(wrapper: VueWrapper): Promise<void> {
  await wrapper.get('[data-testid="trigger-form"]').trigger('submit');
  // The round trip to the server, then the re-render.
  for (let index = 0; index < 20 && !wrapper.emitted('saved') && !wrapper.find('[data-testid="form-failure"]').exists(); index++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    await flushPromises();
  }
}

describe('trigger form', () => {
  it('shows the fields of the chosen kind, and only those', async () => {
    const wrapper = mountForm();
    expect(wrapper.find('[data-testid="field-github-events"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="field-cron"]').exists()).toBe(false);

    await wrapper.get('[data-testid="kind-schedule"]').setValue(true);
    expect(wrapper.find('[data-testid="field-cron"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="field-github-events"]').exists()).toBe(false);

    await wrapper.get('[data-testid="kind-webhook"]').setValue(true);
    expect(wrapper.find('[data-testid="field-text-path"]').exists()).toBe(true);
    expect(wrapper.get('#trigger-scheme').element).toHaveProperty('value', 'hmac-sha256');

    await wrapper.get('[data-testid="kind-manual"]').setValue(true);
    expect(wrapper.find('[data-testid="field-text-path"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="field-cron"]').exists()).toBe(false);
  });

  it('shows each of the server’s validation issues under its field, marks the field invalid and focuses the first', async () => {
    const wrapper = mountForm();
    await wrapper.get('[data-testid="field-name"]').setValue('   ');
    await wrapper.get('[data-testid="field-template"]').setValue('Review {{payload.pull_request.title}}');
    await wrapper.get('[data-testid="field-workdir"]').setValue('relative/dir');
    await wrapper.get('[data-testid="field-timeout"]').setValue('0');
    await wrapper.get('[data-testid="field-max-concurrent"]').setValue('99');
    await submit(wrapper);

    expect(wrapper.emitted('saved')).toBeUndefined();
    expect(wrapper.get('[data-testid="form-failure"]').text()).toContain('did not accept');
    expect(wrapper.get('[data-testid="error-name"]').text()).not.toBe('');
    expect(wrapper.get('[data-testid="error-github-events"]').text()).toMatch(/1/);
    expect(wrapper.get('[data-testid="error-workdir"]').text()).toContain('absolute');
    expect(wrapper.get('[data-testid="error-timeout"]').text()).not.toBe('');
    expect(wrapper.get('[data-testid="error-max-concurrent"]').text()).not.toBe('');
    expect(wrapper.get('[data-testid="field-workdir"]').attributes('aria-invalid')).toBe('true');
    expect(wrapper.get('[data-testid="field-workdir"]').attributes('aria-describedby')).toBe('workingDirectory-error');
    expect(wrapper.get('[data-testid="field-template"]').attributes('aria-invalid')).toBe('false');
    // The first invalid field has the focus, so a keyboard user lands on what to fix.
    expect(document.activeElement).toBe(wrapper.get('[data-testid="field-name"]').element);
  });

  it('a parameter’s issue marks that parameter’s input invalid, described by the error, and focuses it (not <body>)', async () => {
    const wrapper = mountForm();
    await wrapper.get('[data-testid="kind-manual"]').setValue(true);
    await wrapper.get('[data-testid="field-name"]').setValue('By hand');
    await wrapper.get('[data-testid="field-template"]').setValue('Do the thing');
    const add = wrapper.findAll('button').find((button) => button.text() === 'Add a parameter')!;
    await add.trigger('click');
    await add.trigger('click');
    await wrapper.get('#param-name-0').setValue('branch');
    // The second parameter's name is left empty. Save is focused, as after a click on it.
    (wrapper.get('[data-testid="save-trigger"]').element as HTMLButtonElement).focus();
    await submit(wrapper);

    expect(wrapper.emitted('saved')).toBeUndefined();
    expect(wrapper.get('#params-error').text()).toContain('parameter 2');
    const input = wrapper.get('#param-name-1');
    expect(input.attributes('aria-invalid')).toBe('true');
    expect(input.attributes('aria-describedby')).toBe('params-error');
    expect(wrapper.get('#param-name-0').attributes('aria-invalid')).toBe('false');
    expect(document.activeElement).toBe(input.element);
  });

  it('shows the issues the server finds beyond the schema: a cron expression, a time zone, a template placeholder', async () => {
    const wrapper = mountForm();
    await wrapper.get('[data-testid="kind-schedule"]').setValue(true);
    await wrapper.get('[data-testid="field-name"]').setValue('Nightly');
    await wrapper.get('[data-testid="field-template"]').setValue('Check {{params.missing}}');
    await wrapper.get('[data-testid="field-cron"]').setValue('every day at nine');
    await wrapper.get('[data-testid="field-timezone"]').setValue('Mars/Olympus_Mons');
    await submit(wrapper);
    // The server checks in steps; whatever it reports lands under a field or in the list on top, never nowhere.
    const failure = wrapper.get('[data-testid="form-failure"]').text();
    const fieldErrors = wrapper.findAll('.field-error').map((error) => error.text());
    expect(fieldErrors.length + (failure.match(/—/g)?.length ?? 0)).toBeGreaterThan(0);
    expect([...fieldErrors, failure].join(' ')).toMatch(/cron|params|time zone|template/i);
    expect(wrapper.emitted('saved')).toBeUndefined();
  });

  it('creates a GitHub trigger from what was typed, and hands over the secret shown once', async () => {
    const wrapper = mountForm({ globalLimit: 4 });
    await wrapper.get('[data-testid="field-name"]').setValue('Review pull requests');
    await wrapper.get('[data-testid="field-github-events"]').setValue('pull_request.opened,  issue_comment.created');
    await wrapper.get('[data-testid="field-github-mention"]').setValue('@agented');
    await wrapper.get('[data-testid="field-template"]').setValue('Review {{payload.pull_request.title}}');
    await wrapper.get('#trigger-key').setValue('{{payload.pull_request.number}}');
    await wrapper.get('#trigger-strategy').setValue('cancel-in-progress');
    // Concurrency in words, as typed.
    const words = wrapper.get('[data-testid="concurrency-words"]').text();
    expect(words).toContain('One execution of this trigger runs at a time');
    expect(words).toContain('cancels the one running or waiting');
    expect(words).toContain('at most 4 at once');
    await submit(wrapper);

    const [[created]] = wrapper.emitted('saved') as [[TriggerCreated]];
    expect(created.secret).toMatch(/^[0-9a-f]{64}$/);
    const stored = await api.trigger(created.id);
    expect(stored).toMatchObject({
      name: 'Review pull requests',
      kind: 'github',
      github: { events: ['pull_request.opened', 'issue_comment.created'], mention: '@agented' },
      concurrency: { key: '{{payload.pull_request.number}}', strategy: 'cancel-in-progress' },
      signature: { scheme: 'github' },
      workingDirectory: null,
      model: null,
    });
  });

  it('edits an existing trigger: no kind picker, its values filled in, only a PATCH of the editable fields', async () => {
    const created = await api.createTrigger({ name: 'Chat', kind: 'webhook', promptTemplate: 'Answer {{payload.message.text}}', textFieldPath: 'message.text', params: [{ name: 'tone', type: 'string', required: false }] });
    const trigger = await api.trigger(created.id);
    const wrapper = mountForm({ trigger });
    expect(wrapper.find('[data-testid="kind-github"]').exists()).toBe(false);
    expect((wrapper.get('[data-testid="field-text-path"]').element as HTMLInputElement).value).toBe('message.text');
    expect((wrapper.get('#param-name-0').element as HTMLInputElement).value).toBe('tone');

    await wrapper.get('[data-testid="field-text-path"]').setValue('message.body');
    await wrapper.get('[data-testid="field-enabled"]').setValue(false);
    await submit(wrapper);
    const [[saved]] = wrapper.emitted('saved') as [[Trigger]];
    expect(saved).toMatchObject({ id: trigger.id, kind: 'webhook', textFieldPath: 'message.body', enabled: false, params: [{ name: 'tone' }] });
    expect(saved.signature.scheme).toBe('hmac-sha256');
  });

  it('asks what to do when every account is rate-limited, in words: "fail" is stored, and shown again when editing', async () => {
    const wrapper = mountForm();
    await wrapper.get('[data-testid="kind-manual"]').setValue(true);
    await wrapper.get('[data-testid="field-name"]').setValue('Nightly report');
    await wrapper.get('[data-testid="field-template"]').setValue('Write the report');
    const field = wrapper.get('[data-testid="field-on-rate-limit"]');
    // Waiting is the default; each choice says what it does.
    expect((wrapper.get('[data-testid="on-rate-limit-wait"]').element as HTMLInputElement).checked).toBe(true);
    expect(field.text()).toContain('When every account is rate-limited');
    expect(field.text()).toContain('starts when the earliest cool-down ends');
    expect(field.text()).toContain('fails at once');
    expect(field.text()).not.toContain('then on codex');
    await wrapper.get('input[type="checkbox"][value="codex"]').setValue(true);
    expect(field.text()).toContain('then on codex');
    await wrapper.get('[data-testid="on-rate-limit-fail"]').setValue(true);
    await submit(wrapper);

    const [[created]] = wrapper.emitted('saved') as [[TriggerCreated]];
    const stored = await api.trigger(created.id);
    expect(stored).toMatchObject({ onRateLimit: 'fail', fallbackBackends: ['codex'] });

    const editing = mountForm({ trigger: stored });
    expect((editing.get('[data-testid="on-rate-limit-fail"]').element as HTMLInputElement).checked).toBe(true);
    await editing.get('[data-testid="on-rate-limit-wait"]').setValue(true);
    await submit(editing);
    expect(editing.emitted('saved')).toHaveLength(1);
    expect((await api.trigger(created.id)).onRateLimit).toBe('wait');
  });
});

// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import type { TriggerListItem } from '../../common/triggers.js';
import { appOnScriptedWorker, holdAnswers } from './mount-app.js';

/**
 * The trigger's edit page in the whole renderer against a real worker, opened
 * as a reader does: from the trigger's page, or straight from its address (a
 * bookmark, a link pasted into a new tab), where the app has no page before it.
 */
const harness = appOnScriptedWorker('agented-trigger-edit-');

/** A new tab on `path`: its history holds that one entry, with nothing of the app before it. */
async function openInNewTab(path: string) {
  window.history.replaceState(null, '', path);
  const app = await harness.mount(path);
  await app.until(() => app.wrapper.find('[data-testid="trigger-form"]').exists());
  return app;
}

const cancel = (app: Awaited<ReturnType<typeof openInNewTab>>) => app.wrapper.findAll('[data-testid="trigger-form"] button').find((button) => button.text() === 'Cancel')!.trigger('click');

describe('trigger edit page', () => {
  it('Cancel on an edit page opened from its address goes to the trigger', async () => {
    const id = await harness.engine.createTrigger({ name: 'Bookmarked', promptTemplate: 'hello' });
    const app = await openInNewTab(`/triggers/${id}/edit`);
    await cancel(app);
    await app.until(() => app.router.currentRoute.value.path === `/triggers/${id}` && app.wrapper.find('[data-testid="trigger-name"]').exists());
    expect(app.wrapper.get('[data-testid="trigger-name"]').text()).toBe('Bookmarked');
  });

  it('Cancel on the new trigger page opened from its address goes to the list', async () => {
    const app = await openInNewTab('/triggers/new');
    await cancel(app);
    await app.until(() => app.router.currentRoute.value.path === '/triggers');
  });

  it('Cancel after coming from the trigger’s page goes back to it, leaving no extra history entry', async () => {
    const id = await harness.engine.createTrigger({ name: 'Followed', promptTemplate: 'hello' });
    const app = await harness.mount(`/triggers/${id}`);
    await app.until(() => app.wrapper.find('[data-testid="edit-trigger"]').exists());
    await app.open(`/triggers/${id}/edit`);
    await app.until(() => app.wrapper.find('[data-testid="trigger-form"]').exists());
    const entries = window.history.length;
    await cancel(app);
    await app.until(() => app.router.currentRoute.value.path === `/triggers/${id}`);
    expect(window.history.length).toBe(entries);
    expect(window.history.state?.forward).toBe(`/triggers/${id}/edit`);
  });

  it('a trigger created just before leaving the page is created, the reader stays where they went, and its page still shows the secret once', async () => {
    const app = await harness.mount('/triggers/new');
    await app.until(() => app.wrapper.find('[data-testid="trigger-form"]').exists());
    await app.wrapper.get('[data-testid="kind-webhook"]').setValue(true);
    await app.wrapper.get('[data-testid="field-name"]').setValue('Created while leaving');
    await app.wrapper.get('[data-testid="field-template"]').setValue('hello');
    const answer = holdAnswers((url, method) => method === 'POST' && url.endsWith('/api/triggers'));
    await app.wrapper.get('[data-testid="trigger-form"]').trigger('submit');
    await app.open('/usage');
    await answer.release();
    expect(app.router.currentRoute.value.path).toBe('/usage');
    const created = (await harness.engine.api<{ items: TriggerListItem[] }>('GET', '/api/triggers')).body.items.find((trigger) => trigger.name === 'Created while leaving');
    expect(created).toBeDefined();
    await app.open(`/triggers/${created!.id}`);
    await app.until(() => app.wrapper.find('[data-testid="secret-value"]').exists());
    expect(app.wrapper.get('[data-testid="secret-value"]').text().trim()).toMatch(/^[0-9a-f]{64}$/);
  });
});

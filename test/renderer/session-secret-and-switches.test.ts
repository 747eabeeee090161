// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import type { Trigger } from '../../common/triggers.js';
import { ApiClient } from '../../renderer/src/api/client.js';
import { useSessionStore } from '../../renderer/src/stores/session.js';
import { appOnScriptedWorker } from './mount-app.js';

/**
 * The whole renderer against a real worker: the webhook secret handed over
 * once after creation does not outlive the session (sign-out, or a 401), and
 * an enable switch whose change the server refuses goes back to the
 * trigger's stored state.
 */
const harness = appOnScriptedWorker('agented-session-secret-');

const has = (selector: string) => harness.app.wrapper.find(selector).exists();

/** Creates a webhook trigger through the form; answers its page's path and the secret shown once. */
async function createWebhookTrigger(name: string): Promise<{ triggerPath: string; secret: string }> {
  const app = await harness.mount('/triggers/new');
  await app.until(() => has('[data-testid="trigger-form"]'));
  await app.wrapper.get('[data-testid="kind-webhook"]').setValue(true);
  await app.wrapper.get('[data-testid="field-name"]').setValue(name);
  await app.wrapper.get('[data-testid="field-template"]').setValue('Handle {{payload.text}}');
  await app.wrapper.get('[data-testid="trigger-form"]').trigger('submit');
  await app.until(() => has('[data-testid="secret-value"]'));
  const secret = app.wrapper.get('[data-testid="secret-value"]').text().trim();
  expect(secret.length).toBeGreaterThan(0);
  return { triggerPath: app.router.currentRoute.value.fullPath, secret };
}

/** Signs in again on the login page with the API key, in the same tab (same memory). */
async function signInAgain(): Promise<void> {
  const app = harness.app;
  await app.until(() => app.router.currentRoute.value.name === 'login' && has('[data-testid="login-secret"]'));
  await app.wrapper.get('[data-testid="login-secret"]').setValue(harness.engine.server.key);
  await app.wrapper.get('.login-form').trigger('submit');
  await app.until(() => app.router.currentRoute.value.name !== 'login');
}

async function expectNoSecretOn(triggerPath: string, secret: string): Promise<void> {
  const app = harness.app;
  await app.open(triggerPath);
  await app.until(() => has('[data-testid="trigger-name"]') && has('[data-testid="webhook-url"]'));
  expect(has('[data-testid="secret-panel"]')).toBe(false);
  expect(document.body.innerHTML).not.toContain(secret);
}

describe('the webhook secret shown once does not outlive the session', () => {
  it('is gone after Sign out and signing in again in the same tab', async () => {
    const { triggerPath, secret } = await createWebhookTrigger('Secret then sign out');
    const app = harness.app;
    await app.open('/settings');
    const signOut = () => app.wrapper.findAll('button').find((button) => button.text() === 'Sign out');
    await app.until(() => signOut() !== undefined);
    await signOut()!.trigger('click');
    await signInAgain();
    await expectNoSecretOn(triggerPath, secret);
  });

  it('is gone after a 401 (the session lost) and signing in again in the same tab', async () => {
    const { triggerPath, secret } = await createWebhookTrigger('Secret then 401');
    const app = harness.app;
    // What main.ts wires: every 401 the API answers tells the session store it is lost.
    const session = useSessionStore();
    const stale = new ApiClient({ headers: { Authorization: 'Bearer not-the-key' }, onUnauthorized: () => session.lost() });
    await expect(stale.session()).rejects.toMatchObject({ status: 401 });
    expect(session.status).toBe('expired');
    await app.until(() => app.router.currentRoute.value.name === 'login');
    expect(app.router.currentRoute.value.query.expired).toBe('1');
    await signInAgain();
    await expectNoSecretOn(triggerPath, secret);
  });
});

describe('an enable switch the server refuses goes back to the stored state', () => {
  it('on the list: a 404 leaves the checkbox as the trigger is (on)', async () => {
    const id = await harness.engine.createTrigger({ name: 'Vanishing from the list', promptTemplate: 'Hello' });
    const app = await harness.mount('/triggers');
    const selector = `[data-testid="trigger-row-${id}"] input[type="checkbox"]`;
    await app.until(() => has(selector));
    const box = app.wrapper.get(selector);
    expect((box.element as HTMLInputElement).checked).toBe(true);
    // Deleted elsewhere: the PATCH the switch sends answers 404.
    expect((await harness.engine.api('DELETE', `/api/triggers/${id}`)).status).toBeLessThan(300);
    await box.setValue(false);
    await app.until(() => has('.notice-error') && !(box.element as HTMLInputElement).disabled);
    expect(app.wrapper.get('.notice-error').text()).toContain('could not be disabled');
    expect(app.wrapper.get(`[data-testid="trigger-row-${id}"] .switch-text`).text()).toBe('on');
    expect((box.element as HTMLInputElement).checked).toBe(true);
  });

  it('on the trigger page: a 404 leaves the checkbox as the trigger is (enabled), and Run now with it', async () => {
    const id = await harness.engine.createTrigger({ name: 'Vanishing from its page', promptTemplate: 'Hello' });
    const app = await harness.mount(`/triggers/${id}`);
    await app.until(() => has('[data-testid="trigger-enabled"]'));
    const box = app.wrapper.get('[data-testid="trigger-enabled"]');
    expect((box.element as HTMLInputElement).checked).toBe(true);
    expect((await harness.engine.api<Trigger>('DELETE', `/api/triggers/${id}`)).status).toBeLessThan(300);
    await box.setValue(false);
    await app.until(() => has('.notice-error') && !(box.element as HTMLInputElement).disabled);
    expect(app.wrapper.get('.notice-error').text()).toContain('Could not disable the trigger');
    expect(app.wrapper.get('.switch-text').text()).toBe('Enabled');
    expect((box.element as HTMLInputElement).checked).toBe(true);
    expect(app.wrapper.get('[data-testid="run-now"]').attributes('disabled')).toBeUndefined();
  });

  it('on the accounts page: a 404 leaves the checkbox as the account is (on)', async () => {
    const created = await harness.engine.api<{ id: string }>('POST', '/api/accounts', { backend: 'claude', name: 'vanishing-account', configDir: '/tmp/vanishing-account' });
    expect(created.status).toBe(201);
    const app = await harness.mount('/accounts');
    const selector = '[data-testid="account-toggle-vanishing-account"]';
    await app.until(() => has(selector));
    const box = app.wrapper.get(selector);
    expect((box.element as HTMLInputElement).checked).toBe(true);
    expect((await harness.engine.api('DELETE', `/api/accounts/${created.body.id}`)).status).toBeLessThan(300);
    await box.setValue(false);
    await app.until(() => has('.notice-error') && !(box.element as HTMLInputElement).disabled);
    expect(app.wrapper.get('.notice-error').text()).toContain('could not be disabled');
    expect(app.wrapper.get('[data-testid="account-row-vanishing-account"] .switch-text').text()).toBe('on');
    expect((box.element as HTMLInputElement).checked).toBe(true);
  });
});

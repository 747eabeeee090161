// @vitest-environment happy-dom
import { createHmac } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Delivery, Trigger } from '../../common/triggers.js';
import { request } from '../helpers/http.js';
import { appOnScriptedWorker, type MountedApp } from './mount-app.js';

/**
 * The delivery inspector in the whole renderer against a real worker: a
 * webhook trigger (plain HMAC-SHA256 in X-Signature-256) gets one delivery
 * signed with its secret and one signed with another, over real HTTP.
 */
const harness = appOnScriptedWorker('agented-deliveries-');
const TEMPLATE = 'Answer the message: ';
const BEARER = 'Bearer sk-sender-token-that-must-not-show';
let triggerId: string;
let good: Delivery;
let bad: Delivery;
let goodSignature: string;

async function deliver(secret: string, body: string): Promise<{ status: number; signature: string }> {
  const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const trigger = (await harness.engine.api<Trigger>('GET', `/api/triggers/${triggerId}`)).body;
  // The sender is not a browser: node's HTTP client, not the page's fetch.
  const response = await request(harness.engine.server.url, {
    method: 'POST',
    path: trigger.webhookPath!,
    headers: { 'content-type': 'application/json', 'x-signature-256': signature, authorization: BEARER, 'x-sender': 'chat-relay' },
    body,
  });
  return { status: response.status, signature };
}

beforeAll(async () => {
  const { engine } = harness;
  const created = await engine.api<{ id: string; secret: string }>('POST', '/api/triggers', { name: 'Chat message', kind: 'webhook', backend: 'claude', promptTemplate: TEMPLATE });
  expect(created.status).toBe(201);
  triggerId = created.body.id;
  const signed = await deliver(created.body.secret, JSON.stringify({ message: { text: 'Where is the report?', user: { name: 'ada' } }, channel: 'general' }));
  expect(signed.status).toBe(202);
  goodSignature = signed.signature;
  expect((await deliver('not-the-secret', JSON.stringify({ message: { text: 'forged' } }))).status).toBe(401);
  const items = (await engine.api<{ items: Delivery[] }>('GET', `/api/triggers/${triggerId}/deliveries`)).body.items;
  [bad, good] = items as [Delivery, Delivery];
  expect(good.outcome).toBe('execution');
  expect(bad.outcome).toBe('rejected');
}, 60_000);

const get = (selector: string) => harness.app.wrapper.get(selector);
/** The detail's "Outcome" facts as label → value. */
const facts = () => Object.fromEntries(get('[data-testid="delivery-detail"] .facts').findAll(':scope > div').map((fact) => [fact.get('dt').text(), fact.get('dd').text()]));
const headers = () => Object.fromEntries(get('[data-testid="delivery-detail"] details table').findAll('tr').map((row) => [row.get('th').text(), row.get('td').text()]));

async function openInspector(): Promise<MountedApp> {
  const app = await harness.mount(`/triggers/${triggerId}/deliveries`);
  await app.until(() => app.wrapper.find('[data-testid="delivery-detail"]').exists());
  return app;
}

describe('delivery inspector', () => {
  it('lists the deliveries newest first, and shows a verified one’s outcome, its execution and its headers with the secrets masked', async () => {
    const app = await openInspector();
    const listed = app.wrapper.findAll('.delivery-list .delivery-item').map((item) => item.attributes('data-testid'));
    expect(listed).toEqual([`delivery-${bad.id}`, `delivery-${good.id}`]);
    await get(`[data-testid="delivery-${good.id}"]`).trigger('click');
    await app.until(() => get('[data-testid="delivery-verified"]').text() === 'verified');

    expect(facts()).toMatchObject({ result: 'started an execution', signature: 'verified', execution: good.executionId });
    expect(get('[data-testid="delivery-detail"] .facts a').attributes('href')).toBe(`/executions/${good.executionId}`);
    expect(headers()).toMatchObject({ 'x-signature-256': '[masked]', authorization: '[masked]', 'content-type': 'application/json', 'x-sender': 'chat-relay' });
    expect(get('[data-testid="delivery-detail"] details summary').text()).toContain('signatures masked');
    expect(document.body.innerHTML).not.toContain(goodSignature.slice('sha256='.length));
    expect(document.body.innerHTML).not.toContain('sk-sender-token');
  });

  it('shows a delivery whose signature did not verify as rejected, with the reason and no execution', async () => {
    await openInspector();
    // The newest is shown first.
    expect(get(`[data-testid="delivery-${bad.id}"]`).attributes('aria-current')).toBe('true');
    const shown = facts();
    expect(shown).toMatchObject({ result: 'rejected', why: 'x-signature-256 does not match the body', signature: 'did not verify — check the secret the sender uses' });
    expect(shown.execution).toBeUndefined();
    expect(get('[data-testid="delivery-verified"]').classes()).toContain('no');
  });

  it('choosing a field sets the text field path (the default for a webhook trigger), or inserts its placeholder at the caret; "Save to trigger" stores only those', async () => {
    const app = await openInspector();
    await get(`[data-testid="delivery-${good.id}"]`).trigger('click');
    await app.until(() => app.wrapper.find('[data-testid="json-key-message"]').exists() && get('[data-testid="delivery-verified"]').text() === 'verified');
    expect((get('[data-testid="pick-text-path"]').element as HTMLInputElement).checked).toBe(true);
    await get('button[aria-label="Open message"]').trigger('click');
    await get('[data-testid="json-key-message.text"]').trigger('click');
    expect((get('[data-testid="inspector-text-path"]').element as HTMLInputElement).value).toBe('message.text');
    expect((get('[data-testid="inspector-template"]').element as HTMLTextAreaElement).value).toBe(TEMPLATE);
    expect(get('[data-testid="pick-editor"]').text()).toContain('Chose message.text.');

    // Now into the prompt, at the caret (after "Answer", before " the message").
    await get('[data-testid="pick-template"]').setValue(true);
    const template = get('[data-testid="inspector-template"]').element as HTMLTextAreaElement;
    template.setSelectionRange('Answer'.length, 'Answer'.length);
    await get('[data-testid="json-key-channel"]').trigger('click');
    expect(template.value).toBe('Answer{{payload.channel}} the message: ');

    await get('[data-testid="inspector-save"]').trigger('click');
    await app.until(() => get('[data-testid="pick-editor"]').text().includes('Saved.'));
    const stored = (await harness.engine.api<Trigger>('GET', `/api/triggers/${triggerId}`)).body;
    expect(stored).toMatchObject({ textFieldPath: 'message.text', promptTemplate: 'Answer{{payload.channel}} the message: ', name: 'Chat message', enabled: true });
    expect(get('[data-testid="inspector-save"]').attributes('disabled')).toBeDefined();
  });

  it('Refresh shows a delivery that came since, and keeps the prompt and text field path being edited', async () => {
    const app = await openInspector();
    await get('[data-testid="inspector-template"]').setValue('Edited, not saved yet: ');
    await get('[data-testid="inspector-text-path"]').setValue('message.user.name');
    const secret = (await harness.engine.api<{ secret: string }>('POST', `/api/triggers/${triggerId}/secret`)).body.secret;
    expect((await deliver(secret, JSON.stringify({ message: { text: 'Another one' } }))).status).toBe(202);

    const refresh = app.wrapper.findAll('button').find((button) => button.text() === 'Refresh')!;
    await refresh.trigger('click');
    await app.until(() => app.wrapper.findAll('.delivery-list .delivery-item').length === 3);
    expect((get('[data-testid="inspector-template"]').element as HTMLTextAreaElement).value).toBe('Edited, not saved yet: ');
    expect((get('[data-testid="inspector-text-path"]').element as HTMLInputElement).value).toBe('message.user.name');
    expect(get('[data-testid="inspector-save"]').attributes('disabled')).toBeUndefined();
  });
});

// @vitest-environment happy-dom
import { beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import type { Trigger } from '../../common/triggers.js';
import { githubExample, githubHeaders } from '../helpers/github-deliveries.js';
import { request } from '../helpers/http.js';
import { useLiveStore } from '../../renderer/src/stores/live.js';
import { appOnScriptedWorker, holdAnswers } from './mount-app.js';

/**
 * A trigger's pages in the whole renderer against a real worker (the agent
 * CLI is test/fixtures/scripted-agent.mjs, which succeeds at once): Run now
 * with params the server judges, the enable switches, and the webhook secret
 * that is shown once after creation and never again.
 */
const harness = appOnScriptedWorker('agented-trigger-page-');
let deploy: string;

beforeAll(async () => {
  deploy = await harness.engine.createTrigger({
    name: 'Deploy',
    promptTemplate: 'Deploy {{params.branch}} {{params.count}} times',
    params: [
      { name: 'branch', type: 'string', required: true, description: 'The branch to deploy' },
      { name: 'count', type: 'number', required: false },
    ],
  });
}, 60_000);

const has = (selector: string) => harness.app.wrapper.find(selector).exists();
const text = (testId: string) => harness.app.wrapper.get(`[data-testid="${testId}"]`).text();
const executionsOf = async (trigger: string) => (await harness.engine.api<{ items: Execution[] }>('GET', `/api/executions?trigger=${trigger}`)).body.items;

describe('trigger page', () => {
  it('Run now: a param the server refuses gets its 400 under the field, focused; valid params start an execution that has them', async () => {
    const app = await harness.mount(`/triggers/${deploy}`);
    await app.until(() => has('[data-testid="run-now"]'));
    await app.wrapper.get('[data-testid="run-now"]').trigger('click');
    await app.until(() => has('[data-testid="run-panel"]'));
    // The required branch left empty: happy-dom submits without the browser's own check, so the server's answer is what shows.
    await app.wrapper.get('[data-testid="run-param-count"]').setValue('2');
    await app.wrapper.get('[data-testid="run-panel"] form').trigger('submit');
    await app.until(() => has('[data-testid="run-error-branch"]'));

    const branch = app.wrapper.get('[data-testid="run-param-branch"]');
    expect(app.wrapper.get('[data-testid="run-error-branch"]').text()).toBe('required');
    expect(branch.attributes('aria-invalid')).toBe('true');
    expect(branch.attributes('aria-describedby')).toBe('run-branch-error');
    expect(document.getElementById('run-branch-error')?.textContent).toBe('required');
    expect(document.activeElement).toBe(branch.element);
    // Only the field it concerns is marked.
    expect(app.wrapper.get('[data-testid="run-param-count"]').attributes('aria-invalid')).toBe('false');
    expect(has('[data-testid="run-error-count"]')).toBe(false);
    expect(await executionsOf(deploy)).toHaveLength(0);

    await branch.setValue('main');
    await app.wrapper.get('[data-testid="run-panel"] form').trigger('submit');
    await app.until(() => app.router.currentRoute.value.name === 'execution');
    const started = await executionsOf(deploy);
    expect(started).toHaveLength(1);
    expect(app.router.currentRoute.value.path).toBe(`/executions/${started[0]!.id}`);
    const execution = await harness.engine.execution(started[0]!.id);
    expect(execution.params).toEqual({ branch: 'main', count: 2 });
    expect(execution.prompt).toContain('main');
  });

  it('the switch on the list disables the trigger on the server, and the one on its page enables it again', async () => {
    const app = await harness.mount('/triggers');
    await app.until(() => has(`[data-testid="trigger-row-${deploy}"] input[type="checkbox"]`));
    const listSwitch = app.wrapper.get(`[data-testid="trigger-row-${deploy}"] input[type="checkbox"]`);
    expect(listSwitch.attributes('aria-label')).toBe('Deploy enabled');
    await listSwitch.setValue(false);
    await app.until(() => app.wrapper.get(`[data-testid="trigger-row-${deploy}"] .switch-text`).text() === 'off');
    expect((await harness.engine.api<Trigger>('GET', `/api/triggers/${deploy}`)).body.enabled).toBe(false);

    await app.open(`/triggers/${deploy}`);
    await app.until(() => has('[data-testid="trigger-enabled"]'));
    const pageSwitch = app.wrapper.get('[data-testid="trigger-enabled"]');
    expect((pageSwitch.element as HTMLInputElement).checked).toBe(false);
    // A disabled trigger cannot be run from its page.
    expect(app.wrapper.get('[data-testid="run-now"]').attributes('disabled')).toBeDefined();
    await pageSwitch.setValue(true);
    await app.until(() => app.wrapper.get('.switch-text').text() === 'Enabled');
    expect((await harness.engine.api<Trigger>('GET', `/api/triggers/${deploy}`)).body.enabled).toBe(true);
    expect(app.wrapper.get('[data-testid="run-now"]').attributes('disabled')).toBeUndefined();
  });

  it('leaving the page cancels the reload a live change scheduled: nothing is fetched for it afterwards', async () => {
    const app = await harness.mount(`/triggers/${deploy}`);
    const reloads = () => app.requested.filter((url) => url.includes(`/api/executions?trigger=${deploy}`)).length;
    await app.until(() => reloads() === 1 && text('live-status').includes('Live'));
    // A run reaches the open page over the live stream: its recent executions reload (coalesced, 500 ms later).
    await harness.engine.run(deploy, { branch: 'first' });
    await app.until(() => reloads() === 2, 5_000);
    // Another run: once the page has heard of it (its listener was added first, so it has scheduled the reload), the reader leaves.
    const heard: string[] = [];
    const stopListening = useLiveStore(app.pinia).subscribe((change) => heard.push(change.id));
    const second = await harness.engine.run(deploy, { branch: 'second' });
    await app.until(() => heard.includes(second), 5_000);
    stopListening();
    await app.open('/budgets');
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(reloads()).toBe(2);
  });

  it('the secret shown after creating a trigger signs a real delivery, and is gone once the page is reloaded', async () => {
    let app = await harness.mount('/triggers/new');
    await app.until(() => has('[data-testid="trigger-form"]'));
    await app.wrapper.get('[data-testid="kind-github"]').setValue(true);
    await app.wrapper.get('[data-testid="field-name"]').setValue('Review pull requests');
    await app.wrapper.get('[data-testid="field-template"]').setValue('Review {{payload.pull_request.title}}');
    await app.wrapper.get('[data-testid="field-github-events"]').setValue('pull_request.opened');
    await app.wrapper.get('[data-testid="trigger-form"]').trigger('submit');
    await app.until(() => has('[data-testid="secret-value"]'));

    const secret = app.wrapper.get('[data-testid="secret-value"]').text().trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const triggerPath = app.router.currentRoute.value.fullPath;
    const webhookUrl = app.wrapper.get('[data-testid="webhook-url"]').text().trim();
    expect(triggerPath).toMatch(/^\/triggers\/trg_[A-Za-z0-9_-]+$/);
    expect(webhookUrl.startsWith(`${harness.engine.server.url}/hooks/`)).toBe(true);
    // It is the trigger's real secret: a delivery signed with it is accepted.
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    // GitHub is not a browser: node's HTTP client, not the page's fetch.
    const delivered = await request(harness.engine.server.url, { method: 'POST', path: new URL(webhookUrl).pathname, headers: githubHeaders({ secret, event: 'pull_request', body }), body });
    expect(delivered.status).toBe(202);

    // Kept nowhere but in the page's memory: not in the URL, not in storage.
    expect(window.location.href).not.toContain(secret);
    expect(JSON.stringify({ ...localStorage })).not.toContain(secret);
    expect(JSON.stringify({ ...sessionStorage })).not.toContain(secret);

    // Reload: a new page (new memory) on the same URL shows the trigger without its secret.
    await app.close();
    app = await harness.mount(triggerPath);
    await app.until(() => has('[data-testid="trigger-name"]') && has('[data-testid="webhook-url"]'));
    expect(app.wrapper.get('[data-testid="trigger-name"]').text()).toBe('Review pull requests');
    expect(has('[data-testid="secret-panel"]')).toBe(false);
    expect(document.body.innerHTML).not.toContain(secret);
  });

  it('a run started just before leaving the page starts, and the reader stays where they went', async () => {
    const app = await harness.mount(`/triggers/${deploy}`);
    await app.until(() => has('[data-testid="run-now"]'));
    await app.wrapper.get('[data-testid="run-now"]').trigger('click');
    await app.until(() => has('[data-testid="run-panel"]'));
    await app.wrapper.get('[data-testid="run-param-branch"]').setValue('left');
    const before = (await executionsOf(deploy)).length;
    const answer = holdAnswers((url, method) => method === 'POST' && url.endsWith(`/api/triggers/${deploy}/run`));
    await app.wrapper.get('[data-testid="run-panel"] form').trigger('submit');
    await app.open('/budgets');
    await answer.release();
    expect(await executionsOf(deploy)).toHaveLength(before + 1);
    expect(app.router.currentRoute.value.path).toBe('/budgets');
  });

  it('a trigger deleted just before leaving its page is deleted, and the reader stays where they went', async () => {
    const doomed = await harness.engine.createTrigger({ name: 'Doomed', promptTemplate: 'hello' });
    const app = await harness.mount(`/triggers/${doomed}`);
    await app.until(() => has('[data-testid="trigger-name"]'));
    await app.wrapper.findAll('button').find((button) => button.text() === 'Delete')!.trigger('click');
    const answer = holdAnswers((url, method) => method === 'DELETE' && url.endsWith(`/api/triggers/${doomed}`));
    await app.wrapper.get('dialog [data-testid="confirm"]').trigger('click');
    await app.open('/usage');
    await answer.release();
    expect((await harness.engine.api('GET', `/api/triggers/${doomed}`)).status).toBe(404);
    expect(app.router.currentRoute.value.path).toBe('/usage');
  });
});

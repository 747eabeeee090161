import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../common/audit.js';
import type { Execution, ExecutionSummary } from '../../common/executions.js';
import type { Delivery, Trigger, TriggerCreate, TriggerCreated } from '../../common/triggers.js';
import { githubExample, githubHeaders, githubSignature } from '../helpers/github-deliveries.js';
import { request, type RawResponse } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess();
});
afterAll(() => server.close());

interface ErrorAnswer {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, target = server): Promise<RawResponse> {
  const json: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  return request(target.url, {
    method,
    path,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${target.key}`, ...json, ...headers },
  });
}

async function createTrigger(definition: TriggerCreate, headers: Record<string, string> = {}): Promise<TriggerCreated> {
  const response = await api('POST', '/api/triggers', definition, headers);
  expect(response.status, response.body).toBe(201);
  return response.json<TriggerCreated>();
}

function deliver(triggerId: string, body: string | Buffer, headers: Record<string, string>, target = server): Promise<RawResponse> {
  return request(target.url, { method: 'POST', path: `/hooks/${triggerId}`, body, headers });
}

/** Sends a payload to a GitHub trigger as GitHub would: signed, as this event. */
function signedSender(trigger: TriggerCreated, event: string): (payload: unknown) => Promise<RawResponse> {
  return (payload) => {
    const body = JSON.stringify(payload);
    return deliver(trigger.id, body, githubHeaders({ secret: trigger.secret!, event, body }));
  };
}

/** What an issue comment with this text does to a new trigger that wants `@agented` mentioned: starts an execution, or is ignored. */
async function commentMentionOutcome(name: string): Promise<(text: string) => Promise<'started' | 'ignored'>> {
  const send = signedSender(await createTrigger({ name, kind: 'github', promptTemplate: 'Answer: {{payload.comment.body}}', github: { events: ['issue_comment.created'], mention: '@agented' } }), 'issue_comment');
  return async (text) => {
    const payload = githubExample('issue_comment', 'created');
    payload.comment.body = text;
    return 'executionId' in (await send(payload)).json<object>() ? 'started' : 'ignored';
  };
}

async function execution(id: string): Promise<Execution> {
  const response = await api('GET', `/api/executions/${id}`);
  expect(response.status).toBe(200);
  return response.json<Execution>();
}

async function executionsOf(triggerId: string): Promise<ExecutionSummary[]> {
  const response = await api('GET', `/api/executions?trigger=${triggerId}&limit=200`);
  expect(response.status).toBe(200);
  return response.json<{ items: ExecutionSummary[] }>().items;
}

async function deliveriesOf(triggerId: string, target = server): Promise<Delivery[]> {
  const response = await api('GET', `/api/triggers/${triggerId}/deliveries?limit=200`, undefined, {}, target);
  expect(response.status).toBe(200);
  return response.json<{ items: Delivery[] }>().items;
}

function expectError(response: RawResponse, status: number, code: string): ErrorAnswer['error'] {
  expect(response.status, response.body).toBe(status);
  const { error } = response.json<ErrorAnswer>();
  expect(error.code).toBe(code);
  return error;
}

function issuePaths(response: RawResponse): string[] {
  return (response.json<ErrorAnswer>().error.issues ?? []).map((issue) => issue.path);
}

const hmac = (secret: string, body: string) => crypto.createHmac('sha256', secret).update(body).digest('hex');
const sha256 = (text: string) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

const githubTrigger = (overrides: Partial<TriggerCreate> = {}): TriggerCreate => ({
  name: 'review pull requests',
  kind: 'github',
  promptTemplate: 'Review the pull request {{payload.pull_request.title}}',
  github: { events: ['pull_request.opened'] },
  ...overrides,
});

describe('trigger administration', () => {
  it('creation shows the secret once; reading never does', async () => {
    const created = await createTrigger(githubTrigger({ backend: 'codex', timeoutSeconds: 600, workingDirectory: '/srv/repo' }));
    expect(created.id).toMatch(/^trg_/);
    expect(created.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(created.webhookPath).toBe(`/hooks/${created.id}`);
    expect(created.signature).toEqual({ scheme: 'github' });

    const read = await api('GET', `/api/triggers/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.json()).not.toHaveProperty('secret');
    expect(read.body).not.toContain(created.secret);
    const { secret: _secret, ...withoutSecret } = created;
    expect(read.json()).toEqual(withoutSecret);

    const list = await api('GET', '/api/triggers?limit=200');
    expect(list.status).toBe(200);
    expect(list.body).not.toContain(created.secret);
    expect(list.json<{ items: Trigger[] }>().items.map((trigger) => trigger.id)).toContain(created.id);
  });

  it('PATCH changes the given fields and leaves the others alone; the kind cannot change', async () => {
    const created = await createTrigger(
      githubTrigger({ backend: 'codex', timeoutSeconds: 600, workingDirectory: '/srv/repo', params: [{ name: 'focus', type: 'string', required: false }], enabled: false }),
    );
    const patched = await api('PATCH', `/api/triggers/${created.id}`, { name: 'renamed', promptTemplate: 'Look at {{payload.pull_request.title}} for {{params.focus}}' });
    expect(patched.status, patched.body).toBe(200);
    const trigger = patched.json<Trigger>();
    expect(trigger).toMatchObject({ name: 'renamed', backend: 'codex', timeoutSeconds: 600, workingDirectory: '/srv/repo', enabled: false, kind: 'github' });
    expect(trigger.params.map((param) => param.name)).toEqual(['focus']);
    expect(trigger.updatedAt >= created.updatedAt).toBe(true);
    expect((await api('GET', `/api/triggers/${created.id}`)).json<Trigger>()).toEqual(trigger);

    const kind = await api('PATCH', `/api/triggers/${created.id}`, { kind: 'webhook' });
    const error = expectError(kind, 400, 'ERR_VALIDATION');
    expect(JSON.stringify(error.issues)).toContain('kind');
    expect((await api('GET', `/api/triggers/${created.id}`)).json<Trigger>().kind).toBe('github');
  });

  it('PATCH merges into object fields: the fields of a schedule or a concurrency setting it leaves out are kept', async () => {
    const created = await createTrigger({
      name: 'weekday mornings',
      kind: 'schedule',
      promptTemplate: 'Tidy up',
      schedule: { cron: '0 9 * * 1-5', timezone: 'Europe/Berlin', missedRunPolicy: 'run-once' },
      concurrency: { key: '{{trigger.id}}', strategy: 'drop-newest' },
    });
    const patched = await api('PATCH', `/api/triggers/${created.id}`, { schedule: { cron: '0 10 * * 1-5' }, concurrency: { strategy: 'queue' } });
    expect(patched.status, patched.body).toBe(200);
    expect(patched.json<Trigger>()).toMatchObject({
      schedule: { cron: '0 10 * * 1-5', timezone: 'Europe/Berlin', missedRunPolicy: 'run-once' },
      concurrency: { key: '{{trigger.id}}', strategy: 'queue' },
    });
    expect(patched.json()).not.toHaveProperty('secret');
    expect((await api('GET', `/api/triggers/${created.id}`)).json<Trigger>().schedule).toEqual({ cron: '0 10 * * 1-5', timezone: 'Europe/Berlin', missedRunPolicy: 'run-once' });
    // A merged object is still checked whole.
    expect(issuePaths(await api('PATCH', `/api/triggers/${created.id}`, { schedule: { timezone: 'Mars/Olympus' } }))).toContain('body.schedule.timezone');
  });

  it('a PATCH replaces the signature whole: a scheme given without a header gets its default header back', async () => {
    const created = await createTrigger({ name: 'custom signature header', kind: 'webhook', promptTemplate: 'Go', signature: { scheme: 'hmac-sha256', header: 'X-Custom-Sig' } });
    // What the edit form sends when its header field is emptied.
    const cleared = await api('PATCH', `/api/triggers/${created.id}`, { signature: { scheme: 'hmac-sha256' } });
    expect(cleared.json<Trigger>().signature).toEqual({ scheme: 'hmac-sha256', header: 'x-signature-256' });
    expect((await api('PATCH', `/api/triggers/${created.id}`, { signature: { scheme: 'hmac-sha256', header: 'X-Other' } })).json<Trigger>().signature).toEqual({ scheme: 'hmac-sha256', header: 'X-Other' });
    const other = await api('PATCH', `/api/triggers/${created.id}`, { signature: { scheme: 'standard-webhooks' } });
    expect(other.json<Trigger>().signature).toEqual({ scheme: 'standard-webhooks' });
  });

  it('a name stored before the rules on names blocks no edit that leaves it alone', async () => {
    const created = await createTrigger({ name: 'legacy', kind: 'manual', promptTemplate: 'Go' });
    const db = new Database(path.join(server.dataDir, 'agented.db'));
    try {
      db.prepare("UPDATE triggers SET definition = json_set(definition, '$.name', ?) WHERE id = ?").run('Deploy\tprod', created.id);
    } finally {
      db.close();
    }
    const disabled = await api('PATCH', `/api/triggers/${created.id}`, { enabled: false });
    expect(disabled.status, disabled.body).toBe(200);
    expect(disabled.json<Trigger>().name).toBe('Deploy\tprod');
    expect(issuePaths(await api('PATCH', `/api/triggers/${created.id}`, { name: 'Deploy\tstaging' }))).toContain('body.name');
    expect((await api('PATCH', `/api/triggers/${created.id}`, { name: 'Deploy prod' })).status).toBe(200);
  });

  it('a mention stored before the rule on mentions blocks no edit that leaves it alone', async () => {
    const created = await createTrigger(githubTrigger({ name: 'legacy mention', github: { events: ['issue_comment.created'], mention: '@agented' } }));
    const db = new Database(path.join(server.dataDir, 'agented.db'));
    try {
      db.prepare("UPDATE triggers SET definition = json_set(definition, '$.github.mention', ?) WHERE id = ?").run('agented', created.id);
    } finally {
      db.close();
    }
    const disabled = await api('PATCH', `/api/triggers/${created.id}`, { enabled: false });
    expect(disabled.status, disabled.body).toBe(200);
    expect(disabled.json<Trigger>().github?.mention).toBe('agented');
    expect(issuePaths(await api('PATCH', `/api/triggers/${created.id}`, { github: { events: ['issue_comment.created'], mention: 'bot' } }))).toContain('body.github.mention');
    expect((await api('PATCH', `/api/triggers/${created.id}`, { github: { events: ['issue_comment.created'], mention: '@agented' } })).status).toBe(200);
  });

  it('a PATCH that changes the signature scheme answers the new secret once; the old one stops working', async () => {
    const created = await createTrigger({ name: 'scheme change', kind: 'webhook', promptTemplate: 'Note {{payload.n}}' });
    const first = JSON.stringify({ n: 1 });
    expect((await deliver(created.id, first, { 'content-type': 'application/json', 'x-signature-256': hmac(created.secret!, first) })).status).toBe(202);

    const requestId = `scheme-${crypto.randomUUID()}`;
    const patched = await api('PATCH', `/api/triggers/${created.id}`, { signature: { scheme: 'github' } }, { 'x-request-id': requestId });
    expect(patched.status, patched.body).toBe(200);
    const { secret } = patched.json<TriggerCreated>();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(secret).not.toBe(created.secret);
    expect(patched.json<Trigger>().signature).toEqual({ scheme: 'github' });
    expect((await api('GET', `/api/triggers/${created.id}`)).body).not.toContain(secret!);

    const second = JSON.stringify({ n: 2 });
    const delivery = (key: string) => githubHeaders({ secret: key, event: 'push', body: second });
    expectError(await deliver(created.id, second, delivery(created.secret!)), 401, 'ERR_SIGNATURE_INVALID');
    expect((await deliver(created.id, second, delivery(secret!))).status).toBe(202);

    const audit = (await api('GET', '/api/audit?limit=500')).json<{ items: AuditEntry[] }>().items.filter((entry) => entry.requestId === requestId);
    expect(audit.map((entry) => entry.action).sort()).toEqual(['trigger.secret_rotated', 'trigger.updated']);
    // To no scheme: the secret is gone, and the answer says so.
    const unsigned = await api('PATCH', `/api/triggers/${created.id}`, { signature: { scheme: 'none' } });
    expect(unsigned.json<TriggerCreated>().secret).toBeNull();
  });

  it('a PATCH records in the audit log only the fields it changed, and one that changes nothing records nothing', async () => {
    const created = await createTrigger(githubTrigger({ name: 'patched without change', maxConcurrent: 2 }));
    const patch = async (body: unknown) => {
      const requestId = `patch-${crypto.randomUUID()}`;
      const answer = await api('PATCH', `/api/triggers/${created.id}`, body, { 'x-request-id': requestId });
      expect(answer.status, answer.body).toBe(200);
      const audit = (await api('GET', `/api/audit?limit=500&targetId=${created.id}`)).json<{ items: AuditEntry[] }>().items;
      return { trigger: answer.json<Trigger>(), audited: audit.filter((entry) => entry.requestId === requestId) };
    };
    for (const same of [{}, { name: 'patched without change' }, { maxConcurrent: 2, enabled: true }, { github: { events: ['pull_request.opened'] } }]) {
      const { trigger, audited } = await patch(same);
      expect(audited, JSON.stringify(same)).toEqual([]);
      expect(trigger.updatedAt).toBe(created.updatedAt);
    }
    const { trigger, audited } = await patch({ name: 'patched with change', maxConcurrent: 2 });
    expect(trigger.name).toBe('patched with change');
    expect(audited.map((entry) => [entry.action, entry.detail])).toEqual([['trigger.updated', { fields: ['name'] }]]);
  });

  it('invalid definitions → 400 ERR_VALIDATION naming the field', async () => {
    const cases: [TriggerCreate, string][] = [
      [{ name: 'nightly', kind: 'schedule', promptTemplate: 'Tidy up', schedule: { cron: '61 25 * * *' } }, 'body.schedule.cron'],
      [{ name: 'manual', kind: 'manual', promptTemplate: 'Build {{params.branch}}' }, 'body.promptTemplate'],
      [{ name: 'relative', kind: 'manual', promptTemplate: 'Go', workingDirectory: 'repos/app' }, 'body.workingDirectory'],
      [{ name: 'no events', kind: 'github', promptTemplate: 'Review' }, 'body.github'],
      [{ name: 'review\u202Etxt.exe', kind: 'manual', promptTemplate: 'Go' }, 'body.name'],
      [{ name: 'nul\u0000byte', kind: 'manual', promptTemplate: 'Go' }, 'body.name'],
      // A command line cannot carry a NUL: such a template could never start its CLI.
      [{ name: 'nul in template', kind: 'manual', promptTemplate: 'Review\u0000 this' }, 'body.promptTemplate'],
      [{ name: 'proto param', kind: 'manual', promptTemplate: 'Go', params: [{ name: '__proto__', type: 'string', required: false }] }, 'body.params'],
      // Without its @ the handle could never match a mention: every comment would be ignored.
      [{ name: 'bare mention', kind: 'github', promptTemplate: 'Go', github: { events: ['issue_comment.created'], mention: 'agented' } }, 'body.github.mention'],
      [{ name: 'spaced mention', kind: 'github', promptTemplate: 'Go', github: { events: ['issue_comment.created'], mention: '@agented bot' } }, 'body.github.mention'],
    ];
    for (const [definition, field] of cases) {
      const response = await api('POST', '/api/triggers', definition);
      expectError(response, 400, 'ERR_VALIDATION');
      expect(issuePaths(response), definition.name).toContain(field);
    }
    // An emoji made with zero-width joiners, or a subdivision flag (tag characters), is a name like any other.
    expect((await createTrigger({ name: 'team \u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}', kind: 'manual', promptTemplate: 'Go' })).name).toBe('team \u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}');
    expect((await createTrigger({ name: 'reviewer 👩\u200D💻', kind: 'manual', promptTemplate: 'Go' })).name).toBe('reviewer 👩\u200D💻');
    const created = await createTrigger({ name: 'schedule', kind: 'schedule', promptTemplate: 'Tidy up', schedule: { cron: '0 9 * * 1-5' } });
    expect(issuePaths(await api('PATCH', `/api/triggers/${created.id}`, { schedule: { cron: 'every day' } }))).toContain('body.schedule.cron');
    expect(issuePaths(await api('PATCH', `/api/triggers/${created.id}`, { name: 'tab\tname' }))).toContain('body.name');
    expect(issuePaths(await api('PATCH', `/api/triggers/${created.id}`, { promptTemplate: '{{params.nope}}' }))).toContain('body.promptTemplate');
  });

  it('DELETE → 204, then 404', async () => {
    const created = await createTrigger(githubTrigger());
    const deleted = await api('DELETE', `/api/triggers/${created.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expectError(await api('GET', `/api/triggers/${created.id}`), 404, 'ERR_TRIGGER_NOT_FOUND');
    expectError(await api('DELETE', `/api/triggers/${created.id}`), 404, 'ERR_TRIGGER_NOT_FOUND');
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    expectError(await deliver(created.id, body, githubHeaders({ secret: created.secret!, event: 'pull_request', body })), 404, 'ERR_TRIGGER_NOT_FOUND');
  });

  it('DELETE removes the trigger\'s deliveries (the inspector\'s) with it and keeps its executions', async () => {
    const created = await createTrigger(githubTrigger());
    const other = await createTrigger(githubTrigger());
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    const accepted: string[] = [];
    for (const trigger of [created, created, other]) {
      const answer = await deliver(trigger.id, body, githubHeaders({ secret: trigger.secret!, event: 'pull_request', body }));
      expect(answer.status, answer.body).toBe(202);
      accepted.push(answer.json<{ executionId: string }>().executionId);
    }
    expect(await deliveriesOf(created.id)).toHaveLength(2);

    expect((await api('DELETE', `/api/triggers/${created.id}`)).status).toBe(204);
    const db = new Database(path.join(server.dataDir, 'agented.db'), { readonly: true });
    try {
      const deliveries = db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM deliveries WHERE trigger_id = ?');
      expect(deliveries.get(created.id)!.n).toBe(0);
      expect(deliveries.get(other.id)!.n).toBe(1);
    } finally {
      db.close();
    }
    for (const id of accepted) expect((await execution(id)).id).toBe(id);
  });

  it('a delivery still being prepared when its trigger is deleted is answered 404 and leaves nothing behind', async () => {
    const created = await createTrigger(githubTrigger());
    // Large payloads keep the preparation thread busy (signature and JSON of 400 KB each), so most are under way when the DELETE commits.
    const example = githubExample('pull_request', 'opened') as Record<string, unknown>;
    const bodies = Array.from({ length: 40 }, (_, index) => JSON.stringify({ ...example, padding: `${index} ${'x'.repeat(400_000)}` }));
    const answers = bodies.map((body) => deliver(created.id, body, githubHeaders({ secret: created.secret!, event: 'pull_request', body })));
    await Promise.race(answers);
    expect((await api('DELETE', `/api/triggers/${created.id}`)).status).toBe(204);
    const settled = await Promise.all(answers);
    for (const answer of settled) expect([202, 404], answer.body).toContain(answer.status);
    // Some were still being prepared: those are refused like any delivery for a trigger that is not there.
    expect(settled.filter((answer) => answer.status === 404).length).toBeGreaterThan(0);
    const db = new Database(path.join(server.dataDir, 'agented.db'), { readonly: true });
    try {
      expect(db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM deliveries WHERE trigger_id = ?').get(created.id)!.n).toBe(0);
      // Exactly the accepted deliveries have an execution.
      const executions = db.prepare<[string], { id: string }>('SELECT id FROM executions WHERE trigger_id = ?').all(created.id).map((row) => row.id);
      const acceptedIds = settled.filter((answer) => answer.status === 202).map((answer) => answer.json<{ executionId: string }>().executionId);
      expect(executions.sort()).toEqual(acceptedIds.sort());
    } finally {
      db.close();
    }
  });

  it('every administrative action is in the audit log with the request id that did it', async () => {
    const requestId = (step: string) => `audit-${step}-${crypto.randomUUID()}`;
    const ids = { create: requestId('create'), update: requestId('update'), disable: requestId('disable'), rotate: requestId('rotate'), delete: requestId('delete') };
    const created = await createTrigger(githubTrigger(), { 'x-request-id': ids.create });
    expect((await api('PATCH', `/api/triggers/${created.id}`, { name: 'audited' }, { 'x-request-id': ids.update })).status).toBe(200);
    expect((await api('PATCH', `/api/triggers/${created.id}`, { enabled: false }, { 'x-request-id': ids.disable })).status).toBe(200);
    expect((await api('POST', `/api/triggers/${created.id}/secret`, undefined, { 'x-request-id': ids.rotate })).status).toBe(200);
    expect((await api('DELETE', `/api/triggers/${created.id}`, undefined, { 'x-request-id': ids.delete })).status).toBe(204);

    const audit = await api('GET', '/api/audit?limit=500');
    expect(audit.status).toBe(200);
    const entries = audit.json<{ items: AuditEntry[] }>().items.filter((entry) => entry.targetId === created.id);
    expect(entries.map((entry) => [entry.action, entry.requestId, entry.actor])).toEqual([
      ['trigger.deleted', ids.delete, 'key'],
      ['trigger.secret_rotated', ids.rotate, 'key'],
      ['trigger.disabled', ids.disable, 'key'],
      ['trigger.updated', ids.update, 'key'],
      ['trigger.created', ids.create, 'key'],
    ]);
    expect(audit.body).not.toContain(created.secret);
  });

  it('rotating the secret: the old one stops working at once, the new one works', async () => {
    const created = await createTrigger(githubTrigger());
    const rotated = await api('POST', `/api/triggers/${created.id}/secret`);
    expect(rotated.status).toBe(200);
    const { secret } = rotated.json<TriggerCreated>();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(secret).not.toBe(created.secret);
    expect((await api('GET', `/api/triggers/${created.id}`)).body).not.toContain(secret);

    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    expectError(await deliver(created.id, body, githubHeaders({ secret: created.secret!, event: 'pull_request', body })), 401, 'ERR_SIGNATURE_INVALID');
    const fresh = await deliver(created.id, body, githubHeaders({ secret: secret!, event: 'pull_request', body }));
    expect(fresh.status, fresh.body).toBe(202);

    const manual = await createTrigger({ name: 'no secret', kind: 'manual', promptTemplate: 'Go' });
    expect(manual.secret).toBeNull();
    expectError(await api('POST', `/api/triggers/${manual.id}/secret`), 409, 'ERR_TRIGGER_KIND');
  });
});

describe('GitHub deliveries', () => {
  let trigger: TriggerCreated;
  beforeAll(async () => {
    trigger = await createTrigger(githubTrigger());
  });

  it('a signed pull_request.opened → 202 and a queued execution with the title fenced as untrusted input', async () => {
    const payload = githubExample('pull_request', 'opened');
    const body = JSON.stringify(payload);
    const headers = githubHeaders({ secret: trigger.secret!, event: 'pull_request', body });
    const accepted = await deliver(trigger.id, body, headers);
    expect(accepted.status, accepted.body).toBe(202);
    const { executionId } = accepted.json<{ executionId: string }>();
    expect(executionId).toMatch(/^exe_/);

    const queued = await execution(executionId);
    expect(queued).toMatchObject({ id: executionId, triggerId: trigger.id, source: 'webhook', backend: 'claude' });
    const title = payload.pull_request.title;
    const block = /<untrusted-input[^>]*>\n([\s\S]*?)\n<\/untrusted-input[^>]*>/.exec(queued.prompt);
    expect(block?.[0], queued.prompt).toContain('field="payload.pull_request.title"');
    expect(block?.[1]).toBe(title);
    expect(queued.promptContext).toEqual([{ field: 'payload.pull_request.title', value: title, length: title.length, sha256: sha256(title), truncated: false }]);
    const [delivery] = await deliveriesOf(trigger.id);
    expect(delivery).toMatchObject({ outcome: 'execution', verified: true, executionId, dedupKey: `id:${headers['x-github-delivery']}` });
    expect(queued.deliveryId).toBe(delivery!.id);

    // GitHub redelivers with the same X-GitHub-Delivery: nothing new starts.
    const again = await deliver(trigger.id, body, headers);
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ duplicate: true });
    expect((await executionsOf(trigger.id)).map((item) => item.id)).toEqual([executionId]);
  });

  it('a delivery that takes the Express route (a query string) is handled the same way', async () => {
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    const headers = githubHeaders({ secret: trigger.secret!, event: 'pull_request', body });
    const accepted = await request(server.url, { method: 'POST', path: `/hooks/${trigger.id}?from=express`, body, headers });
    expect(accepted.status, accepted.body).toBe(202);
    expect(accepted.headers['x-request-id']).toBeTruthy();
    const again = await deliver(trigger.id, body, headers);
    expect(again.json()).toEqual({ duplicate: true });
    const tampered = await request(server.url, { method: 'POST', path: `/hooks/${trigger.id}?from=express`, body: body.replace('README', 'readme'), headers });
    expectError(tampered, 401, 'ERR_SIGNATURE_INVALID');
  });

  it('one byte changed after signing → 401 ERR_SIGNATURE_INVALID, nothing queued', async () => {
    const before = (await executionsOf(trigger.id)).length;
    const body = Buffer.from(JSON.stringify(githubExample('pull_request', 'opened')));
    const headers = githubHeaders({ secret: trigger.secret!, event: 'pull_request', body });
    const tampered = Buffer.from(body);
    const at = tampered.indexOf('README');
    tampered[at] = 'r'.charCodeAt(0);
    expectError(await deliver(trigger.id, tampered, headers), 401, 'ERR_SIGNATURE_INVALID');
    const { 'x-hub-signature-256': _signature, ...unsigned } = headers;
    expectError(await deliver(trigger.id, body, unsigned), 401, 'ERR_SIGNATURE_INVALID');
    expect(await executionsOf(trigger.id)).toHaveLength(before);
  });

  it('an action the trigger does not listen to → 202 ignored with the reason', async () => {
    const body = JSON.stringify(githubExample('pull_request', 'closed'));
    const response = await deliver(trigger.id, body, githubHeaders({ secret: trigger.secret!, event: 'pull_request', body }));
    expect(response.status).toBe(202);
    const answer = response.json<{ ignored: boolean; reason: string }>();
    expect(answer.ignored).toBe(true);
    expect(answer.reason).toContain('pull_request.closed');
    expect((await deliveriesOf(trigger.id))[0]).toMatchObject({ outcome: 'ignored', verified: true, reason: answer.reason, executionId: null });
  });

  it('a ping → 200, recorded', async () => {
    const body = JSON.stringify(githubExample('ping'));
    const headers = githubHeaders({ secret: trigger.secret!, event: 'ping', body });
    const response = await deliver(trigger.id, body, headers);
    expect(response.status).toBe(200);
    expect(response.json()).toEqual({ ping: true });
    const [delivery] = await deliveriesOf(trigger.id);
    expect(delivery).toMatchObject({ outcome: 'ping', verified: true, executionId: null, body });
    expect(delivery!.headers['x-github-event']).toBe('ping');
  });

  it('form-encoded (payload=<json>) signed over the exact form body → 202', async () => {
    const payload = githubExample('pull_request', 'opened');
    payload.pull_request.title = 'Form & encoded: 100% + "quotes" ✓';
    const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const response = await deliver(trigger.id, body, githubHeaders({ secret: trigger.secret!, event: 'pull_request', body, contentType: 'application/x-www-form-urlencoded' }));
    expect(response.status, response.body).toBe(202);
    const queued = await execution(response.json<{ executionId: string }>().executionId);
    expect(queued.promptContext[0]).toMatchObject({ field: 'payload.pull_request.title', sha256: sha256(payload.pull_request.title) });
  });

  it('issue_comment.created with a mention filter: only a comment mentioning @agented starts an execution', async () => {
    const comments = await createTrigger({
      name: 'answer mentions',
      kind: 'github',
      promptTemplate: 'Answer the comment on "{{payload.issue.title}}": {{payload.comment.body}}',
      github: { events: ['issue_comment.created'], mention: '@agented' },
    });
    const send = signedSender(comments, 'issue_comment');

    const plain = githubExample('issue_comment', 'created');
    expect(plain.comment.body).not.toContain('@agented');
    const ignored = await send(plain);
    expect(ignored.status).toBe(202);
    expect(ignored.json()).toEqual({ ignored: true, reason: expect.stringContaining('@agented') as string });

    const mentioning = githubExample('issue_comment', 'created');
    mentioning.comment.body = `@agented ${mentioning.comment.body}`;
    const accepted = await send(mentioning);
    expect(accepted.status, accepted.body).toBe(202);
    const queued = await execution(accepted.json<{ executionId: string }>().executionId);
    expect(queued.promptContext.map((entry) => entry.field)).toEqual(['payload.issue.title', 'payload.comment.body']);
    expect(queued.prompt).toContain(mentioning.issue.title);

    const edited = githubExample('issue_comment', 'edited');
    edited.comment.body = '@agented again';
    expect((await send(edited)).json()).toMatchObject({ ignored: true });
    expect(await executionsOf(comments.id)).toHaveLength(1);
  });

  it('a mention in a quoted reply or in code is not one: a "Quote reply" to an earlier mention starts nothing', async () => {
    const outcome = await commentMentionOutcome('quoted mentions');
    expect(await outcome('> @agented fix the failing test\r\n\r\nThanks, that was quick.')).toBe('ignored');
    expect(await outcome('>> @agented nested quote\nok')).toBe('ignored');
    expect(await outcome('Run it with:\n```\n@agented fix\n```\nlater')).toBe('ignored');
    expect(await outcome('Type `@agented fix` to ask it.')).toBe('ignored');
    // Outside the quote or the code, the same comment is a mention.
    expect(await outcome('> earlier words\n\n@agented please look again')).toBe('started');
    expect(await outcome('`code` then @agented')).toBe('started');
  });

  it('a stray backtick does not hide a mention in a later paragraph (a code span never crosses a blank line or a quote)', async () => {
    const outcome = await commentMentionOutcome('stray backticks');
    expect(await outcome('The regex needs a ` escaped.\n\n@agented please update `parser.ts`.')).toBe('started');
    expect(await outcome('A ` here\n> quoted\n@agented fix `it`')).toBe('started');
    expect(await outcome('A ` here\n```\ncode\n```\n@agented fix `it`')).toBe('started');
    // Within one paragraph the span holds, as GitHub renders it.
    expect(await outcome('Type ` @agented fix\nthis ` to ask it.')).toBe('ignored');
  });

  it('pull_request_review.submitted with a mention filter: the mention is looked for in the review, not in the pull request\'s description', async () => {
    const reviews = await createTrigger({
      name: 'answer reviews',
      kind: 'github',
      promptTemplate: 'Address the review: {{payload.review.body}}',
      github: { events: ['pull_request_review.submitted'], mention: '@agented' },
    });
    const send = signedSender(reviews, 'pull_request_review');

    const mentioning = githubExample('pull_request_review', 'submitted');
    expect(mentioning.pull_request.body).not.toContain('@agented');
    mentioning.review.body = '@agented please fix the typo';
    const accepted = await send(mentioning);
    expect(accepted.status, accepted.body).toBe(202);
    expect(accepted.json()).toHaveProperty('executionId');

    // A description that mentions the handle does not make every review on the pull request a mention.
    for (const reviewBody of ['LGTM', null]) {
      const approval = githubExample('pull_request_review', 'submitted');
      approval.pull_request.body = 'Fixes the typo. cc @agented';
      approval.review.body = reviewBody;
      expect((await send(approval)).json()).toMatchObject({ ignored: true });
    }
    expect(await executionsOf(reviews.id)).toHaveLength(1);
  });

  it('an empty X-GitHub-Delivery is no delivery id: deliveries are told apart by their bodies', async () => {
    const send = (payload: unknown) => {
      const body = JSON.stringify(payload);
      return deliver(trigger.id, body, githubHeaders({ secret: trigger.secret!, event: 'pull_request', body, deliveryId: '' }));
    };
    const first = githubExample('pull_request', 'opened');
    const second = githubExample('pull_request', 'opened');
    second.pull_request.title = 'Another pull request';
    expect((await send(first)).status).toBe(202);
    const other = await send(second);
    expect(other.status, other.body).toBe(202);
    expect((await deliveriesOf(trigger.id))[0]).toMatchObject({ outcome: 'execution', dedupKey: `body:${sha256(JSON.stringify(second))}` });
    expect((await send(second)).json()).toEqual({ duplicate: true });
  });
});

describe('Standard Webhooks deliveries', () => {
  // The test vector of the Standard Webhooks reference libraries
  // (https://github.com/standard-webhooks/standard-webhooks, javascript/src/index.test.ts).
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    payload: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };
  let trigger: TriggerCreated;
  beforeAll(async () => {
    trigger = await createTrigger({ name: 'standard', kind: 'webhook', promptTemplate: 'Handle {{payload.type}}', signature: { scheme: 'standard-webhooks' } });
  });

  function signed(secret: string, body: string, at = new Date(), id = `msg_${crypto.randomUUID()}`): Record<string, string> {
    return {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, at, body),
    };
  }

  it('the signing helper reproduces the spec test vector', () => {
    expect(new Webhook(vector.secret).sign(vector.id, new Date(vector.timestamp * 1000), vector.payload)).toBe(vector.signature);
  });

  it('the (old) test vector is refused for its timestamp', async () => {
    expect(trigger.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const response = await deliver(trigger.id, vector.payload, {
      'content-type': 'application/json',
      'webhook-id': vector.id,
      'webhook-timestamp': String(vector.timestamp),
      'webhook-signature': vector.signature,
    });
    expect(expectError(response, 401, 'ERR_SIGNATURE_INVALID').message).toMatch(/timestamp/i);
    expect((await deliveriesOf(trigger.id))[0]).toMatchObject({ outcome: 'rejected', verified: false, reason: expect.stringMatching(/timestamp/i) as string });
  });

  it('signed now → 202; the same webhook-id again → 200 duplicate', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_1' } });
    const headers = signed(trigger.secret!, body);
    const accepted = await deliver(trigger.id, body, headers);
    expect(accepted.status, accepted.body).toBe(202);
    const queued = await execution(accepted.json<{ executionId: string }>().executionId);
    expect(queued).toMatchObject({ source: 'webhook' });

    const again = await deliver(trigger.id, body, headers);
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ duplicate: true });
    const resigned = await deliver(trigger.id, body, signed(trigger.secret!, body, new Date(), headers['webhook-id']));
    expect(resigned.json()).toEqual({ duplicate: true });
    expect(await executionsOf(trigger.id)).toHaveLength(1);
  });

  it('a correctly signed body that is not JSON → 400 ERR_BAD_JSON, recorded as verified', async () => {
    const body = 'not json at all';
    expectError(await deliver(trigger.id, body, signed(trigger.secret!, body)), 400, 'ERR_BAD_JSON');
    expect((await deliveriesOf(trigger.id))[0]).toMatchObject({ outcome: 'rejected', verified: true, body });
  });

  it('a webhook-timestamp that is not a whole number of seconds → 401, though a signature over its leading digits matches', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_3' } });
    for (const suffix of ['.5', 'abc', ' 1']) {
      const headers = signed(trigger.secret!, body);
      headers['webhook-timestamp'] += suffix;
      expect(expectError(await deliver(trigger.id, body, headers), 401, 'ERR_SIGNATURE_INVALID').message).toMatch(/timestamp/i);
    }
    expect(await executionsOf(trigger.id)).toHaveLength(1);
  });

  it('10 minutes old → 401; a wrong secret → 401', async () => {
    const body = JSON.stringify({ type: 'invoice.paid', data: { id: 'in_2' } });
    const old = await deliver(trigger.id, body, signed(trigger.secret!, body, new Date(Date.now() - 10 * 60_000)));
    expect(expectError(old, 401, 'ERR_SIGNATURE_INVALID').message).toMatch(/timestamp/i);
    const wrongSecret = `whsec_${crypto.randomBytes(32).toString('base64')}`;
    expectError(await deliver(trigger.id, body, signed(wrongSecret, body)), 401, 'ERR_SIGNATURE_INVALID');
    expectError(await deliver(trigger.id, body, { 'content-type': 'application/json' }), 401, 'ERR_SIGNATURE_INVALID');
    expect(await executionsOf(trigger.id)).toHaveLength(1);
  });
});

describe('plain HMAC-SHA256 and unsigned deliveries', () => {

  it('a webhook trigger defaults to HMAC-SHA256 in X-Signature-256, with or without the sha256= prefix', async () => {
    const trigger = await createTrigger({ name: 'plain', kind: 'webhook', promptTemplate: 'Deploy {{payload.ref}}' });
    expect(trigger.signature).toEqual({ scheme: 'hmac-sha256', header: 'x-signature-256' });
    const first = JSON.stringify({ ref: 'refs/heads/main' });
    const second = JSON.stringify({ ref: 'refs/heads/next' });
    const withPrefix = await deliver(trigger.id, first, { 'content-type': 'application/json', 'X-Signature-256': `sha256=${hmac(trigger.secret!, first)}` });
    expect(withPrefix.status, withPrefix.body).toBe(202);
    const bare = await deliver(trigger.id, second, { 'content-type': 'application/json', 'X-Signature-256': hmac(trigger.secret!, second) });
    expect(bare.status, bare.body).toBe(202);
    expectError(await deliver(trigger.id, second, { 'content-type': 'application/json', 'X-Signature-256': hmac('another secret', second) }), 401, 'ERR_SIGNATURE_INVALID');
    expectError(await deliver(trigger.id, second, { 'content-type': 'application/json', 'X-Hub-Signature-256': githubSignature(trigger.secret!, second) }), 401, 'ERR_SIGNATURE_INVALID');
    expect(await executionsOf(trigger.id)).toHaveLength(2);
  });

  it('a body that is not UTF-8 is refused before its signature: its bytes could not be told from others that decode alike', async () => {
    const trigger = await createTrigger({ name: 'bytes', kind: 'webhook', promptTemplate: 'Note {{payload.n}}' });
    const sign = (body: Buffer) => crypto.createHmac('sha256', trigger.secret!).update(body).digest('hex');
    // Latin-1 "café", signed over its own bytes: the signature is right, the text is not UTF-8.
    const latin1 = Buffer.from('{"n":"caf\xe9"}', 'latin1');
    expect(expectError(await deliver(trigger.id, latin1, { 'content-type': 'application/json', 'x-signature-256': sign(latin1) }), 401, 'ERR_SIGNATURE_INVALID').message).toMatch(/UTF-8/);
    // A signed body holding U+FFFD is accepted; the same signature over other bytes that decode to it is not.
    const replacement = Buffer.from('{"n":"\uFFFD"}', 'utf8');
    const signature = sign(replacement);
    expect((await deliver(trigger.id, replacement, { 'content-type': 'application/json', 'x-signature-256': signature })).status).toBe(202);
    for (const bad of [0xff, 0x80, 0xc0]) {
      const forged = Buffer.concat([Buffer.from('{"n":"'), Buffer.from([bad]), Buffer.from('"}')]);
      expectError(await deliver(trigger.id, forged, { 'content-type': 'application/json', 'x-signature-256': signature }), 401, 'ERR_SIGNATURE_INVALID');
    }
    expect(await executionsOf(trigger.id)).toHaveLength(1);
  });

  it('a custom header name', async () => {
    const trigger = await createTrigger({ name: 'custom header', kind: 'webhook', promptTemplate: 'Go', signature: { scheme: 'hmac-sha256', header: 'X-Acme-Signature' } });
    const body = JSON.stringify({ event: 'build.finished' });
    expect((await deliver(trigger.id, body, { 'content-type': 'application/json', 'x-acme-signature': hmac(trigger.secret!, body) })).status).toBe(202);
    expectError(await deliver(trigger.id, body, { 'content-type': 'application/json', 'x-signature-256': hmac(trigger.secret!, body) }), 401, 'ERR_SIGNATURE_INVALID');
  });

  it('scheme none dedups on the body within the TTL: the same body twice is a duplicate, another body is new', async () => {
    const trigger = await createTrigger({ name: 'unsigned', kind: 'webhook', promptTemplate: 'Note {{payload.n}}', signature: { scheme: 'none' } });
    expect(trigger.secret).toBeNull();
    const body = JSON.stringify({ n: 1 });
    const first = await deliver(trigger.id, body, { 'content-type': 'application/json' });
    expect(first.status, first.body).toBe(202);
    const again = await deliver(trigger.id, body, { 'content-type': 'application/json' });
    expect(again.status).toBe(200);
    expect(again.json()).toEqual({ duplicate: true });
    const other = await deliver(trigger.id, JSON.stringify({ n: 2 }), { 'content-type': 'application/json' });
    expect(other.status).toBe(202);
    expect(await executionsOf(trigger.id)).toHaveLength(2);
    const [latest, duplicate] = await deliveriesOf(trigger.id);
    expect(latest).toMatchObject({ outcome: 'execution', verified: true });
    expect(duplicate).toMatchObject({ outcome: 'duplicate', dedupKey: `body:${sha256(body)}`, executionId: null });
  });
});

describe('deeply nested payloads', () => {
  // JSON.parse takes any depth; writing the value back as text (JSON.stringify) recurses and runs out of stack.
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it('a value nested too deeply to write as text is rendered empty, in the prompt and the concurrency key: 202, not 500', async () => {
    const trigger = await createTrigger({
      name: 'deep',
      kind: 'webhook',
      promptTemplate: 'Look at {{payload.deep}} from {{payload.who}}',
      signature: { scheme: 'none' },
      concurrency: { key: '{{payload.deep}}', strategy: 'queue' },
    });
    const body = `{"who":"sender","deep":${nested(100_000)}}`;
    const accepted = await deliver(trigger.id, body, { 'content-type': 'application/json' });
    expect(accepted.status, accepted.body).toBe(202);
    const queued = await execution(accepted.json<{ executionId: string }>().executionId);
    expect(queued.promptContext.map((entry) => [entry.field, entry.value])).toEqual([
      ['payload.deep', ''],
      ['payload.who', 'sender'],
    ]);
    expect((await deliveriesOf(trigger.id))[0]).toMatchObject({ outcome: 'execution', bodyBytes: body.length });
  });
});

describe('delivery inspector', () => {
  it('every delivery, newest first, rejected ones with a reason, signatures masked, bodies kept', async () => {
    const trigger = await createTrigger(githubTrigger({ name: 'inspected' }));
    const opened = JSON.stringify(githubExample('pull_request', 'opened'));
    const closed = JSON.stringify(githubExample('pull_request', 'closed'));
    const sent = [
      { body: opened, headers: githubHeaders({ secret: trigger.secret!, event: 'pull_request', body: opened }), outcome: 'execution' },
      { body: closed, headers: githubHeaders({ secret: 'not the secret', event: 'pull_request', body: closed }), outcome: 'rejected' },
      { body: closed, headers: githubHeaders({ secret: trigger.secret!, event: 'pull_request', body: closed }), outcome: 'ignored' },
    ];
    for (const delivery of sent) await deliver(trigger.id, delivery.body, { ...delivery.headers, authorization: 'Bearer not-for-the-log' });

    const deliveries = await deliveriesOf(trigger.id);
    expect(deliveries.map((delivery) => delivery.outcome)).toEqual(sent.map((delivery) => delivery.outcome).reverse());
    expect(deliveries.map((delivery) => delivery.headers['x-github-delivery'])).toEqual(sent.map((delivery) => delivery.headers['x-github-delivery']).reverse());
    for (const [index, delivery] of deliveries.entries()) {
      const original = sent[sent.length - 1 - index]!;
      expect(delivery.body).toBe(original.body);
      expect(delivery).toMatchObject({ triggerId: trigger.id, bodyBytes: Buffer.byteLength(original.body), truncated: false });
      expect(delivery.headers['x-hub-signature-256']).toBe('[masked]');
      expect(delivery.headers.authorization).toBe('[masked]');
      expect(delivery.headers['content-type']).toBe('application/json');
    }
    expect(deliveries[1]).toMatchObject({ verified: false, outcome: 'rejected', reason: expect.stringContaining('X-Hub-Signature-256') as string, executionId: null });
    expect(deliveries[2]!.verified).toBe(true);
    expect(deliveries[0]!.receivedAt >= deliveries[2]!.receivedAt).toBe(true);

    const page = await api('GET', `/api/triggers/${trigger.id}/deliveries?limit=2`);
    const first = page.json<{ items: Delivery[]; nextCursor: string }>();
    expect(first.items.map((delivery) => delivery.id)).toEqual(deliveries.slice(0, 2).map((delivery) => delivery.id));
    const rest = await api('GET', `/api/triggers/${trigger.id}/deliveries?limit=2&cursor=${first.nextCursor}`);
    expect(rest.json<{ items: Delivery[]; nextCursor: string | null }>()).toEqual({ items: deliveries.slice(2), nextCursor: null });
    expect(issuePaths(await api('GET', `/api/triggers/${trigger.id}/deliveries?cursor=abc`))).toContain('query.cursor');
  });

  it('each delivery says what became of its signature check, as it was when it came: passed, failed, none, or not reached', async () => {
    const trigger = await createTrigger({ name: 'checks', kind: 'webhook', promptTemplate: 'Go' });
    const body = '{"a":1}';
    const signedHeaders = { 'content-type': 'application/json', 'x-signature-256': hmac(trigger.secret!, body) };
    expect((await deliver(trigger.id, body, signedHeaders)).status).toBe(202);
    expect((await deliver(trigger.id, '{"a":2}', signedHeaders)).status).toBe(401);
    // A correct signature to a disabled trigger: refused before the check, which says nothing about the secret.
    expect((await api('PATCH', `/api/triggers/${trigger.id}`, { enabled: false })).status).toBe(200);
    expect((await deliver(trigger.id, body, signedHeaders)).status).toBe(409);
    // Without a scheme there is nothing to check; the deliveries before keep what their checks said.
    expect((await api('PATCH', `/api/triggers/${trigger.id}`, { enabled: true, signature: { scheme: 'none' } })).status).toBe(200);
    expect((await deliver(trigger.id, '{"a":3}', { 'content-type': 'application/json' })).status).toBe(202);
    const checks = (await deliveriesOf(trigger.id)).map((delivery) => [delivery.outcome, delivery.signatureCheck]);
    expect(checks).toEqual([
      ['execution', 'none'],
      ['rejected', 'not-reached'],
      ['rejected', 'failed'],
      ['execution', 'passed'],
    ]);
  });

  it('a custom HMAC header is masked too', async () => {
    const trigger = await createTrigger({ name: 'masked', kind: 'webhook', promptTemplate: 'Go', signature: { scheme: 'hmac-sha256', header: 'X-Acme-Signature' } });
    const body = '{"a":1}';
    await deliver(trigger.id, body, { 'content-type': 'application/json', 'x-acme-signature': crypto.createHmac('sha256', trigger.secret!).update(body).digest('hex') });
    expect((await deliveriesOf(trigger.id))[0]!.headers['x-acme-signature']).toBe('[masked]');
  });

  it('a body over 256 KB is kept truncated, with its full size', async () => {
    const trigger = await createTrigger({ name: 'big', kind: 'webhook', promptTemplate: 'Read {{payload.text}}', signature: { scheme: 'none' } });
    const body = JSON.stringify({ text: 'x'.repeat(300 * 1024) });
    const response = await deliver(trigger.id, body, { 'content-type': 'application/json' });
    expect(response.status, response.body).toBe(202);
    const [delivery] = await deliveriesOf(trigger.id);
    expect(delivery).toMatchObject({ truncated: true, bodyBytes: Buffer.byteLength(body), outcome: 'execution' });
    expect(delivery!.body.startsWith(body.slice(0, 256 * 1024))).toBe(true);
    expect(delivery!.body.length).toBeLessThan(body.length);
    expect(delivery!.body.length).toBeLessThan(256 * 1024 + 100);
    const queued = await execution(response.json<{ executionId: string }>().executionId);
    expect(queued.promptContext[0]).toMatchObject({ field: 'payload.text', length: 300 * 1024, truncated: true });
  });

  it('the pruner keeps the newest AGENTED_DELIVERIES_KEPT deliveries of each trigger', async () => {
    const first = await startInProcess();
    try {
      const create = await api('POST', '/api/triggers', { name: 'pruned', kind: 'webhook', promptTemplate: 'Go', signature: { scheme: 'none' } }, {}, first);
      const trigger = create.json<TriggerCreated>();
      for (let n = 0; n < 8; n += 1) {
        expect((await deliver(trigger.id, JSON.stringify({ n }), { 'content-type': 'application/json' }, first)).status).toBe(202);
      }
      expect(await deliveriesOf(trigger.id, first)).toHaveLength(8);

      // The pruner runs once at start: the next worker on the same database (one at a time: the data dir lock) with a lower limit prunes it.
      await first.worker.close();
      const second = await startInProcess({ AGENTED_DATA_DIR: first.dataDir, AGENTED_DELIVERIES_KEPT: '5' });
      try {
        const kept = await deliveriesOf(trigger.id, second);
        expect(kept.map((delivery) => delivery.body)).toEqual([7, 6, 5, 4, 3].map((n) => JSON.stringify({ n })));
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });
});

describe('the inspector\'s deliveries during a burst', () => {
  it('a trigger never has more than AGENTED_DELIVERIES_KEPT deliveries stored, the pruner not waited for, and their pages are reused', async () => {
    const server = await startInProcess({ AGENTED_DELIVERIES_KEPT: '5' });
    try {
      const create = await api('POST', '/api/triggers', { name: 'bursty', kind: 'webhook', promptTemplate: 'Go {{payload.n}}', signature: { scheme: 'hmac-sha256' } }, {}, server);
      const trigger = create.json<TriggerCreated>();
      const filler = 'x'.repeat(20_000);
      const signed = (n: number) => {
        const body = JSON.stringify({ n, filler });
        return deliver(trigger.id, body, { 'content-type': 'application/json', 'x-signature-256': crypto.createHmac('sha256', trigger.secret!).update(body).digest('hex') }, server);
      };
      // 300 accepted and 30 rejected (a wrong signature) deliveries of 20 KB, 30 at a time.
      for (let wave = 0; wave < 10; wave += 1) {
        const answers = await Promise.all([
          ...Array.from({ length: 30 }, (_, i) => signed(wave * 30 + i)),
          ...Array.from({ length: 3 }, () => deliver(trigger.id, JSON.stringify({ filler }), { 'content-type': 'application/json', 'x-signature-256': '00' }, server)),
        ]);
        expect(answers.map((answer) => answer.status).sort()).toEqual([...Array(30).fill(202), 401, 401, 401]);
      }
      const db = new Database(path.join(server.dataDir, 'agented.db'), { readonly: true, fileMustExist: true });
      try {
        expect((db.prepare('SELECT count(*) AS n FROM deliveries WHERE trigger_id = ?').get(trigger.id) as { n: number }).n).toBe(5);
        expect((db.prepare('SELECT count(*) AS n FROM executions WHERE trigger_id = ?').get(trigger.id) as { n: number }).n).toBe(300);
        // 330 bodies of 20 KB are 6.6 MB: had each been appended until a pruning pass, the database would have grown past that.
        const bytes = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
        expect(bytes).toBeLessThan(3 * 1024 * 1024);
      } finally {
        db.close();
      }
      expect(await deliveriesOf(trigger.id, server)).toHaveLength(5);
    } finally {
      await server.close();
    }
  });
});

describe('the body limit (AGENTED_MAX_HOOK_BODY_BYTES)', () => {
  let limited: InProcessServer;
  beforeAll(async () => {
    limited = await startInProcess({ AGENTED_MAX_HOOK_BODY_BYTES: '1024' });
  });
  afterAll(() => limited.close());

  /** Sends `body` in pieces with chunked transfer encoding (no Content-Length), and reads the answer. */
  function sendChunked(triggerId: string, pieces: string[]): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const url = new URL(`/hooks/${triggerId}`, limited.url);
      const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (const piece of pieces) req.write(piece);
      req.end();
    });
  }

  it('a body over the limit → 413 JSON, whether its length is declared or it comes chunked', async () => {
    const created = await api('POST', '/api/triggers', { name: 'small', kind: 'webhook', promptTemplate: 'Go', signature: { scheme: 'none' } }, {}, limited);
    const { id } = created.json<TriggerCreated>();
    const big = JSON.stringify({ text: 'x'.repeat(4000) });
    expectError(await deliver(id, big, { 'content-type': 'application/json' }, limited), 413, 'ERR_BODY_TOO_LARGE');
    const chunked = await sendChunked(id, [big.slice(0, 1000), big.slice(1000, 2500), big.slice(2500)]);
    expect(chunked.status, chunked.body).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ error: { code: 'ERR_BODY_TOO_LARGE' } });
    // Under the limit, chunked is fine.
    expect((await sendChunked(id, ['{"a":', '1}'])).status).toBe(202);
  });
});

describe('manual runs and refused deliveries', () => {
  let manual: TriggerCreated;
  beforeAll(async () => {
    manual = await createTrigger({
      name: 'release',
      kind: 'manual',
      promptTemplate: 'Prepare release {{params.version}} from {{params.branch}} (dry run: {{params.dryRun}}, retries {{params.retries}})',
      params: [
        { name: 'version', type: 'string', required: true },
        { name: 'branch', type: 'string' },
        { name: 'dryRun', type: 'boolean' },
        { name: 'retries', type: 'number' },
      ],
    });
  });
  const run = (id: string, body: unknown) => api('POST', `/api/triggers/${id}/run`, body);

  it('params are checked against the declared ones', async () => {
    expect(issuePaths(await run(manual.id, { params: { version: '1.2.0', colour: 'red' } }))).toEqual(['body.params.colour']);
    expect(issuePaths(await run(manual.id, { params: { version: 120 } }))).toEqual(['body.params.version']);
    expect(issuePaths(await run(manual.id, { params: { version: '1.2.0', retries: '3' } }))).toEqual(['body.params.retries']);
    expect(issuePaths(await run(manual.id, { params: { version: '1.2.0', dryRun: 'yes' } }))).toEqual(['body.params.dryRun']);
    expect(issuePaths(await run(manual.id, { params: { branch: 'main' } }))).toEqual(['body.params.version']);
    expectError(await run(manual.id, { params: { branch: 'main' } }), 400, 'ERR_VALIDATION');
    expect(await executionsOf(manual.id)).toHaveLength(0);

    const good = await run(manual.id, { params: { version: '1.2.0', branch: 'main', dryRun: true, retries: 3 } });
    expect(good.status, good.body).toBe(202);
    const queued = await execution(good.json<{ executionId: string }>().executionId);
    expect(queued).toMatchObject({ source: 'manual', triggerId: manual.id, deliveryId: null, params: { version: '1.2.0', branch: 'main', dryRun: true, retries: 3 } });
    expect(queued.promptContext.map((entry) => entry.field)).toEqual(['params.version', 'params.branch', 'params.dryRun', 'params.retries']);
    expect(queued.prompt).toContain('1.2.0');
  });

  it('a parameter may be named like a member of every object (constructor, toString …)', async () => {
    const trigger = await createTrigger({
      name: 'odd names',
      kind: 'manual',
      promptTemplate: 'Go {{params.constructor}} {{params.toString}}',
      params: [
        { name: 'constructor', type: 'string' },
        { name: 'toString', type: 'string' },
        { name: 'hasOwnProperty', type: 'string', required: true },
      ],
    });
    expect(issuePaths(await run(trigger.id, { params: {} }))).toEqual(['body.params.hasOwnProperty']);
    const good = await run(trigger.id, { params: { hasOwnProperty: 'yes', toString: 'plain' } });
    expect(good.status, good.body).toBe(202);
    expect((await execution(good.json<{ executionId: string }>().executionId)).params).toEqual({ hasOwnProperty: 'yes', toString: 'plain' });
  });

  it('a disabled trigger: run → 409 ERR_TRIGGER_DISABLED; a delivery → 409, recorded as rejected', async () => {
    const disabled = await createTrigger({ ...githubTrigger(), name: 'off', enabled: false });
    expectError(await run(disabled.id, {}), 409, 'ERR_TRIGGER_DISABLED');
    const body = JSON.stringify(githubExample('pull_request', 'opened'));
    expectError(await deliver(disabled.id, body, githubHeaders({ secret: disabled.secret!, event: 'pull_request', body })), 409, 'ERR_TRIGGER_DISABLED');
    expect((await deliveriesOf(disabled.id))[0]).toMatchObject({ outcome: 'rejected', verified: false, reason: 'the trigger is disabled' });
    expect(await executionsOf(disabled.id)).toHaveLength(0);

    expect((await api('PATCH', `/api/triggers/${disabled.id}`, { enabled: true })).status).toBe(200);
    expect((await deliver(disabled.id, body, githubHeaders({ secret: disabled.secret!, event: 'pull_request', body }))).status).toBe(202);
    expect((await run(disabled.id, {})).status).toBe(202);
  });

  it('a delivery to a schedule or manual trigger → 409 ERR_TRIGGER_KIND', async () => {
    const schedule = await createTrigger({ name: 'nightly', kind: 'schedule', promptTemplate: 'Tidy up', schedule: { cron: '0 3 * * *' } });
    for (const id of [schedule.id, manual.id]) {
      expectError(await deliver(id, '{}', { 'content-type': 'application/json' }), 409, 'ERR_TRIGGER_KIND');
      expect((await deliveriesOf(id))[0]).toMatchObject({ outcome: 'rejected', verified: false });
    }
  });

  it('an unknown trigger id → 404', async () => {
    const unknown = 'trg_doesNotExist0123';
    expectError(await deliver(unknown, '{}', { 'content-type': 'application/json' }), 404, 'ERR_TRIGGER_NOT_FOUND');
    expectError(await run(unknown, {}), 404, 'ERR_TRIGGER_NOT_FOUND');
    expectError(await api('GET', `/api/triggers/${unknown}`), 404, 'ERR_TRIGGER_NOT_FOUND');
    expectError(await api('GET', `/api/triggers/${unknown}/deliveries`), 404, 'ERR_TRIGGER_NOT_FOUND');
    expectError(await api('PATCH', `/api/triggers/${unknown}`, { name: 'x' }), 404, 'ERR_TRIGGER_NOT_FOUND');
    expectError(await api('GET', '/api/executions/exe_doesNotExist0123'), 404, 'ERR_EXECUTION_NOT_FOUND');
    expectError(await deliver('not-a-trigger-id', '{}', { 'content-type': 'application/json' }), 404, 'ERR_TRIGGER_NOT_FOUND');
  });
});

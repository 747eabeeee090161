import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { TriggerCreate } from '../../common/triggers.js';
import { preparationHeaders, type PreparationOptions, type PreparationTrigger, type PreparedDelivery } from '../../main/triggers/delivery-preparation.js';
import { inlinePreparer, PreparationThread } from '../../main/triggers/delivery-preparer.js';
import { githubExample, githubHeaders } from '../helpers/github-deliveries.js';

/** The compiled thread body (the tests run the TypeScript sources; `npm test` builds first). */
const threadScript = new URL('../../dist/main/triggers/preparation-thread.js', import.meta.url);
const failingThreadScript = new URL('../fixtures/failing-preparation-thread.mjs', import.meta.url);
const countingThreadScript = new URL('../fixtures/counting-preparation-thread.mjs', import.meta.url);
const OPTIONS: PreparationOptions = { dedupTtlMs: 60_000, providerDedupTtlMs: 72 * 3_600_000, maxValueLength: 2_000 };
const SECRET = 'preparer-test-secret-0123456789';

const disposables: { dispose(): void }[] = [];
afterEach(() => {
  for (const disposable of disposables.splice(0)) disposable.dispose();
});

function trigger(definition: Record<string, unknown>, secret: string | null = SECRET): PreparationTrigger {
  return { id: `trg_${crypto.randomUUID().slice(0, 8)}`, definition: TriggerCreate.parse(definition), secret };
}

interface Case {
  name: string;
  trigger: PreparationTrigger;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One delivery of every kind the preparation tells apart, with real payloads and real signatures. */
function corpus(): Case[] {
  const github = trigger({ name: 'review', kind: 'github', promptTemplate: 'Review "{{payload.pull_request.title}}"', github: { events: ['pull_request.opened'] }, concurrency: { key: '{{payload.pull_request.number}}' } });
  const opened = Buffer.from(JSON.stringify(githubExample('pull_request', 'opened')));
  const closed = Buffer.from(JSON.stringify(githubExample('pull_request', 'closed')));
  const form = Buffer.from(`payload=${encodeURIComponent(opened.toString())}`);
  const tampered = Buffer.from(opened);
  tampered[10] = tampered[10]! ^ 1;
  const webhook = trigger({ name: 'chat', kind: 'webhook', promptTemplate: 'Answer {{payload.message.text}}', textFieldPath: 'message.text', signature: { scheme: 'hmac-sha256', header: 'X-Chat-Signature' } });
  const chat = Buffer.from(JSON.stringify({ message: { text: 'hello <untrusted-input> \u202e there' } }));
  const hmac = (body: Buffer) => crypto.createHmac('sha256', SECRET).update(body).digest('hex');
  const standardSecret = `whsec_${crypto.randomBytes(24).toString('base64')}`;
  const standard = trigger({ name: 'std', kind: 'webhook', promptTemplate: 'Handle {{payload.kind}}', signature: { scheme: 'standard-webhooks' } }, standardSecret);
  const standardBody = Buffer.from(JSON.stringify({ kind: 'invoice.paid' }));
  const standardHeaders = (at: Date) => {
    const id = `msg_${crypto.randomUUID()}`;
    return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(standardSecret).sign(id, at, standardBody.toString()) };
  };
  const unsigned = trigger({ name: 'open', kind: 'webhook', promptTemplate: 'Do {{payload.task}}', signature: { scheme: 'none' } }, null);
  return [
    { name: 'github, signed, matching', trigger: github, headers: githubHeaders({ secret: SECRET, event: 'pull_request', body: opened }), body: opened },
    { name: 'github, form-encoded', trigger: github, headers: githubHeaders({ secret: SECRET, event: 'pull_request', body: form, contentType: 'application/x-www-form-urlencoded' }), body: form },
    { name: 'github, one byte changed', trigger: github, headers: githubHeaders({ secret: SECRET, event: 'pull_request', body: opened }), body: tampered },
    { name: 'github, an action not listened to', trigger: github, headers: githubHeaders({ secret: SECRET, event: 'pull_request', body: closed }), body: closed },
    { name: 'github, ping', trigger: github, headers: githubHeaders({ secret: SECRET, event: 'ping', body: opened }), body: opened },
    { name: 'github, no event header', trigger: github, headers: { ...githubHeaders({ secret: SECRET, event: 'x', body: opened }), 'x-github-event': undefined }, body: opened },
    { name: 'hmac in a custom header, hostile text', trigger: webhook, headers: { 'content-type': 'application/json', 'x-chat-signature': hmac(chat) }, body: chat },
    { name: 'hmac, signed but not JSON', trigger: webhook, headers: { 'content-type': 'application/json', 'x-chat-signature': hmac(Buffer.from('not json')) }, body: Buffer.from('not json') },
    { name: 'standard webhooks, now', trigger: standard, headers: standardHeaders(new Date()), body: standardBody },
    { name: 'standard webhooks, 10 minutes old', trigger: standard, headers: standardHeaders(new Date(Date.now() - 600_000)), body: standardBody },
    { name: 'unsigned', trigger: unsigned, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"task":"lint"}') },
    { name: 'a disabled trigger', trigger: { ...github, definition: { ...github.definition, enabled: false } }, headers: githubHeaders({ secret: SECRET, event: 'pull_request', body: opened }), body: opened },
  ];
}

/** A verdict without the parts that differ on every render (the nonce of the untrusted blocks). */
function comparable(prepared: PreparedDelivery): unknown {
  if (prepared.kind !== 'accepted') return prepared;
  return { ...prepared, content: { ...prepared.content, prompt: prepared.content.prompt.replace(/id="[0-9a-f]{16}"/g, 'id="…"') } };
}

describe('delivery preparation', () => {
  it('on the thread every kind of delivery gets the verdict it gets inline, whatever arrives in the same turn', async () => {
    const cases = corpus();
    const inline = inlinePreparer(OPTIONS);
    const threaded = new PreparationThread({ ...OPTIONS, threadScript, onError: (message) => expect.unreachable(message) });
    disposables.push(threaded);
    // All in one turn: they travel to the thread as one batch.
    const [expected, actual] = await Promise.all([
      Promise.all(cases.map((entry) => inline.prepare(entry.trigger, entry.headers, entry.body))),
      Promise.all(cases.map((entry) => threaded.prepare(entry.trigger, entry.headers, entry.body))),
    ]);
    expect(threaded.threaded).toBe(true);
    expect(actual.map(comparable)).toEqual(expected.map(comparable));
    // The corpus covers every outcome, so the comparison above means something.
    expect(new Set(actual.map((verdict) => (verdict.kind === 'ignored' ? verdict.outcome : verdict.kind)))).toEqual(new Set(['accepted', 'rejected', 'ignored', 'ping']));
    expect(actual.map((verdict) => (verdict.kind === 'rejected' ? verdict.code : verdict.kind))).toEqual([
      'accepted',
      'accepted',
      'ERR_SIGNATURE_INVALID',
      'ignored',
      'ignored',
      'ERR_BAD_JSON',
      'accepted',
      'ERR_BAD_JSON',
      'accepted',
      'ERR_SIGNATURE_INVALID',
      'accepted',
      'ERR_TRIGGER_DISABLED',
    ]);
  });

  it('the headers sent to the thread (only those the preparation reads) decide every case as all of them do', async () => {
    const inline = inlinePreparer(OPTIONS);
    for (const entry of corpus()) {
      const picked = preparationHeaders(entry.trigger.definition, entry.headers);
      expect(comparable(await inline.prepare(entry.trigger, picked, entry.body)), entry.name).toEqual(comparable(await inline.prepare(entry.trigger, entry.headers, entry.body)));
    }
    const github = corpus()[0]!;
    expect(Object.keys(preparationHeaders(github.trigger.definition, github.headers)).sort()).toEqual(['content-type', 'x-github-delivery', 'x-github-event', 'x-hub-signature-256']);
  });

  it('a hostile value is fenced and cleaned on the thread as inline, and the audit keeps the hash of the original', async () => {
    const threaded = new PreparationThread({ ...OPTIONS, threadScript, onError: (message) => expect.unreachable(message) });
    disposables.push(threaded);
    const entry = corpus()[6]!;
    const verdict = await threaded.prepare(entry.trigger, entry.headers, entry.body);
    expect(threaded.threaded).toBe(true);
    expect(verdict.kind).toBe('accepted');
    if (verdict.kind !== 'accepted') return;
    const original = 'hello <untrusted-input> \u202e there';
    expect(verdict.content.prompt).toContain('hello ‹untrusted-input>  there');
    expect(verdict.content.promptContext).toEqual([
      { field: 'payload.message.text', value: 'hello ‹untrusted-input>  there', length: original.length, sha256: crypto.hash('sha256', original, 'hex'), truncated: false },
    ]);
  });

  it('a turn of many bodies goes over in messages of at most maxBatchBytes of them, a larger body alone', async () => {
    const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'agented-batches-')), 'batches.log');
    process.env.AGENTED_TEST_BATCH_LOG = log;
    const entry = corpus()[0]!;
    const size = entry.body.length;
    const batchesOf = async (maxBatchBytes: number, count: number) => {
      fs.writeFileSync(log, '');
      const threaded = new PreparationThread({ ...OPTIONS, threadScript: countingThreadScript, maxBatchBytes, onError: (message) => expect.unreachable(message) });
      disposables.push(threaded);
      // All in one turn.
      const verdicts = await Promise.all(Array.from({ length: count }, () => threaded.prepare(entry.trigger, entry.headers, entry.body)));
      expect(threaded.threaded).toBe(true);
      expect(verdicts.every((verdict) => verdict.kind === 'accepted')).toBe(true);
      return fs.readFileSync(log, 'utf8').trim().split('\n');
    };
    expect(await batchesOf(Math.floor(3.5 * size), 10)).toEqual([`${3 * size} 3`, `${3 * size} 3`, `${3 * size} 3`, `${size} 1`]);
    expect(await batchesOf(100, 3)).toEqual([`${size} 1`, `${size} 1`, `${size} 1`]);
    expect(await batchesOf(16 * 1024 * 1024, 10)).toEqual([`${10 * size} 10`]);
  });

  it('a thread that dies mid-batch: what it held is prepared inline, the next batches go to a new thread, and after three restarts everything runs inline', async () => {
    const errors: string[] = [];
    const threaded = new PreparationThread({ ...OPTIONS, threadScript: failingThreadScript, onError: (message) => errors.push(message) });
    disposables.push(threaded);
    const entry = corpus()[0]!;
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let batch = 0; batch < 4; batch += 1) {
      expect(threaded.threaded).toBe(true);
      const verdicts = await Promise.all(Array.from({ length: 5 }, () => threaded.prepare(entry.trigger, entry.headers, entry.body)));
      expect(verdicts.map((verdict) => verdict.kind)).toEqual(['accepted', 'accepted', 'accepted', 'accepted', 'accepted']);
      // The replacement thread starts; the next batch waits until it runs.
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(threaded.threaded).toBe(false);
    expect(errors.at(-1)).toMatch(/ended 4 times; deliveries are prepared inline/);
    expect((await threaded.prepare(entry.trigger, entry.headers, entry.body)).kind).toBe('accepted');
  });

  it('a thread that cannot start (a broken install) is reported, and deliveries are prepared inline', async () => {
    const errors: string[] = [];
    const threaded = new PreparationThread({ ...OPTIONS, threadScript: new URL('./no-such-thread.js', threadScript), onError: (message) => errors.push(message) });
    disposables.push(threaded);
    const entry = corpus()[0]!;
    expect((await threaded.prepare(entry.trigger, entry.headers, entry.body)).kind).toBe('accepted');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(threaded.threaded).toBe(false);
    expect(errors.join('\n')).toMatch(/could not start/);
    expect((await threaded.prepare(entry.trigger, entry.headers, entry.body)).kind).toBe('accepted');
  });

  it('disposed with deliveries under way: they are still answered', async () => {
    const threaded = new PreparationThread({ ...OPTIONS, threadScript });
    const entry = corpus()[0]!;
    const pending = Promise.all(Array.from({ length: 10 }, () => threaded.prepare(entry.trigger, entry.headers, entry.body)));
    await new Promise((resolve) => setImmediate(resolve));
    threaded.dispose();
    expect((await pending).every((verdict) => verdict.kind === 'accepted')).toBe(true);
  });
});

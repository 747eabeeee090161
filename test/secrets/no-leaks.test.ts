import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import type { Delivery } from '../../common/triggers.js';
import { keyedApi, request, unusedPort } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { runCli } from '../helpers/serve.js';
import { startReceiver } from '../helpers/stand-ins/notification-receivers.js';
import { openEventStream } from '../helpers/sse.js';
import { listFiles, makeTempDir } from '../helpers/temp.js';
import { sleep, untilTrue } from '../helpers/time.js';

/**
 * Secrets Agented holds must not come back out of it: not in an API answer,
 * not in a log file, not in plain text in any of the SQLite files. Each test
 * drives the real worker through an operation that handles one secret and
 * then reads everything the worker wrote for the value, in the forms it
 * could take there.
 */
let server: InProcessServer;
let api: ReturnType<typeof keyedApi>;

beforeAll(async () => {
  server = await startInProcess({ AGENTED_LOG_LEVEL: 'debug' });
  api = keyedApi(server.key);
});
afterAll(() => server.close());

/** The value as it stands in raw bytes, inside a JSON string, and base64-encoded (an HTTP Basic credential). */
function formsOf(secret: string): string[] {
  return [secret, JSON.stringify(secret).slice(1, -1), Buffer.from(secret).toString('base64')];
}

/** Every byte of the database, its WAL and shared memory, and of the log files. */
function everythingWritten(): { file: string; bytes: Buffer }[] {
  const databaseFiles = fs.readdirSync(server.dataDir).filter((name) => name.startsWith('agented.db')).map((name) => path.join(server.dataDir, name));
  return [...databaseFiles, ...listFiles(server.logDir)].map((file) => ({ file, bytes: fs.readFileSync(file) }));
}

function expectNowhere(secret: string, answers: string[]): void {
  for (const form of formsOf(secret)) {
    for (const answer of answers) expect(answer).not.toContain(form);
    for (const { file, bytes } of everythingWritten()) expect(bytes.includes(form), `${file} holds the secret`).toBe(false);
  }
}

describe("a trigger's webhook secret", () => {
  it('sent as a plain token (a custom header, Proxy-Authorization, the body) is masked in the delivery inspector and never stored', async () => {
    const created = await api<{ id: string; secret: string }>(server.url, 'POST', '/api/triggers', {
      name: 'gitlab-style sender',
      kind: 'webhook',
      backend: 'claude',
      promptTemplate: 'Go',
      signature: { scheme: 'hmac-sha256', header: 'X-Signature' },
    });
    expect(created.status).toBe(201);
    const { id, secret } = created.body;
    // GitLab sends the "secret token" as it is in X-Gitlab-Token; other senders put a shared token in a header of their own, a proxy
    // credential or the body. None of these is an HMAC, so the delivery is rejected, and recorded for the inspector.
    const response = await request(server.url, {
      method: 'POST',
      path: `/hooks/${id}`,
      headers: {
        'content-type': 'application/json',
        'x-gitlab-token': secret,
        'x-relay-auth': `Token ${secret}`,
        'proxy-authorization': `Basic ${Buffer.from(`relay:${secret}`).toString('base64')}`,
        'x-gitlab-event': 'Push Hook',
      },
      body: JSON.stringify({ object_kind: 'push', token: secret }),
    });
    expect(response.status).toBe(401);

    const deliveries = await api<{ items: Delivery[] }>(server.url, 'GET', `/api/triggers/${id}/deliveries`);
    const [delivery] = deliveries.body.items;
    // Still useful to whoever debugs the sender: which headers came, and everything that holds no secret.
    expect(delivery).toMatchObject({ outcome: 'rejected', signatureCheck: 'failed' });
    expect(delivery!.headers).toMatchObject({ 'x-gitlab-token': '[masked]', 'x-relay-auth': '[masked]', 'proxy-authorization': '[masked]', 'x-gitlab-event': 'Push Hook' });
    expect(JSON.parse(delivery!.body)).toEqual({ object_kind: 'push', token: '[masked]' });
    expectNowhere(secret, [JSON.stringify(deliveries.body)]);
  });
});

describe('the API key', () => {
  it('sent as X-Request-Id is not taken as the request id, so the audit log never stores it', async () => {
    const response = await request(server.url, {
      method: 'PATCH',
      path: '/api/settings',
      headers: { authorization: `Bearer ${server.key}`, 'x-request-id': server.key, 'content-type': 'application/json' },
      body: JSON.stringify({ dedupTtlSeconds: 120 }),
    });
    expect(response.status, response.body).toBe(200);
    expect(response.headers['x-request-id']).not.toBe(server.key);
    const audit = await api<{ items: { action: string; requestId: string | null }[] }>(server.url, 'GET', '/api/audit?action=settings.updated');
    expect(audit.body.items[0]!.requestId).toBe(response.headers['x-request-id']);
    expectNowhere(server.key, [JSON.stringify(audit.body)]);
  });
});

describe("a backend's key printed by its CLI", () => {
  // readLines hands a line longer than its limit on in pieces, each masked on its own: a key across the cut would be stored and streamed in two halves.
  it('across the point where a long stderr line is cut into pieces, is masked in both', async () => {
    // No run of 8 characters of it is a word Agented's own lines use ("environment credentials").
    const key = 'sk-ant-Qz7Xw3Vb-0123456789abcdefghKLMNOP';
    const temp = makeTempDir();
    const agent = path.join(temp.dir, 'long-line-agent.mjs');
    // The line ends later than it starts (a progress line, a dump still being written): its first 1 MiB is handed on before the key's end.
    fs.writeFileSync(
      agent,
      `#!${process.execPath}
if (process.argv.includes('--version')) { process.stdout.write('2.0.0 (Claude Code)\\n'); process.exit(0); }
process.stderr.write('x'.repeat(1024 * 1024 - 10) + process.env.ANTHROPIC_API_KEY + 'y'.repeat(100));
setTimeout(() => process.stderr.write('\\n'), 300);
`,
      { mode: 0o755 },
    );
    const local = await startInProcess({ ANTHROPIC_API_KEY: key, AGENTED_CLAUDE_PATH: agent });
    try {
      const localApi = keyedApi(local.key);
      const trigger = await localApi<{ id: string }>(local.url, 'POST', '/api/triggers', { name: 'long line', kind: 'manual', backend: 'claude', promptTemplate: 'Go' });
      const run = await localApi<{ executionId: string }>(local.url, 'POST', `/api/triggers/${trigger.body.id}/run`, { params: {} });
      await untilTrue(async () => ['succeeded', 'failed'].includes((await localApi<Execution>(local.url, 'GET', `/api/executions/${run.body.executionId}`)).body.state), 'the execution ended');
      const stream = openEventStream(local.url, `/api/executions/${run.body.executionId}/stream`, { authorization: `Bearer ${local.key}` });
      await stream.ended;
      const streamed = stream.events.map((event) => event.data).join('\n');
      expect(streamed).toContain('[line truncated: 1048576 characters]');
      // Any 8 characters of the key (the shortest value ever masked) in a row.
      for (let start = 0; start + 8 <= key.length; start++) expect(streamed).not.toContain(key.slice(start, start + 8));
    } finally {
      await local.close();
      temp.remove();
    }
  }, 60_000);
});

describe('every secret, through a served worker', () => {
  it('is in no log file, no output, no SQLite file, no API answer and no event after the operations that handle it', async () => {
    const temp = makeTempDir();
    const logDir = `${temp.dir}/logs`;
    const dataDir = `${temp.dir}/data`;
    const key = 'no-leaks-api-key-Zx81Qp0a9LmN3vB7wq';
    // Receivers that fail and quote the URL they were called on, as an error page may.
    const receiver = await startReceiver((received) => ({ status: 500, body: `nothing at ${received.path}` }));
    // ngrok, pointed at a port nothing listens on, fails at once instead of dialling its servers.
    const cli = runCli({
      env: { HOME: temp.dir, AGENTED_API_KEY: key, AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: logDir, AGENTED_LOG_LEVEL: 'debug', AGENTED_NGROK_SERVER_ADDR: `127.0.0.1:${await unusedPort()}` },
    });
    const secrets: Record<string, string> = { apiKey: key };
    const answers: string[] = [];
    let events: string;
    try {
      const { url, loginUrl } = await cli.ready;
      const call = async (method: string, urlPath: string, body?: unknown) => {
        const response = await request(url, {
          method,
          path: urlPath,
          headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        });
        // A trigger's creation and rotation show its secret, once, on purpose; what is read back never may.
        if (method === 'GET') answers.push(response.body);
        return response;
      };
      const dashboard = openEventStream(url, '/api/events', { authorization: `Bearer ${key}` });

      secrets.loginToken = new URL(loginUrl).searchParams.get('token')!;
      const login = await request(url, { path: new URL(loginUrl).pathname + new URL(loginUrl).search });
      expect(login.status).toBe(303);
      secrets.sessionCookie = login.headers['set-cookie']![0]!.split(';')[0]!.split('=')[1]!;

      // Webhook secrets: created, rotated, and sent back by senders that use them as a plain token.
      const hmac = (await call('POST', '/api/triggers', { name: 'hmac', kind: 'webhook', backend: 'claude', promptTemplate: 'Go', signature: { scheme: 'hmac-sha256' } })).json<{ id: string; secret: string }>();
      const github = (await call('POST', '/api/triggers', { name: 'github', kind: 'github', backend: 'claude', promptTemplate: 'Go', github: { events: ['push'] } })).json<{ id: string; secret: string }>();
      const standard = (await call('POST', '/api/triggers', { name: 'standard', kind: 'webhook', backend: 'claude', promptTemplate: 'Go', signature: { scheme: 'standard-webhooks' } })).json<{ id: string; secret: string }>();
      secrets.replacedSecret = hmac.secret;
      const rotated = (await call('POST', `/api/triggers/${hmac.id}/secret`)).json<{ secret: string }>();
      Object.assign(secrets, { hmacSecret: rotated.secret, githubSecret: github.secret, standardSecret: standard.secret });
      for (const [id, secret] of [[hmac.id, rotated.secret], [github.id, github.secret], [standard.id, standard.secret]] as const) {
        const sent = await request(url, { method: 'POST', path: `/hooks/${id}`, headers: { 'content-type': 'application/json', 'x-gitlab-token': secret, 'x-signature-256': secret, 'x-hub-signature-256': `sha256=${secret}`, 'webhook-signature': secret }, body: JSON.stringify({ token: secret }) });
        expect(sent.status).toBe(401);
        await call('GET', `/api/triggers/${id}/deliveries`);
      }

      // Account keys, in characters JSON and URLs escape: added, replaced, deleted, refused, in a body that is not JSON.
      Object.assign(secrets, { firstKey: 'sk-ant-first-"q"\\/+%=&-0123456789', secondKey: 'sk-ant-second-0123456789abcdefghij', codexKey: 'sk-codex-<b>&amp;-0123456789abcdef', refusedKey: 'sk-refused-0123456789abcdefgh', unparsedKey: 'sk-unparsed-0123456789abcdef' });
      const account = (await call('POST', '/api/accounts', { backend: 'claude', name: 'first', apiKey: secrets.firstKey })).json<{ id: string }>();
      await call('PATCH', `/api/accounts/${account.id}`, { apiKey: secrets.secondKey });
      await call('POST', '/api/accounts', { backend: 'codex', name: 'codex', apiKey: secrets.codexKey });
      expect((await call('POST', '/api/accounts', { backend: 'codex', name: 'codex', apiKey: secrets.refusedKey })).status).toBe(409);
      expect((await call('POST', '/api/accounts', `{"backend":"claude","name":"x","apiKey":${secrets.unparsedKey}}`)).status).toBe(400);
      await call('DELETE', `/api/accounts/${account.id}`);

      // The ngrok authtoken: stored, used (the connection fails), replaced by another provider.
      secrets.ngrokAuthtoken = '2ngrokAuthtoken_abcdefghij0123456789XYZ';
      expect((await call('PUT', '/api/tunnel', { provider: 'ngrok', authtoken: secrets.ngrokAuthtoken })).status).toBe(200);
      await call('PUT', '/api/tunnel', { provider: 'off' });

      // Notification channels, whose deliveries fail with an answer quoting the URL.
      Object.assign(secrets, {
        slackUrl: `${receiver.url}/services/T0001/B0001/slackTokenAbcdefghijklmnop`,
        webhookUrl: `${receiver.url}/notify?token=webhookQueryTokenAbcdef0123`,
        webhookSecret: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
      });
      expect((await call('PUT', '/api/notifications', { slackUrl: secrets.slackUrl, webhookUrl: secrets.webhookUrl, webhookSecret: secrets.webhookSecret })).status).toBe(200);
      expect((await call('POST', '/api/notifications/test')).status).toBe(202);
      await untilTrue(() => receiver.requests.length >= 2, 'both channels were tried');
      await sleep(200);

      for (const urlPath of ['/api/triggers', '/api/accounts', '/api/accounts/stats', '/api/settings', '/api/tunnel', '/api/notifications', '/api/executions', '/api/audit?limit=200', '/api/openapi.json', '/health/ready', '/api/backends', '/api/usage']) {
        expect((await call('GET', urlPath)).status, urlPath).toBe(200);
      }
      dashboard.close();
      events = dashboard.events.map((event) => event.data).join('\n');
    } finally {
      expect(await cli.stop('SIGTERM')).toBe(0);
      await receiver.close();
    }

    const written: Record<string, string> = {
      events,
      answers: answers.join('\n'),
      // The ready line and the line telling the user to open the link carry the login token on purpose.
      stdout: cli.stdout.filter((line) => !line.includes('"event":"ready"')).join('\n'),
      stderr: cli.stderr.filter((line) => !line.includes('/auth/login?token=')).join('\n'),
    };
    for (const file of [...listFiles(logDir), ...listFiles(dataDir).filter((file) => path.basename(file).startsWith('agented.db'))]) {
      written[file] = fs.readFileSync(file).toString('latin1');
    }
    const found: string[] = [];
    for (const [name, secret] of Object.entries(secrets)) {
      for (const form of [...formsOf(secret), encodeURIComponent(secret)]) {
        for (const [where, text] of Object.entries(written)) if (text.includes(form)) found.push(`${name} (${form}) in ${where}`);
      }
    }
    expect(found).toEqual([]);
    // The checks looked at real logs.
    expect(written[path.join(logDir, 'worker.log')]).toContain('[REDACTED]');
    temp.remove();
  }, 60_000);
});

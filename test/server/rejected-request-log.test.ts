import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startInProcess, workerLogRecords, type InProcessServer } from '../helpers/in-process.js';

let server: InProcessServer;
beforeAll(async () => {
  server = await startInProcess({ AGENTED_LOG_LEVEL: 'debug' });
});
afterAll(() => server.close());

describe('a request refused for bad JSON is logged without its body', () => {
  it('says what was wrong, and quotes none of a secret sent in the body', async () => {
    const accountKey = 'sk-ant-account-key-7Qm2Zp9Lx4';
    const webhookSecret = 'whsec_bm90aWZpY2F0aW9uLXNlY3JldC04UnQzWXY=';
    const bodies = [
      ['POST', '/api/accounts', `{"backend":"claude","name":"ci","apiKey": ${accountKey}}`],
      ['PUT', '/api/notifications', `{"webhookUrl":"https://hooks.example/x","webhookSecret": ${webhookSecret}}`],
      // A secret pasted where a JSON document belongs.
      ['PATCH', '/api/settings', webhookSecret],
    ] as const;
    for (const [method, path, body] of bodies) {
      const response = await request(server.url, {
        method,
        path,
        body,
        headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json', 'x-request-id': `bad-json-${method}` },
      });
      expect(response.status, path).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('ERR_BAD_JSON');
      expect(response.body).not.toMatch(/sk-ant|whsec/);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    const rejected = workerLogRecords(server).filter((record) => record.msg === 'request rejected');
    expect(rejected.map((record) => record.request_id)).toEqual(['bad-json-POST', 'bad-json-PUT', 'bad-json-PATCH']);
    for (const record of rejected) expect(record).toMatchObject({ code: 'ERR_BAD_JSON', err_message: 'Unexpected token in JSON' });
    const logged = JSON.stringify(workerLogRecords(server));
    // Not even a prefix of either: JSON.parse quotes about ten characters around the fault.
    expect(logged).not.toContain(accountKey.slice(0, 10));
    expect(logged).not.toContain(webhookSecret.slice(0, 10));
  });
});

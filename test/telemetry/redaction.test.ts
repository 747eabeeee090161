import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { Redactor } from '../../main/telemetry/redactor.js';
import { request } from '../helpers/http.js';
import { runCli } from '../helpers/serve.js';
import { listFiles, makeTempDir } from '../helpers/temp.js';

const KEY = 'redaction-test-key-Zx81Qp0a9LmN3vB7';

describe('secrets never reach the logs', () => {
  it('a served, busy server writes neither the key nor a login token to any log file or stdout', async () => {
    const temp = makeTempDir();
    const logDir = `${temp.dir}/logs`;
    const cli = runCli({
      env: { HOME: temp.dir, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: logDir, AGENTED_LOG_LEVEL: 'debug' },
    });
    try {
      const ready = await cli.ready;
      const url = ready.url;
      const loginPath = new URL(ready.loginUrl).pathname + new URL(ready.loginUrl).search;
      const login = await request(url, { path: loginPath });
      const cookie = login.headers['set-cookie']![0]!.split(';')[0]!;
      const exchanges = [
        request(url, { path: '/health/ready', headers: { authorization: `Bearer ${KEY}` } }),
        request(url, { path: '/api/settings', headers: { 'x-api-key': KEY } }),
        request(url, { path: '/api/openapi.json', headers: { cookie } }),
        request(url, { path: `/health/ready?apiKey=${KEY}`, headers: { 'x-request-id': KEY } }),
        request(url, { path: '/health/ready', headers: { authorization: `Bearer ${KEY}-wrong` } }),
        request(url, { path: '/health/ready', headers: { 'x-api-key': `prefix${KEY}` } }),
        request(url, { method: 'PATCH', path: '/api/settings', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: `{"corsOrigins":["${KEY}"]}` }),
        request(url, { method: 'PATCH', path: '/api/settings', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: `{"bad json ${KEY}` }),
        request(url, { path: loginPath }),
      ];
      const statuses = (await Promise.all(exchanges)).map((response) => response.status);
      expect(statuses).toEqual([200, 200, 200, 401, 401, 401, 400, 400, 401]);
    } finally {
      expect(await cli.stop('SIGTERM')).toBe(0);
    }

    const files = listFiles(logDir);
    expect(files.map((file) => file.slice(logDir.length + 1)).sort()).toEqual(['supervisor.log', 'worker.log']);
    const logs = files.map((file) => fs.readFileSync(file, 'utf8')).join('\n');
    // The logs are really there and really describe those requests…
    expect(logs.split('\n').filter((line) => line.includes('"msg":"request"')).length).toBeGreaterThanOrEqual(10);
    // The request that offered the key as its X-Request-Id was given an id of its own, not a masked one.
    expect(logs).not.toContain('"request_id":"[REDACTED]"');
    // …and hold no secret.
    const token = new URL((await cli.ready).loginUrl).searchParams.get('token')!;
    for (const text of [logs, cli.stdout.filter((line) => !line.includes('"event":"ready"')).join('\n'), cli.stderr.filter((line) => !line.includes('/auth/login?token=')).join('\n')]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(token);
    }
    temp.remove();
  });

  it('secret field names are masked whatever their value, and registered values wherever they appear', () => {
    const sink = new MemorySink();
    const redactor = new Redactor();
    redactor.addSecret('s3cr3t-"quoted"-value');
    const logger = Logger.create({ sink, redactor });
    logger.info('x', { authorization: 'Bearer abc', nested: { apiKey: 'abc', password: 'pw' }, note: 'contains s3cr3t-"quoted"-value here' });
    const line = sink.lines[0]!;
    expect(line).not.toMatch(/abc|pw|s3cr3t/);
    expect(JSON.parse(line)).toMatchObject({ authorization: '[REDACTED]', nested: { apiKey: '[REDACTED]', password: '[REDACTED]' } });
  });

  it('a secret that begins with another one registered before it is masked whole, not its tail left showing', () => {
    const redactor = new Redactor();
    redactor.addSecret('whsec-shared-prefix');
    redactor.addSecret('whsec-shared-prefix-and-its-own-tail');
    expect(redactor.scrub('a: whsec-shared-prefix-and-its-own-tail, b: whsec-shared-prefix.')).toBe('a: [REDACTED], b: [REDACTED].');
  });
});

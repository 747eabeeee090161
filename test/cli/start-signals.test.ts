import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import { keyedApi } from '../helpers/http.js';
import { repoRoot, runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, within } from '../helpers/time.js';

const KEY = 'start-signals-test-key-0123456789abcdef';
const api = keyedApi(KEY);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('npm start without the Electron runtime: stop signals', () => {
  it('one Ctrl-C (SIGINT to the whole foreground group) stops per the stop policy: a running execution finishes', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const agent = path.join(temp.dir, 'working-agent');
    fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'working-agent.mjs')}" "$@"\n`, { mode: 0o755 });
    const dataDir = path.join(temp.dir, 'data');
    const start = runCli({
      wrap: () => ['node', path.join(repoRoot, 'scripts', 'start.mjs'), '--port', '0'],
      env: { HOME: temp.dir, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: path.join(temp.dir, 'logs'), AGENTED_CLAUDE_PATH: agent },
    });
    cleanups.push(() => start.killGroup('SIGKILL'));
    const { url } = await start.ready;
    const trigger = await api<{ id: string }>(url, 'POST', '/api/triggers', { name: 'work', kind: 'manual', backend: 'claude', promptTemplate: 'WORK 2000' });
    const run = await api<{ executionId: string }>(url, 'POST', `/api/triggers/${trigger.body.id}/run`, { params: {} });
    const id = run.body.executionId;
    for (let state = ''; state !== 'running'; await sleep(50)) state = (await api<Execution>(url, 'GET', `/api/executions/${id}`)).body.state;

    // What a terminal does on Ctrl-C: the signal reaches every process of the foreground group (start.mjs, serve, the worker).
    expect(await within(start.killGroup('SIGINT'), 30_000, 'npm start exiting')).toBe(0);
    const db = new Database(path.join(dataDir, 'agented.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT state FROM executions WHERE id = ?').get(id)).toEqual({ state: 'succeeded' });
    } finally {
      db.close();
    }
    expect(start.stdout.filter((line) => line.includes('stopping now'))).toEqual([]);
  }, 60_000);
});

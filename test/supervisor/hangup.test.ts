import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import { groupAlive, killGroup } from '../../main/executions/process-group.js';
import { openDatabase } from '../../main/storage/database.js';
import { keyedApi } from '../helpers/http.js';
import { runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor, within } from '../helpers/time.js';

/*
 * Closing the terminal of `agented serve` hangs up its whole foreground
 * group: the supervisor and the worker get SIGHUP at once, and the agent CLI,
 * in a process group of its own, does not. With no one left to wait for a
 * finish, the running executions are cancelled — not left running as orphans.
 */
const KEY = 'hangup-test-key-0123456789abcdefghij';
const api = keyedApi(KEY);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('agented serve when its terminal closes (SIGHUP to its process group)', () => {
  it('cancels the running execution, ends its CLI and exits', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const agent = path.join(temp.dir, 'hanging-agent');
    fs.writeFileSync(agent, '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "2.0.0 (Claude Code)"; exit 0; fi\necho "hanging-agent: working"\nexec sleep 600\n', { mode: 0o755 });
    const dataDir = path.join(temp.dir, 'data');
    const server = runCli({ env: { HOME: temp.dir, AGENTED_API_KEY: KEY, AGENTED_DATA_DIR: dataDir, AGENTED_LOG_DIR: path.join(temp.dir, 'logs'), AGENTED_CLAUDE_PATH: agent, AGENTED_STOP_GRACE_MS: '300' } });
    cleanups.push(() => server.killGroup('SIGKILL'));
    const { url } = await server.ready;

    const trigger = await api<{ id: string }>(url, 'POST', '/api/triggers', { name: 'long', kind: 'manual', backend: 'claude', promptTemplate: 'work for a long time' });
    const run = await api<{ executionId: string }>(url, 'POST', `/api/triggers/${trigger.body.id}/run`, { params: {} });
    const id = run.body.executionId;
    const pgid = await waitFor(
      'the execution running',
      async () => {
        const current = (await api<Execution>(url, 'GET', `/api/executions/${id}`)).body;
        return current.state === 'running' && current.processGroup !== null ? current.processGroup : undefined;
      },
      30_000,
    );
    cleanups.push(() => killGroup(pgid, { graceMs: 100 }));

    // The terminal's hang-up: the whole group of serve (supervisor and worker), not the agent's.
    process.kill(-server.child.pid!, 'SIGHUP');
    await within(server.exited, 20_000, 'agented serve exiting after the hang-up');
    await waitFor('the agent group gone', async () => (groupAlive(pgid) ? undefined : true), 5_000);

    const db = openDatabase({ file: path.join(dataDir, 'agented.db') });
    try {
      expect(db.prepare('SELECT state FROM executions WHERE id = ?').get(id)).toEqual({ state: 'cancelled' });
    } finally {
      db.close();
    }
  }, 90_000);
});

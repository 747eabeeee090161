import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import type { HealthReady } from '../../common/api.js';
import { damageTable } from '../helpers/damaged-table.js';
import { keyedApi } from '../helpers/http.js';
import { serveForFile } from '../helpers/serve.js';
import { openEventStream } from '../helpers/sse.js';
import { sleep } from '../helpers/time.js';

/**
 * A stream whose replay cannot be read (its stored lines damaged, as a bad
 * disk would) ends that stream; the worker, and whatever it runs, go on.
 * The real `agented serve`, whose worker exits on an uncaught error.
 */
const API_KEY = 'stream-errors-key-0123456789abcdefghij';
const api = keyedApi(API_KEY);
const served = serveForFile(API_KEY, { scripted: true });

const workerPid = async () => (await api<HealthReady>(served.ready.url, 'GET', '/health/ready')).body.pid;

async function ended(id: string): Promise<Execution> {
  for (let waited = 0; waited < 20_000; waited += 100) {
    const { body } = await api<Execution>(served.ready.url, 'GET', `/api/executions/${id}`);
    if (body.state === 'succeeded' || body.state === 'failed') return body;
    await sleep(100);
  }
  throw new Error(`execution ${id} did not end`);
}

describe('a stream whose stored lines cannot be read', () => {
  it('ends that stream and leaves the worker running', async () => {
    const trigger = (await api<{ id: string }>(served.ready.url, 'POST', '/api/triggers', { name: 'damaged lines', kind: 'manual', promptTemplate: 'hello' })).body.id;
    const run = async () => (await api<{ executionId: string }>(served.ready.url, 'POST', `/api/triggers/${trigger}/run`, { params: {} })).body.executionId;
    const id = await run();
    expect((await ended(id)).state).toBe('succeeded');
    const pid = await workerPid();

    // The log chunks' pages overwritten in the file, as a bad disk would.
    await damageTable(path.join(served.dataDir, 'agented.db'), 'execution_log_chunks');

    const stream = openEventStream(served.ready.url, `/api/executions/${id}/stream`, { authorization: `Bearer ${API_KEY}` });
    expect(await stream.status).toBe(200);
    await stream.ended;
    expect(stream.events.filter((event) => event.event === 'log')).toEqual([]);

    // The same worker answers, and still runs executions.
    expect(await workerPid()).toBe(pid);
    const { body } = await api<Execution>(served.ready.url, 'GET', `/api/executions/${id}`);
    expect(body.state).toBe('succeeded');
  }, 60_000);
});

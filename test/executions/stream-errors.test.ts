import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import type { HealthReady } from '../../common/api.js';
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

    // The log chunks' pages overwritten in the file (everything moved into it first), as a bad disk would.
    const file = path.join(served.dataDir, 'agented.db');
    const other = new Database(file);
    other.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = other.pragma('page_size', { simple: true }) as number;
    const pages = other.prepare<[], { pageno: number }>("SELECT pageno FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = 'execution_log_chunks')").all();
    const fd = fs.openSync(file, 'r+');
    for (const { pageno } of pages) fs.writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (pageno - 1) * pageSize);
    fs.closeSync(fd);
    // A write of its own, so the worker's connection drops the pages it had cached and reads the damaged ones.
    other.exec('CREATE TABLE damaged (x)');
    other.close();

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

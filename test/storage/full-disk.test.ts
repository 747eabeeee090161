import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecutionChange } from '../../main/storage/execution-repository.js';
import { request } from '../helpers/http.js';
import { startInProcess, workerLogRecords, type InProcessServer } from '../helpers/in-process.js';
import { openEventStream } from '../helpers/sse.js';
import { fillDisk, smallDisk } from '../helpers/small-disk.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function deliver(server: InProcessServer, triggerId: string, n: number): Promise<{ status: number; executionId?: string; code?: string }> {
  // Large enough that the WAL must grow to take it: a full disk cannot hide behind WAL pages already there.
  const response = await request(server.url, { method: 'POST', path: `/hooks/${triggerId}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n, pad: 'p'.repeat(100_000) }) });
  return {
    status: response.status,
    executionId: response.status === 202 ? response.json<{ executionId: string }>().executionId : undefined,
    code: response.status >= 400 ? response.json<{ error: { code: string } }>().error.code : undefined,
  };
}

describe('a full disk', () => {
  it('refuses deliveries with a 5xx while it lasts, announces no execution it did not store, and accepts them again once there is space', async (context) => {
    const disk = smallDisk((step) => cleanups.push(step));
    if (disk === undefined) return context.skip('mounting a tmpfs needs root');
    const server = await startInProcess({ AGENTED_DATA_DIR: path.join(disk, 'data') });
    cleanups.push(() => server.close());
    const auth = { authorization: `Bearer ${server.key}` };
    const created = await request(server.url, {
      method: 'POST',
      path: '/api/triggers',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hook', kind: 'webhook', promptTemplate: 'delivery {{payload.n}}', signature: { scheme: 'none' } }),
    });
    expect(created.status).toBe(201);
    const triggerId = created.json<{ id: string }>().id;
    const dashboard = openEventStream(server.url, '/api/events', auth);
    cleanups.push(() => dashboard.close());
    expect(await dashboard.status).toBe(200);

    const filler = fillDisk(disk);
    const whileFull = await Promise.all(Array.from({ length: 20 }, (_, n) => deliver(server, triggerId, n)));
    // Nothing is answered 2xx that is not on disk (a sender retries a 5xx).
    expect(whileFull.filter((answer) => answer.status !== 202 && answer.status < 500)).toEqual([]);
    const refused = whileFull.filter((answer) => answer.status >= 500);
    expect(refused.length).toBeGreaterThan(0);
    // Said as what it is (507, the data folder's disk is full), not as an internal error.
    expect(refused.map((answer) => [answer.status, answer.code])).toEqual(refused.map(() => [507, 'ERR_STORAGE_FULL']));
    expect(workerLogRecords(server).some((record) => record.msg === 'delivery failed' && JSON.stringify(record).includes('SQLITE_FULL'))).toBe(true);

    fs.rmSync(filler);
    const afterwards = await Promise.all(Array.from({ length: 5 }, (_, n) => deliver(server, triggerId, 100 + n)));
    expect(afterwards.map((answer) => answer.status)).toEqual([202, 202, 202, 202, 202]);

    const accepted = [...whileFull, ...afterwards].flatMap((answer) => (answer.executionId ? [answer.executionId] : []));
    await dashboard.waitFor((event) => event.data.includes(accepted.at(-1)!));
    const announced = dashboard.events
      .filter((event) => event.event === 'execution')
      .map((event) => JSON.parse(event.data) as ExecutionChange)
      .filter((change) => change.kind === 'created')
      .map((change) => change.id);
    // The dashboard was told of exactly the executions that were stored: every accepted one, once, and no other.
    expect(announced.sort()).toEqual([...accepted].sort());
    for (const id of accepted) expect((await request(server.url, { path: `/api/executions/${id}`, headers: auth })).status).toBe(200);
  }, 60_000);
});

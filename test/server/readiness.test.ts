import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
import { damageTable } from '../helpers/damaged-table.js';
import { request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';
import { fillDisk, smallDisk } from '../helpers/small-disk.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('GET /health/ready', () => {
  it('says not ready, and why, while the database cannot be written (a full disk), and ready again once there is space', async (context) => {
    const disk = smallDisk((step) => cleanups.push(step));
    if (disk === undefined) return context.skip('mounting a tmpfs needs root');
    const server = await startInProcess({ AGENTED_DATA_DIR: path.join(disk, 'data') });
    cleanups.push(() => server.close());
    const ready = () => request(server.url, { path: '/health/ready', headers: { authorization: `Bearer ${server.key}` } });
    expect((await ready()).status).toBe(200);

    const filler = fillDisk(disk);
    const whileFull = await ready();
    expect(whileFull.status).toBe(503);
    const report = whileFull.json<HealthReady>();
    expect(report.status).toBe('degraded');
    expect(report.checks.database.ok).toBe(false);
    expect(report.checks.database.detail).toMatch(/full|space/i);

    fs.rmSync(filler);
    const afterwards = await ready();
    expect(afterwards.status).toBe(200);
    expect(afterwards.json<HealthReady>().checks.database.ok).toBe(true);
  }, 60_000);

  it('says not ready, and why, when the database file is damaged, instead of a 500', async () => {
    const server = await startInProcess();
    cleanups.push(() => server.close());
    // The pages of the executions table and its indexes overwritten in the file, as a bad disk would.
    await damageTable(path.join(server.dataDir, 'agented.db'), 'executions');

    const answer = await request(server.url, { path: '/health/ready', headers: { authorization: `Bearer ${server.key}` } });
    expect(answer.status).toBe(503);
    const report = answer.json<HealthReady>();
    expect(report.status).toBe('degraded');
    expect(report.checks.database.ok).toBe(false);
    expect(report.checks.database.detail).toMatch(/malformed/);
  }, 30_000);
});

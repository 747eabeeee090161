import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthReady } from '../../common/api.js';
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
    const file = path.join(server.dataDir, 'agented.db');
    // Everything is moved into the main file, and the pages of the executions table and its indexes are overwritten, as a bad disk would.
    const other = new Database(file);
    other.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = other.pragma('page_size', { simple: true }) as number;
    const pages = other.prepare<[], { pageno: number }>("SELECT pageno FROM dbstat WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = 'executions')").all();
    const fd = fs.openSync(file, 'r+');
    for (const { pageno } of pages) fs.writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (pageno - 1) * pageSize);
    fs.closeSync(fd);
    // A write of its own, so the worker's connection drops the pages it had cached and reads the damaged ones.
    other.exec('CREATE TABLE damaged (x)');
    other.close();

    const answer = await request(server.url, { path: '/health/ready', headers: { authorization: `Bearer ${server.key}` } });
    expect(answer.status).toBe(503);
    const report = answer.json<HealthReady>();
    expect(report.status).toBe('degraded');
    expect(report.checks.database.ok).toBe(false);
    expect(report.checks.database.detail).toMatch(/malformed/);
  }, 30_000);
});

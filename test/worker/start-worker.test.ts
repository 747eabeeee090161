import fs from 'node:fs';
import net from 'node:net';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startInProcess } from '../helpers/in-process.js';

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('the worker', () => {
  it('closes everything it opened: the port is free and the database is released', async () => {
    const server = await startInProcess();
    const { port, dataDir } = server;
    expect(await canConnect(port)).toBe(true);
    await server.worker.close();
    expect(await canConnect(port)).toBe(false);
    // WAL mode leaves -wal/-shm files only while a connection is open.
    expect(fs.existsSync(`${dataDir}/agented.db-wal`)).toBe(false);
    const db = new Database(`${dataDir}/agented.db`);
    expect(db.pragma('user_version', { simple: true })).toBeGreaterThan(0);
    db.close();
    await server.close();
  });

  it('binds loopback by default; a non-loopback bind is explicit, logged as a warning, and still needs the key', async () => {
    const local = await startInProcess();
    try {
      expect(local.worker.config.host).toBe('127.0.0.1');
      expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:/);
    } finally {
      await local.close();
    }

    const exposed = await startInProcess({ AGENTED_HOST: '0.0.0.0' });
    try {
      // Log lines reach the file at the end of the event-loop turn that wrote them.
      await new Promise((resolve) => setImmediate(resolve));
      const log = fs.readFileSync(`${exposed.logDir}/worker.log`, 'utf8');
      const warning = log.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.level === 'warn');
      expect(warning?.msg).toMatch(/non-loopback/);
      expect(warning?.host).toBe('0.0.0.0');
      expect((await request(exposed.url, { path: '/health/ready' })).status).toBe(401);
      expect((await request(exposed.url, { path: '/health/live', headers: { host: 'attacker.example' } })).status).toBe(403);
    } finally {
      await exposed.close();
    }
  });
});

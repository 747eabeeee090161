import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

/*
 * The tray's tunnel switch (RunningWorker.switchTunnel, what the worker does
 * for the supervisor's `switch-tunnel`), in process: what "on" brings back.
 * test/supervisor/tunnel-switch.test.ts runs it through a forked worker.
 */

function put(server: InProcessServer, body: unknown) {
  return request(server.url, { method: 'PUT', path: '/api/tunnel', body: JSON.stringify(body), headers: { authorization: `Bearer ${server.key}`, 'content-type': 'application/json' } });
}

describe('the tray tunnel switch', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess();
  });
  afterAll(() => server.close());

  it('on brings back the provider that a PUT turned off, too', async () => {
    expect((await put(server, { provider: 'custom', publicUrl: 'https://hooks.example.com' })).status).toBe(200);
    expect((await put(server, { provider: 'off' })).status).toBe(200);
    const on = await server.worker.switchTunnel(true);
    expect(on).toEqual({ error: null, tunnel: expect.objectContaining({ provider: 'custom', status: 'up', publicUrl: 'https://hooks.example.com' }) });
  });

  it('off twice remembers the provider that was on, not "off"', async () => {
    expect((await server.worker.switchTunnel(false)).tunnel).toMatchObject({ provider: 'off' });
    expect((await server.worker.switchTunnel(false)).tunnel).toMatchObject({ provider: 'off' });
    expect((await server.worker.switchTunnel(true)).tunnel).toMatchObject({ provider: 'custom', status: 'up' });
  });
});

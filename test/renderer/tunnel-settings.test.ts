// @vitest-environment happy-dom
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../renderer/src/api/client.js';
import TunnelSettings from '../../renderer/src/components/TunnelSettings.vue';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { startSmeeRelay, type SmeeRelay } from '../helpers/stand-ins/smee-relay.js';
import { loadedMounts, settle } from './mount-component.js';
import { unusedPort } from '../helpers/http.js';

/** The Settings page's tunnel panel against the real worker, whose smee tunnel uses a local relay (test/helpers/stand-ins/smee-relay.ts). */
let server: InProcessServer;
let api: ApiClient;
let relay: SmeeRelay | undefined;
let port: number;

beforeAll(async () => {
  port = await unusedPort();
  server = await startInProcess();
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(server.url);
  api = new ApiClient({ headers: { Authorization: `Bearer ${server.key}` } });
});
afterAll(async () => {
  await server?.close();
  await relay?.close();
});

const mountLoaded = loadedMounts(TunnelSettings, '[data-testid="tunnel-state"]');

describe('tunnel settings', () => {
  it('shows the tunnel coming up by itself once the relay can be reached', async () => {
    // The relay is down: the worker reports it and tries again after a pause (5 s, then longer).
    expect(await api.updateTunnel({ provider: 'smee', server: `http://127.0.0.1:${port}` })).toMatchObject({ status: 'error' });
    const wrapper = await mountLoaded(api);
    expect(wrapper.get('[data-testid="tunnel-state"]').text()).toMatch(/^Not connected: could not create a smee channel/);

    relay = await startSmeeRelay({ port });
    for (let waited = 0; waited < 15_000 && (await api.tunnel()).status !== 'up'; waited += 250) await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await api.tunnel()).status).toBe('up');
    // The panel looks again by itself: nobody reloads the page to see it.
    await settle(wrapper, () => wrapper.get('[data-testid="tunnel-state"]').text().startsWith('Up since'));
    expect(wrapper.text()).toContain(`${relay.url}/${relay.created[0]}`);
  }, 30_000);
});

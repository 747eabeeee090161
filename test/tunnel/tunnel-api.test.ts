import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publicWebhookUrl, type TunnelView } from '../../common/tunnel.js';
import type { TriggerCreated } from '../../common/triggers.js';
import { request, type RawResponse } from '../helpers/http.js';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';

function api(server: InProcessServer, method: string, urlPath: string, body?: unknown): Promise<RawResponse> {
  return request(server.url, {
    method,
    path: urlPath,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { authorization: `Bearer ${server.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
  });
}

type Settings = Record<string, { value: unknown; source: string; restartRequired: boolean; editable: boolean }>;

describe('GET/PUT /api/tunnel', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess();
  });
  afterAll(() => server.close());

  it('is off by default', async () => {
    const view = (await api(server, 'GET', '/api/tunnel')).json<TunnelView>();
    expect(view).toMatchObject({ provider: 'off', status: 'off', publicUrl: null, webhookUrlTemplate: null, error: null, lastRelayedFailure: null, fixedByEnvironment: [] });
    expect(view.settings).toEqual({ smeeUrl: null, smeeServer: 'https://smee.io', publicUrl: null, ngrokDomain: null, ngrokAuthtokenStored: false });
  });

  it('a custom tunnel is only shown: its URL and each trigger’s webhook URL under it', async () => {
    const response = await api(server, 'PUT', '/api/tunnel', { provider: 'custom', publicUrl: 'https://hooks.example.com/agented/' });
    expect(response.status, response.body).toBe(200);
    const view = response.json<TunnelView>();
    expect(view).toMatchObject({ provider: 'custom', status: 'up', publicUrl: 'https://hooks.example.com/agented/', error: null });
    expect(view.notes.join('\n')).toMatch(/AGENTED_ALLOWED_HOSTS/);

    const created = await api(server, 'POST', '/api/triggers', { name: 'hook', kind: 'webhook', promptTemplate: 'Handle {{payload.x}}' });
    const trigger = created.json<TriggerCreated>();
    expect(publicWebhookUrl(view, trigger.webhookPath)).toBe(`https://hooks.example.com/agented/hooks/${trigger.id}`);
    expect(publicWebhookUrl(view, null)).toBeNull();

    const settings = (await api(server, 'GET', '/api/settings')).json<{ settings: Settings }>().settings;
    expect(settings.tunnel).toMatchObject({ value: 'custom', source: 'stored', restartRequired: false, editable: true });
    expect(settings.tunnelPublicUrl).toMatchObject({ value: 'https://hooks.example.com/agented/', source: 'stored', restartRequired: false });
  });

  it.each([
    [{}, 'body.provider'],
    [{ provider: 'wormhole' }, 'body.provider'],
    [{ provider: 'custom' }, 'body.publicUrl'],
    [{ provider: 'custom', publicUrl: 'ftp://example.com' }, 'body.publicUrl'],
    [{ provider: 'custom', publicUrl: 'https://user:pass@example.com' }, 'body.publicUrl'],
    [{ provider: 'smee', channelUrl: 'javascript:alert(1)' }, 'body.channelUrl'],
    [{ provider: 'off', publicUrl: 'https://example.com' }, 'body'],
  ])('refuses %o (400, %s), and changes nothing', async (body, issuePath) => {
    const response = await api(server, 'PUT', '/api/tunnel', body);
    expect(response.status, response.body).toBe(400);
    const { error } = response.json<{ error: { code: string; issues?: { path: string }[] } }>();
    expect(error.code).toBe('ERR_VALIDATION');
    expect(error.issues?.map((issue) => issue.path).join(' ')).toContain(issuePath);
    expect((await api(server, 'GET', '/api/tunnel')).json<TunnelView>()).toMatchObject({ provider: 'custom', status: 'up' });
  });

  it('needs the key', async () => {
    expect((await request(server.url, { path: '/api/tunnel' })).status).toBe(401);
    expect((await request(server.url, { method: 'PUT', path: '/api/tunnel', body: '{"provider":"off"}', headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });

  it('off forgets nothing: the custom URL stays stored for next time', async () => {
    const view = (await api(server, 'PUT', '/api/tunnel', { provider: 'off' })).json<TunnelView>();
    expect(view).toMatchObject({ provider: 'off', status: 'off', publicUrl: null, webhookUrlTemplate: null, settings: { publicUrl: 'https://hooks.example.com/agented/' } });
  });
});

describe('tunnel settings from the environment', () => {
  let server: InProcessServer;
  beforeAll(async () => {
    server = await startInProcess({ AGENTED_TUNNEL: 'custom', AGENTED_TUNNEL_PUBLIC_URL: 'https://agented.example.org' });
  });
  afterAll(() => server.close());

  it('start the tunnel with the worker (headless too) and win over PUT', async () => {
    // The tunnel starts after the worker listens, without holding up its start.
    let view = (await api(server, 'GET', '/api/tunnel')).json<TunnelView>();
    for (const deadline = Date.now() + 5_000; view.status !== 'up' && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      view = (await api(server, 'GET', '/api/tunnel')).json<TunnelView>();
    }
    expect(view).toMatchObject({ provider: 'custom', status: 'up', publicUrl: 'https://agented.example.org', webhookUrlTemplate: 'https://agented.example.org{webhookPath}' });
    expect(view.fixedByEnvironment).toEqual(['AGENTED_TUNNEL', 'AGENTED_TUNNEL_PUBLIC_URL']);

    const other = await api(server, 'PUT', '/api/tunnel', { provider: 'smee' });
    expect(other.status).toBe(400);
    expect(other.body).toMatch(/AGENTED_TUNNEL is set in the environment/);
    const moved = await api(server, 'PUT', '/api/tunnel', { provider: 'custom', publicUrl: 'https://elsewhere.example.org' });
    expect(moved.status).toBe(400);
    expect(moved.body).toMatch(/AGENTED_TUNNEL_PUBLIC_URL/);
    // Saying what the environment says is fine.
    expect((await api(server, 'PUT', '/api/tunnel', { provider: 'custom', publicUrl: 'https://agented.example.org' })).status).toBe(200);

    const settings = (await api(server, 'GET', '/api/settings')).json<{ settings: Settings }>().settings;
    expect(settings.tunnel).toMatchObject({ value: 'custom', source: 'environment' });
  });
});

import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TunnelView } from '../../common/tunnel.js';
import { SealedSecretStore } from '../../main/secrets/sealed-store.js';
import { AuditRepository } from '../../main/storage/audit-repository.js';
import { openDatabase } from '../../main/storage/database.js';
import { SettingsRepository } from '../../main/storage/settings-repository.js';
import { Logger, MemorySink } from '../../main/telemetry/logger.js';
import { TunnelManager } from '../../main/tunnel/tunnel-manager.js';
import { startSmeeRelay, type SmeeRelay } from '../helpers/stand-ins/smee-relay.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep } from '../helpers/time.js';
import { unusedPort } from '../helpers/http.js';

/* The manager's recovery, with short pauses: a relay that is down, then up; a channel that is closed for good, then open again. */

const temp = makeTempDir();
const db = openDatabase({ file: path.join(temp.dir, 'agented.db') });
const sink = new MemorySink();
const settings = new SettingsRepository(db);
const manager = new TunnelManager({
  env: {},
  settings,
  secrets: new SealedSecretStore(db, 'test-key-0123456789abcdefghijklmnop'),
  audit: new AuditRepository(db),
  logger: Logger.create({ sink, level: 'debug' }),
  maxHookBodyBytes: 1024 * 1024,
  startWaitMs: 2_000,
  retryBaseMs: 100,
  retryMaxMs: 400,
  connectTimeoutMs: 1_000,
});
const actor = { actor: 'key', requestId: null };
let relay: SmeeRelay | undefined;

async function eventually(what: string, check: (view: TunnelView) => boolean, timeoutMs = 15_000): Promise<TunnelView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = manager.view();
    if (check(view)) return view;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs} ms (${JSON.stringify({ status: view.status, error: view.error })})`);
    await sleep(25);
  }
}

/** A smee server slow to create a channel: /new answers (with `channel`) once released. */
async function startSlowSmeeServer(channel: string): Promise<{ url: string; release(): void; close(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server = http.createServer((_req, res) => void released.then(() => res.writeHead(307, { location: channel }).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    release,
    close: async () => {
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

beforeAll(() => manager.start('http://127.0.0.1:9'));
afterAll(async () => {
  await manager.dispose();
  await relay?.close();
  db.close();
  temp.remove();
});

describe('tunnel manager', () => {
  it('reports a relay that cannot be reached, and comes up by itself once it can', async () => {
    const port = await unusedPort();
    const view = await manager.update({ provider: 'smee', server: `http://127.0.0.1:${port}` }, actor);
    expect(view).toMatchObject({ provider: 'smee', status: 'error', publicUrl: null });
    expect(view.error).toMatch(new RegExp(`could not create a smee channel at http://127\\.0\\.0\\.1:${port}/new`));

    relay = await startSmeeRelay({ port });
    const up = await eventually('the tunnel up', (current) => current.status === 'up');
    expect(up.error).toBeNull();
    expect(relay.created).toHaveLength(1);
    expect(settings.all().smeeUrl).toBe(`${relay.url}/${relay.created[0]}`);
    expect(sink.lines.some((line) => line.includes('tunnel failed; trying again later'))).toBe(true);
  });

  it('starts again when the relay ends the stream for good (a disabled channel)', async () => {
    const channel = relay!.created[0]!;
    relay!.blocked.add(channel);
    relay!.dropConnections();
    const failed = await eventually('the error', (current) => current.status === 'error' && /403/.test(current.error ?? ''));
    expect(failed.error).toMatch(/403/);
    relay!.blocked.delete(channel);
    await eventually('the tunnel up again', (current) => current.status === 'up');
    expect(relay!.listeners(channel)).toBe(1);
  });

  it('keeps showing the webhook URL while it starts the same channel again', async () => {
    const channel = relay!.created[0]!;
    const before = manager.view();
    expect(before.webhookUrlTemplate).toBe(`${relay!.url}/${channel}?path={webhookPath}`);
    const seen: TunnelView[] = [];
    const listening = manager.onChange((view) => seen.push(view));
    try {
      relay!.blocked.add(channel);
      relay!.dropConnections();
      await eventually('the channel closed for good', (current) => current.status === 'error' && /403/.test(current.error ?? ''));
      relay!.blocked.delete(channel);
      await eventually('the tunnel up again', (current) => current.status === 'up');
    } finally {
      listening.dispose();
    }
    expect(new Set(seen.map((view) => view.status))).toEqual(new Set(['error', 'starting', 'up']));
    // The URL configured in GitHub has not changed: no view in between may show none.
    for (const view of seen) expect({ status: view.status, publicUrl: view.publicUrl, webhookUrlTemplate: view.webhookUrlTemplate }).toEqual({ status: view.status, publicUrl: before.publicUrl, webhookUrlTemplate: before.webhookUrlTemplate });
  });

  it('a channel created for a start that was replaced meanwhile is not kept over the one chosen since', async () => {
    const slow = await startSlowSmeeServer(`${relay!.url}/created-too-late`);
    try {
      const starting = await manager.update({ provider: 'smee', server: slow.url, channelUrl: null }, actor);
      expect(starting.status).toBe('starting');
      const chosen = `${relay!.url}/chosen-channel`;
      expect(await manager.update({ provider: 'smee', server: relay!.url, channelUrl: chosen }, actor)).toMatchObject({ status: 'up', publicUrl: chosen });
      slow.release();
      await sleep(300);
      expect(settings.all().smeeUrl).toBe(chosen);
      expect(manager.view().settings.smeeUrl).toBe(chosen);
    } finally {
      await slow.close();
    }
  });

  it('a change answers without waiting for a start that a later change replaced', async () => {
    const slow = await startSlowSmeeServer(`${relay!.url}/created-too-late`);
    try {
      const begun = Date.now();
      const first = manager.update({ provider: 'smee', server: slow.url, channelUrl: null }, actor).then(() => Date.now() - begun);
      await eventually('the first start under way', (current) => current.status === 'starting');
      const second = manager.update({ provider: 'off' }, actor);
      expect(await second).toMatchObject({ provider: 'off', status: 'off' });
      // startWaitMs is 2 s: the first waited that long for a tunnel that was already gone.
      expect(await first).toBeLessThan(1_000);
    } finally {
      await slow.close();
    }
  });

  it('a new smee server forgets the channel of the old one', async () => {
    const other = await startSmeeRelay();
    try {
      const view = await manager.update({ provider: 'smee', server: other.url }, actor);
      expect(view.status).toBe('up');
      expect(view.publicUrl).toBe(`${other.url}/${other.created[0]}`);
      expect(relay!.listeners(relay!.created[0]!)).toBe(0);
    } finally {
      await manager.update({ provider: 'off' }, actor);
      await other.close();
    }
  });

  it('comes up again when the relay is back after more than the connect timeout of its start', async () => {
    const port = await unusedPort();
    let down = await startSmeeRelay({ port });
    const view = await manager.update({ provider: 'smee', server: down.url, channelUrl: null }, actor);
    expect(view.status).toBe('up');
    const channel = down.created[0]!;
    // The relay goes away soon after the start, and stays away past the start's connect timeout.
    await down.close();
    await eventually('the connection lost', (current) => current.status === 'error');
    await sleep(2_000);
    down = await startSmeeRelay({ port });
    try {
      await eventually('the tunnel up again', (current) => current.status === 'up', 10_000);
      expect(down.listeners(channel)).toBe(1);
    } finally {
      await manager.update({ provider: 'off' }, actor);
      await down.close();
    }
  });
});

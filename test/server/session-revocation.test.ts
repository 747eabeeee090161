import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { keyRotate } from '../../main/cli/key.js';
import type { SecretStore } from '../../main/secrets/keychain.js';
import { startWorker, type RunningWorker } from '../../main/worker/start-worker.js';
import { request, type RawResponse } from '../helpers/http.js';
import { openEventStream } from '../helpers/sse.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, within } from '../helpers/time.js';

/**
 * Browser sessions end when they should, not only when the browser forgets
 * the cookie (docs/decisions.md, "Sessions"): a key rotation ends them all
 * (but the caller's), a logout ends that session on the server for good, and
 * renewals stop 30 days after the login. Real workers on port 0 with their
 * key in a keychain (an in-memory SecretStore, so the key can rotate).
 */
const PREPARATION_THREAD = new URL('../../dist/main/triggers/preparation-thread.js', import.meta.url);
const DAY_MS = 24 * 3600 * 1000;

interface Home {
  env: Record<string, string>;
  store: SecretStore;
  secrets: Map<string, string>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function home(): Home {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const secrets = new Map<string, string>();
  const store: SecretStore = {
    get: (name) => Promise.resolve(secrets.get(name) ?? null),
    set: (name, value) => Promise.resolve(void secrets.set(name, value)),
    delete: (name) => Promise.resolve(secrets.delete(name)),
  };
  // No AGENTED_API_KEY: the key comes from the store and can be rotated.
  return { env: { HOME: temp.dir, AGENTED_DATA_DIR: `${temp.dir}/data`, AGENTED_LOG_DIR: `${temp.dir}/logs`, AGENTED_PORT: '0' }, store, secrets };
}

/** A worker on this home's data and keychain; closing it twice is harmless, so a test may restart it. */
async function start(at: Home): Promise<RunningWorker> {
  const worker = await startWorker({ env: at.env, secretStore: at.store, shutdownGraceMs: 1_000, preparationThreadScript: PREPARATION_THREAD });
  cleanups.push(() => worker.close());
  return worker;
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** The cookie as this worker names it (the name carries the port, which a restart on port 0 changes). */
const cookieFor = (worker: RunningWorker, value: string) => `agented_session_${worker.port}=${value}`;

function cookieValue(response: RawResponse): string {
  const setCookie = response.headers['set-cookie']?.[0];
  if (!setCookie) throw new Error(`no Set-Cookie (status ${response.status}: ${response.body})`);
  return setCookie.split(';')[0]!.split('=')[1]!;
}

/** A browser signing in with the key, as the login page does: the key once, the cookie back. */
async function signIn(worker: RunningWorker, key: string): Promise<string> {
  const response = await request(worker.url, { method: 'POST', path: '/api/session', headers: bearer(key) });
  expect(response.status).toBe(201);
  return cookieValue(response);
}

/** Renews a session with its cookie (POST /api/session from the page). */
const renew = (worker: RunningWorker, value: string) =>
  request(worker.url, { method: 'POST', path: '/api/session', headers: { cookie: cookieFor(worker, value), origin: worker.url } });

const readWith = async (worker: RunningWorker, value: string) => (await request(worker.url, { path: '/api/settings', headers: { cookie: cookieFor(worker, value) } })).status;

describe('a key rotation ends every browser session', () => {
  it('POST /api/key/rotate: other browsers get 401, the browser that asked gets a fresh cookie and stays signed in', async () => {
    const at = home();
    const worker = await start(at);
    const oldKey = at.secrets.get('api-key')!;
    const asking = await signIn(worker, oldKey);
    const other = await signIn(worker, oldKey);

    const rotated = await request(worker.url, {
      method: 'POST',
      path: '/api/key/rotate',
      headers: { cookie: cookieFor(worker, asking), origin: worker.url, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(rotated.status, rotated.body).toBe(200);
    const fresh = cookieValue(rotated);

    expect(await readWith(worker, other)).toBe(401);
    expect(await readWith(worker, asking)).toBe(401);
    expect(await readWith(worker, fresh)).toBe(200);
    // The fresh cookie continues the same session: a logout with it ends it.
    expect((await request(worker.url, { method: 'DELETE', path: '/api/session', headers: { cookie: cookieFor(worker, fresh), origin: worker.url } })).status).toBe(204);
    expect(await readWith(worker, fresh)).toBe(401);
  });

  it('agented key rotate: through the running server at once, or at the next start when no server answered', async () => {
    const at = home();
    let worker = await start(at);
    const cookie = await signIn(worker, at.secrets.get('api-key')!);
    const silence = [vi.spyOn(process.stdout, 'write').mockReturnValue(true), vi.spyOn(process.stderr, 'write').mockReturnValue(true)];
    cleanups.push(() => silence.forEach((spy) => spy.mockRestore()));
    vi.stubEnv('AGENTED_API_KEY', undefined);
    for (const [name, value] of Object.entries({ ...at.env, AGENTED_HOST: '127.0.0.1', AGENTED_PORT: String(worker.port) })) vi.stubEnv(name, value);
    cleanups.push(() => vi.unstubAllEnvs());

    // A server on the configured port: the CLI asks it, and it ends the sessions at once.
    expect(await keyRotate(at.store)).toBe(0);
    expect(await readWith(worker, cookie)).toBe(401);

    // No server answering: the CLI replaces the key in the keychain, and the next start ends the sessions.
    const before = await signIn(worker, at.secrets.get('api-key')!);
    await worker.close();
    expect(await keyRotate(at.store)).toBe(0);
    worker = await start(at);
    expect(await readWith(worker, before)).toBe(401);
    expect(await readWith(worker, await signIn(worker, at.secrets.get('api-key')!))).toBe(200);
  });
});

describe('logging out', () => {
  it('revokes the session on the server: its cookie (and every renewal of it) gets 401, also after a restart, and other sessions stay', async () => {
    const at = home();
    let worker = await start(at);
    const key = at.secrets.get('api-key')!;
    const cookie = await signIn(worker, key);
    const renewed = cookieValue(await renew(worker, cookie));
    const other = await signIn(worker, key);

    const loggedOut = await request(worker.url, { method: 'DELETE', path: '/api/session', headers: { cookie: cookieFor(worker, renewed), origin: worker.url } });
    expect(loggedOut.status).toBe(204);
    expect(await readWith(worker, renewed)).toBe(401);
    expect(await readWith(worker, cookie)).toBe(401);
    expect((await renew(worker, cookie)).status).toBe(401);
    expect(await readWith(worker, other)).toBe(200);

    await worker.close();
    worker = await start(at);
    expect(await readWith(worker, renewed)).toBe(401);
    expect(await readWith(worker, cookie)).toBe(401);
    expect(await readWith(worker, other)).toBe(200);
  });
});

describe('event streams already open', () => {
  /** Opens GET /api/events with these headers; `ended` resolves when the server closes the stream. */
  function openEvents(worker: RunningWorker, headers: Record<string, string>): Promise<{ ended: Promise<void>; isOpen: () => boolean; close: () => void }> {
    return new Promise((resolve, reject) => {
      const request = http.get({ host: '127.0.0.1', port: worker.port, path: '/api/events', headers: { accept: 'text/event-stream', ...headers } }, (response) => {
        if (response.statusCode !== 200) return reject(new Error(`the stream answered ${response.statusCode}`));
        let open = true;
        const ended = new Promise<void>((done) => response.once('close', () => ((open = false), done())));
        response.resume();
        resolve({ ended, isOpen: () => open, close: () => request.destroy() });
      });
      request.once('error', reject);
    });
  }

  it('end at their next heartbeat once their session is signed out or their key rotated; the others go on', async () => {
    const at = home();
    at.env.AGENTED_SSE_HEARTBEAT_MS = '200';
    const worker = await start(at);
    const key = at.secrets.get('api-key')!;
    const [signedOut, staying] = [await signIn(worker, key), await signIn(worker, key)];
    const streams = {
      signedOut: await openEvents(worker, { cookie: cookieFor(worker, signedOut) }),
      staying: await openEvents(worker, { cookie: cookieFor(worker, staying) }),
      key: await openEvents(worker, bearer(key)),
    };
    cleanups.push(() => Object.values(streams).forEach((stream) => stream.close()));

    expect((await request(worker.url, { method: 'DELETE', path: '/api/session', headers: { cookie: cookieFor(worker, signedOut), origin: worker.url } })).status).toBe(204);
    await within(streams.signedOut.ended, 5_000, 'the signed-out stream ending');
    await sleep(600);
    expect(streams.staying.isOpen()).toBe(true);
    expect(streams.key.isOpen()).toBe(true);

    // A rotation by the key: the streams of the old key and of every session end.
    expect((await request(worker.url, { method: 'POST', path: '/api/key/rotate', headers: { ...bearer(key), 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    await within(Promise.all([streams.key.ended, streams.staying.ended]), 5_000, 'the streams of the old key and of the other session ending');
  });
});

describe('event streams at a sign-out or a key rotation', () => {
  /** A stand-in agent CLI in Claude Code's output format: a line every 50 ms for 20 s, so its execution stream stays live. */
  const AGENT = `let index = 0;
const timer = setInterval(() => {
  process.stdout.write(JSON.stringify({ type: 'assistant', message: { role: 'assistant', content: [{ type: 'text', text: 'line ' + index++ }] } }) + '\\n');
  if (index === 400) clearInterval(timer);
}, 50);
`;

  /** A worker with the default heartbeat (15 s, far longer than any wait below) and the dripping agent as its Claude Code. */
  async function startDripping(): Promise<{ worker: RunningWorker; key: string; run: () => Promise<string> }> {
    const at = home();
    const script = path.join(at.env.HOME!, 'agent.mjs');
    fs.writeFileSync(script, AGENT);
    const agent = path.join(at.env.HOME!, 'agent');
    fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`, { mode: 0o755 });
    at.env.AGENTED_CLAUDE_PATH = agent;
    const worker = await start(at);
    const key = at.secrets.get('api-key')!;
    const json = { 'content-type': 'application/json' };
    const created = await request(worker.url, {
      method: 'POST',
      path: '/api/triggers',
      headers: { ...bearer(key), ...json },
      body: JSON.stringify({ name: 'drip', kind: 'manual', backend: 'claude', promptTemplate: 'Say hello' }),
    });
    expect(created.status, created.body).toBe(201);
    const triggerId = created.json<{ id: string }>().id;
    // Always with the key in the keychain now (a rotation replaces it).
    const run = async () => {
      const accepted = await request(worker.url, { method: 'POST', path: `/api/triggers/${triggerId}/run`, headers: { ...bearer(at.secrets.get('api-key')!), ...json }, body: '{"params":{}}' });
      expect(accepted.status, accepted.body).toBe(202);
      return accepted.json<{ executionId: string }>().executionId;
    };
    return { worker, key, run };
  }

  const createdEvent = (id: string) => (event: { event: string; data: string }) => event.event === 'execution' && event.data.includes(id);

  it('the streams of a signed-out session end at once and get nothing more; the streams of the key and of other sessions go on', async () => {
    const { worker, key, run } = await startDripping();
    const [signedOut, staying] = [await signIn(worker, key), await signIn(worker, key)];
    const first = await run();
    const streams = {
      events: openEventStream(worker.url, '/api/events', { cookie: cookieFor(worker, signedOut) }),
      output: openEventStream(worker.url, `/api/executions/${first}/stream`, { cookie: cookieFor(worker, signedOut) }),
      otherSession: openEventStream(worker.url, '/api/events', { cookie: cookieFor(worker, staying) }),
      key: openEventStream(worker.url, '/api/events', bearer(key)),
      keyOutput: openEventStream(worker.url, `/api/executions/${first}/stream`, bearer(key)),
    };
    cleanups.push(() => Object.values(streams).forEach((stream) => stream.close()));
    await within(streams.output.waitFor((event) => event.event === 'log'), 15_000, 'the live output reaching the session');

    expect((await request(worker.url, { method: 'DELETE', path: '/api/session', headers: { cookie: cookieFor(worker, signedOut), origin: worker.url } })).status).toBe(204);
    // Nothing happens on the dashboard meanwhile: the stream ends at the sign-out itself, not at the next event or heartbeat.
    await within(streams.events.ended, 2_000, 'the signed-out dashboard stream ending');
    await within(streams.output.ended, 2_000, 'the signed-out output stream ending');

    const second = await run();
    await within(Promise.all([streams.key.waitFor(createdEvent(second)), streams.otherSession.waitFor(createdEvent(second))]), 5_000, 'the other streams hearing of the new execution');
    expect(streams.events.events.filter(createdEvent(second))).toEqual([]);
    const lastSeen = Number(streams.keyOutput.events.at(-1)!.id);
    await within(streams.keyOutput.waitFor((event) => Number(event.id) > lastSeen), 5_000, 'the key\'s output stream going on');
  });

  it('after a key rotation, the streams of the old key and of every session get nothing more', async () => {
    const { worker, key, run } = await startDripping();
    const session = await signIn(worker, key);
    const first = await run();
    const streams = {
      events: openEventStream(worker.url, '/api/events', { cookie: cookieFor(worker, session) }),
      output: openEventStream(worker.url, `/api/executions/${first}/stream`, { cookie: cookieFor(worker, session) }),
      oldKey: openEventStream(worker.url, '/api/events', bearer(key)),
      oldKeyOutput: openEventStream(worker.url, `/api/executions/${first}/stream`, bearer(key)),
    };
    cleanups.push(() => Object.values(streams).forEach((stream) => stream.close()));
    await within(Promise.all([streams.output.waitFor((event) => event.event === 'log'), streams.oldKeyOutput.waitFor((event) => event.event === 'log')]), 15_000, 'the live output reaching both');

    expect((await request(worker.url, { method: 'POST', path: '/api/key/rotate', headers: { ...bearer(key), 'content-type': 'application/json' }, body: '{}' })).status).toBe(200);
    const second = await run();
    await within(Promise.all(Object.values(streams).map((stream) => stream.ended)), 2_000, 'the streams of the old credentials ending');
    expect(streams.events.events.filter(createdEvent(second))).toEqual([]);
    expect(streams.oldKey.events.filter(createdEvent(second))).toEqual([]);
  });
});

describe('renewing a session', () => {
  it('stops 30 days after the login: each renewal expires no later than that, and then a new login is needed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const loginAt = Date.parse('2026-03-01T09:00:00Z');
    vi.setSystemTime(loginAt);
    const at = home();
    const worker = await start(at);
    let cookie = await signIn(worker, at.secrets.get('api-key')!);

    // The default lifetime is 7 days: renewed every 6 days, the session lives on until day 30.
    for (let day = 6; day <= 24; day += 6) {
      vi.setSystemTime(loginAt + day * DAY_MS);
      const renewed = await renew(worker, cookie);
      expect(renewed.status, `day ${day}`).toBe(201);
      cookie = cookieValue(renewed);
    }
    vi.setSystemTime(loginAt + 29 * DAY_MS);
    const last = await renew(worker, cookie);
    expect(last.status).toBe(201);
    expect(Date.parse(last.json<{ expiresAt: string }>().expiresAt)).toBe(loginAt + 30 * DAY_MS);
    cookie = cookieValue(last);

    vi.setSystemTime(loginAt + 30 * DAY_MS + 1_000);
    expect(await readWith(worker, cookie)).toBe(401);
    expect((await renew(worker, cookie)).status).toBe(401);
  });
});

describe('cookies from before sessions could be revoked', () => {
  it('a v1 cookie (no login time, signed without the key) is refused: the browser signs in again', async () => {
    const at = home();
    const worker = await start(at);
    await signIn(worker, at.secrets.get('api-key')!);
    const payload = `v1.${Math.floor(Date.now() / 1000) + 3600}.${crypto.randomBytes(12).toString('base64url')}`;
    const secret = Buffer.from(at.secrets.get('session-secret')!, 'base64url');
    const v1 = `${payload}.${crypto.createHmac('sha256', secret).update(payload).digest('base64url')}`;
    expect(await readWith(worker, v1)).toBe(401);
  });
});

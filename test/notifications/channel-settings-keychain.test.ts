import { afterEach, describe, expect, it } from 'vitest';
import type { NotificationSettings } from '../../common/notifications.js';
import { request } from '../helpers/http.js';
import { keychainHome, keyShowIn, serveWithKeychain, type KeychainHome } from '../helpers/keychain-serve.js';

/**
 * PUT /api/notifications against `agented serve` with the channels in a real
 * Secret Service (gnome-keyring), where each write to the keychain takes a
 * D-Bus round trip: two changes made at once (two tabs of the settings page,
 * a script) must both stay, in memory and in the keychain.
 */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(home: KeychainHome, key: string) {
  const server = serveWithKeychain(home);
  // dbus-run-session wraps the CLI: end the whole group.
  cleanups.push(() => server.killGroup('SIGKILL'));
  const { url } = await server.ready;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  return {
    server,
    put: (body: unknown) => request(url, { method: 'PUT', path: '/api/notifications', headers, body: JSON.stringify(body) }),
    channels: async () => (await request(url, { path: '/api/notifications', headers })).json<NotificationSettings>().channels,
  };
}

describe('notification channels in a real Secret Service (gnome-keyring)', () => {
  it('two changes sent at once both stay, and are still there after a restart', async () => {
    const home = keychainHome();
    cleanups.push(home.remove);
    const key = await keyShowIn(home);
    const first = await serve(home, key);

    const answers = await Promise.all([
      first.put({ webhookUrl: 'https://receiver.example.com/hooks/webhookToken0123456789' }),
      first.put({ slackUrl: 'https://hooks.slack.com/services/T0/B0/slackToken0123456789' }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    const expected = { slack: { configured: true }, webhook: { configured: true, host: 'receiver.example.com', signed: false } };
    expect(await first.channels()).toMatchObject(expected);

    await first.server.killGroup('SIGTERM');
    await first.server.exited;
    const second = await serve(home, key);
    expect(await second.channels()).toMatchObject(expected);
  }, 60_000);
});

import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { NotificationSettings, NotificationTestResult } from '../../common/notifications.js';
import { request } from '../helpers/http.js';
import { TEST_API_KEY } from '../helpers/in-process.js';
import { runCli } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * The desktop channel goes from the worker to its supervisor over the IPC
 * link. In the Electron app the shell shows it (main/shell/desktop-notifications.ts,
 * which cannot run here); under `agented serve` the supervisor writes it to
 * its log, which is what this exercises, over the real fork and IPC.
 */
describe('desktop notifications under agented serve', () => {
  it('reach the supervisor over IPC and are written to its log; turned off, nothing is sent', async () => {
    const temp = makeTempDir();
    cleanups.push(temp.remove);
    const cli = runCli({ env: { HOME: temp.dir, AGENTED_API_KEY: TEST_API_KEY, AGENTED_DATA_DIR: path.join(temp.dir, 'data'), AGENTED_LOG_DIR: path.join(temp.dir, 'logs') } });
    cleanups.push(() => cli.killGroup('SIGKILL'));
    const { url } = await cli.ready;
    const headers = { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' };

    const settings = (await request(url, { path: '/api/notifications', headers })).json<NotificationSettings>();
    expect(settings.channels.desktop).toEqual({ enabled: true, available: true });

    const sent = await request(url, { method: 'POST', path: '/api/notifications/test', headers });
    expect(sent.status).toBe(202);
    const { notificationId, channels } = sent.json<NotificationTestResult>();
    expect(channels).toEqual(['desktop']);
    const line = await cli.waitForLine((logged) => logged.process === 'supervisor' && logged.msg === 'desktop notification: Test notification from Agented');
    expect(line).toMatchObject({ level: 'warn', notification_id: notificationId, notification_kind: 'test', link: '/settings' });
    const outbox = (await request(url, { path: '/api/notifications', headers })).json<NotificationSettings>().recent;
    expect(outbox[0]).toMatchObject({ notificationId, channel: 'desktop', status: 'delivered', attempts: 1 });

    const off = await request(url, { method: 'PUT', path: '/api/notifications', headers, body: JSON.stringify({ desktop: false }) });
    expect(off.json<NotificationSettings>().channels.desktop).toEqual({ enabled: false, available: true });
    expect((await request(url, { method: 'POST', path: '/api/notifications/test', headers })).status).toBe(409);

    expect(await cli.stop('SIGTERM')).toBe(0);
  }, 60_000);
});

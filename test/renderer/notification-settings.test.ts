// @vitest-environment happy-dom
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../renderer/src/api/client.js';
import NotificationSettings from '../../renderer/src/components/NotificationSettings.vue';
import { startInProcess, type InProcessServer } from '../helpers/in-process.js';
import { loadedMounts, settle } from './mount-component.js';

/**
 * The Settings page's notification channels against the real worker, whose
 * webhook channel posts to a receiver on this machine that answers 204.
 */
let server: InProcessServer;
let api: ApiClient;
const receiver = http.createServer((_req, res) => res.writeHead(204).end());

beforeAll(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  server = await startInProcess();
  (window as unknown as { happyDOM: { setURL(url: string): void } }).happyDOM.setURL(server.url);
  api = new ApiClient({ headers: { Authorization: `Bearer ${server.key}` } });
  await api.updateNotifications({ webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events` });
});
afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => receiver.close(resolve));
});

const mountLoaded = loadedMounts(NotificationSettings, '[data-testid="notify-save"]');

describe('notification settings', () => {
  it('a test notification shows its delivery, and keeps what is being typed meanwhile', async () => {
    const wrapper = await mountLoaded(api);
    await wrapper.get('[data-testid="notify-test"]').trigger('click');
    await settle(wrapper, () => wrapper.text().includes('Sent to webhook'));
    await wrapper.get('[data-testid="notify-slack-url"]').setValue('https://hooks.slack.com/services/T0/B0/typed-meanwhile');
    await wrapper.get('[data-testid="notify-desktop"]').setValue(true);

    // The page looks again a moment later, for how the delivery went.
    await settle(wrapper, () => wrapper.find('[data-testid="notification-outbox"]').exists());
    expect(wrapper.get('[data-testid="notification-outbox"]').text()).toContain('Test notification from Agented');
    expect((wrapper.get('[data-testid="notify-slack-url"]').element as HTMLInputElement).value).toBe('https://hooks.slack.com/services/T0/B0/typed-meanwhile');
    expect((wrapper.get('[data-testid="notify-desktop"]').element as HTMLInputElement).checked).toBe(true);
  });
});

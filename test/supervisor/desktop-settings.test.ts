import { afterEach, describe, expect, it } from 'vitest';
import type { SettingsView } from '../../common/api.js';
import type { DesktopSettings } from '../../common/worker-protocol.js';
import { forkSupervisor, type ForkedSupervisor } from '../helpers/fork-supervisor.js';
import { request } from '../helpers/http.js';
import { within } from '../helpers/time.js';

/*
 * Start at login is stored in the worker's database but applied by the
 * desktop shell: the worker tells the supervisor at start and as soon as
 * PATCH /api/settings stores it (main/shell/start-at-login.ts applies it).
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(env: Record<string, string> = {}): { forked: ForkedSupervisor; heard: DesktopSettings[] } {
  const forked = forkSupervisor(env);
  cleanups.push(forked.close);
  const heard: DesktopSettings[] = [];
  forked.supervisor.on('desktopSettings', (settings) => heard.push(settings));
  return { forked, heard };
}

function next(forked: ForkedSupervisor): Promise<DesktopSettings> {
  return within(new Promise((resolve) => forked.supervisor.once('desktopSettings', resolve)), 10_000, 'desktop settings from the worker');
}

async function patch(url: string, forked: ForkedSupervisor, body: unknown) {
  return request(url, { method: 'PATCH', path: '/api/settings', body: JSON.stringify(body), headers: { ...forked.auth, 'content-type': 'application/json' } });
}

describe('desktop settings from the worker', () => {
  it('are told at start (off by default), at once when stored, and again by the next worker', async () => {
    const { forked, heard } = start();
    const first = next(forked);
    const running = await forked.supervisor.start();
    expect(await first).toEqual({ startAtLogin: false });

    const stored = next(forked);
    const response = await patch(running.url, forked, { startAtLogin: true });
    expect(response.status, response.body).toBe(200);
    expect(await stored).toEqual({ startAtLogin: true });
    // Applied at once, so no restart is pending for it.
    expect(response.json<SettingsView>().settings.startAtLogin).toEqual({ value: true, source: 'stored', env: 'AGENTED_START_AT_LOGIN', editable: true, restartRequired: false });

    // Storing other settings does not repeat it.
    expect((await patch(running.url, forked, { deliveriesKept: 20 })).status).toBe(200);
    expect(heard).toEqual([{ startAtLogin: false }, { startAtLogin: true }]);

    const again = next(forked);
    await forked.supervisor.restart();
    expect(await again).toEqual({ startAtLogin: true });
  });

  it('refuses a value that is not a boolean', async () => {
    const { forked } = start();
    const running = await forked.supervisor.start();
    const response = await patch(running.url, forked, { startAtLogin: 'yes' });
    expect(response.status).toBe(400);
    expect(response.json<{ error: { issues: { path: string }[] } }>().error.issues[0]?.path).toBe('body.startAtLogin');
  });

  it('AGENTED_START_AT_LOGIN wins over what is stored', async () => {
    const { forked } = start({ AGENTED_START_AT_LOGIN: 'true' });
    const first = next(forked);
    await forked.supervisor.start();
    expect(await first).toEqual({ startAtLogin: true });
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Execution } from '../../common/executions.js';
import type { DesktopNotification, NotificationSettings } from '../../common/notifications.js';
import type { showDesktopNotification } from '../../main/shell/desktop-notifications.js';
import type { WindowController } from '../../main/shell/window-controller.js';
import { forkSupervisor, type ForkedSupervisor } from '../helpers/fork-supervisor.js';
import { request } from '../helpers/http.js';
import { repoRoot } from '../helpers/serve.js';
import { makeTempDir } from '../helpers/temp.js';
import { sleep, within } from '../helpers/time.js';
import { bundleShell, createElectronStandIn } from '../shell/electron-stand-in.js';

/*
 * A really failing execution — the claude CLI is test/fixtures/failing-agent.mjs,
 * which exits 1 — in the real worker forked by the real Supervisor: one
 * desktop notification comes over the IPC link, pointing at that execution's
 * page. Then the shell's half, main/shell/desktop-notifications.ts and
 * window-controller.ts bundled as the app bundles them, wired as
 * main/shell/main.ts wires them, with a stand-in `electron` (its Notification
 * and BrowserWindow, with the documented shape of the parts used; Electron
 * cannot run here): a click opens the window, signs it in with a real
 * one-time login URL from the worker, and loads the execution's page.
 */

const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let forked: ForkedSupervisor;
let url: string;
const heard: DesktopNotification[] = [];
let executionId: string;

async function api<T>(method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await request(url, {
    method,
    path: urlPath,
    headers: { ...forked.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: response.body === '' ? (undefined as T) : response.json<T>() };
}

async function ended(id: string): Promise<Execution> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const execution = (await api<Execution>('GET', `/api/executions/${id}`)).body;
    if (!['queued', 'running'].includes(execution.state)) return execution;
    if (Date.now() > deadline) throw new Error(`execution ${id} still ${execution.state}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  const temp = makeTempDir();
  cleanups.push(temp.remove);
  const agent = path.join(temp.dir, 'failing-agent');
  fs.writeFileSync(agent, `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'test', 'fixtures', 'failing-agent.mjs')}" "$@"\n`, { mode: 0o755 });
  forked = forkSupervisor({ AGENTED_CLAUDE_PATH: agent });
  cleanups.push(forked.close);
  forked.supervisor.on('notification', (notification) => heard.push(notification));
  ({ url } = await forked.supervisor.start());
});

describe('a failed execution, on the desktop', () => {
  it('sends exactly one desktop notification over the supervisor link, whose link is that execution’s page', async () => {
    const trigger = await api<{ id: string }>('POST', '/api/triggers', { name: 'review PRs', kind: 'manual', backend: 'claude', promptTemplate: 'anything' });
    expect(trigger.status, JSON.stringify(trigger.body)).toBe(201);
    const accepted = await api<{ executionId: string }>('POST', `/api/triggers/${trigger.body.id}/run`, { params: {} });
    expect(accepted.status).toBe(202);
    executionId = accepted.body.executionId;

    const execution = await ended(executionId);
    expect(execution).toMatchObject({ state: 'failed', exitCode: 1 });
    await within(
      (async () => {
        while (heard.length === 0) await sleep(25);
      })(),
      10_000,
      'the desktop notification',
    );
    // Long enough for a second delivery (a retry, a second listener) to show up if there were one.
    await sleep(1_500);

    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ kind: 'execution_failed', title: 'Execution of "review PRs" failed', link: `/executions/${executionId}` });
    expect(heard[0]?.body).toBe(execution.reason);
    const recent = (await api<NotificationSettings>('GET', '/api/notifications')).body.recent;
    expect(recent.filter((entry) => entry.notificationId === heard[0]?.id)).toEqual([
      expect.objectContaining({ channel: 'desktop', kind: 'execution_failed', status: 'delivered', attempts: 1 }),
    ]);
  });

  it('clicked, opens the window signed in and loads that execution’s page; clicked again, reuses the window', async () => {
    const notification = heard[0];
    expect(notification).toBeDefined();

    // The stand-in electron: records what the shell does with it.
    const electron = createElectronStandIn();
    const { notifications: shown, windows } = electron;
    const exports = (await bundleShell(['desktop-notifications.ts', 'window-controller.ts'])).load(electron);
    const show = exports.showDesktopNotification as typeof showDesktopNotification;
    const Controller = exports.WindowController as typeof WindowController;

    // As main/shell/main.ts: the origin is known once the worker serves; notifications open their link in the window.
    const controller = new Controller({ preloadPath: '/unused/preload.cjs', supervisor: forked.supervisor, lifetime: { quitting: false }, logger: forked.logger });
    const origin = new URL(url).origin;
    controller.setWorkerOrigin(origin);
    const open = (link: string) => controller.openLink(link);

    show(notification!, { open, logger: forked.logger });
    expect(shown.map((entry) => entry.options)).toEqual([{ title: notification!.title, body: notification!.body }]);
    expect(windows).toHaveLength(0);

    shown[0]!.emit('click');
    await within(
      (async () => {
        while ((windows[0]?.loaded.length ?? 0) < 2) await sleep(25);
      })(),
      10_000,
      'the window loading the execution’s page',
    );
    const [window] = windows;
    const [login, page] = window!.loaded;
    expect(page).toBe(`${origin}/executions/${executionId}`);
    // First the one-time login link, so the page loads signed in: the worker takes it once, for a session cookie.
    expect(login).toMatch(new RegExp(`^${origin}/auth/login\\?token=`));
    const loginUrl = new URL(login!);
    const signedIn = await request(origin, { path: loginUrl.pathname + loginUrl.search });
    expect(signedIn.status).toBe(303);
    const cookie = String(signedIn.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
    const seen = await request(url, { path: `/api/executions/${executionId}`, headers: { cookie } });
    expect(seen.status).toBe(200);
    expect(seen.json<Execution>()).toMatchObject({ id: executionId, state: 'failed' });

    // A second notification's click brings the same window to the front and loads its page there.
    show(notification!, { open, logger: forked.logger });
    shown[1]!.emit('click');
    await within(
      (async () => {
        while (window!.loaded.length < 3) await sleep(25);
      })(),
      5_000,
      'the second page',
    );
    expect(windows).toHaveLength(1);
    expect(window!.loaded[2]).toBe(`${origin}/executions/${executionId}`);
    expect(window!.shows).toBe(1);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { trayActions, type TrayActionDependencies } from '../../main/shell/tray-actions.js';
import { forkSupervisor, type ForkedSupervisor } from '../helpers/fork-supervisor.js';
import { request } from '../helpers/http.js';
import { isAlive } from '../helpers/serve.js';
import { within } from '../helpers/time.js';

/*
 * What each tray item does, with the real Supervisor and a forked worker.
 * Electron's clipboard, shell.openPath, app.quit and notifications are the
 * only stand-ins (Electron cannot run here): main.ts passes the real ones.
 */

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function setUp(env: Record<string, string> = {}, openFolder: (folder: string) => Promise<string> = async () => '') {
  const forked: ForkedSupervisor = forkSupervisor(env);
  cleanups.push(forked.close);
  const effects = { clipboard: [] as string[], folders: [] as string[], warnings: [] as string[], windows: 0, quits: 0 };
  const deps: TrayActionDependencies = {
    supervisor: forked.supervisor,
    showWindow: () => void (effects.windows += 1),
    writeClipboard: (text) => void effects.clipboard.push(text),
    openFolder: async (folder) => {
      effects.folders.push(folder);
      return openFolder(folder);
    },
    logDir: '/var/log/agented-test',
    quit: () => void (effects.quits += 1),
    warn: (title, body) => void effects.warnings.push(`${title}: ${body}`),
    logger: forked.logger,
  };
  return { forked, effects, actions: trayActions(deps) };
}

describe('tray actions', () => {
  it('start, copy the webhook URL (local, then public), tunnel off, restart, stop', async () => {
    const { forked, effects, actions } = setUp();
    const { supervisor } = forked;
    await actions.start();
    expect(supervisor.state.status).toBe('running');
    const running = supervisor.state.status === 'running' ? supervisor.state : undefined;

    await actions['copy-webhook-url']();
    expect(effects.clipboard).toEqual([`${running?.url}/hooks/`]);

    const put = await request(running!.url, {
      method: 'PUT',
      path: '/api/tunnel',
      body: JSON.stringify({ provider: 'custom', publicUrl: 'https://hooks.example.com' }),
      headers: { ...forked.auth, 'content-type': 'application/json' },
    });
    expect(put.status).toBe(200);
    // The copy uses what the supervisor heard from the worker: its push follows the answer.
    await within(new Promise((resolve) => (supervisor.tunnel?.status === 'up' ? resolve(undefined) : supervisor.on('tunnel', (tunnel) => tunnel?.status === 'up' && resolve(undefined)))), 10_000, 'the tunnel up');
    await actions['copy-webhook-url']();
    expect(effects.clipboard.at(-1)).toBe('https://hooks.example.com/hooks/');

    await actions['tunnel-off']();
    expect(supervisor.tunnel).toMatchObject({ provider: 'off', status: 'off' });
    await actions['tunnel-on']();
    expect(supervisor.tunnel).toMatchObject({ provider: 'custom', status: 'up' });

    await actions.restart();
    expect(supervisor.state).toMatchObject({ status: 'running', port: running?.port });
    expect(isAlive(running!.pid)).toBe(false);

    await actions.stop();
    expect(supervisor.state.status).toBe('stopped');
    // Nothing to copy while no worker serves.
    await actions['copy-webhook-url']();
    expect(effects.clipboard.at(-1)).toBe('https://hooks.example.com/hooks/');
    expect(effects.clipboard).toHaveLength(2);
    expect(effects.warnings).toEqual([]);
  });

  it('a refused switch is shown with the reason', async () => {
    const { forked, effects, actions } = setUp({ AGENTED_TUNNEL: 'custom', AGENTED_TUNNEL_PUBLIC_URL: 'https://agented.example.org' });
    await forked.supervisor.start();
    await actions['tunnel-off']();
    expect(effects.warnings).toHaveLength(1);
    expect(effects.warnings[0]).toMatch(/^Agented could not turn the tunnel off: AGENTED_TUNNEL is set in the environment/);
  });

  it('open, open-logs and quit go to the window, the logs folder and the app; a folder that cannot open is shown', async () => {
    const { effects, actions } = setUp({}, async () => 'No application is registered for folders');
    await actions.open();
    await actions['open-logs']();
    await actions.quit();
    expect(effects).toMatchObject({ windows: 1, quits: 1, folders: ['/var/log/agented-test'] });
    expect(effects.warnings).toEqual(['Agented could not open the logs folder: /var/log/agented-test: No application is registered for folders']);
  });
});

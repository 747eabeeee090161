import { describe, expect, it } from 'vitest';
import type { ServerState } from '../../common/preload-api.js';
import { trayMenu, type TrayAction } from '../../main/shell/tray-menu.js';
import { trayTemplate, trayTooltip } from '../../main/shell/tray-template.js';

const running: ServerState = { status: 'running', url: 'http://127.0.0.1:8787', port: 8787, restarts: 0 };

describe('the tray menu as an Electron menu template', () => {
  it('renders status lines as disabled items, separators as separators, and actions with their enabled flag', () => {
    const items = trayMenu({ server: running });
    const template = trayTemplate(items, () => undefined, 'linux');
    expect(template).toHaveLength(items.length);
    expect(template[0]).toEqual({ label: 'Running on :8787', enabled: false });
    expect(template[1]).toEqual({ type: 'separator' });
    expect(template.find((entry) => entry.label === 'Start')).toMatchObject({ enabled: false });
    expect(template.find((entry) => entry.label === 'Stop')).toMatchObject({ enabled: true });
  });

  it('a click runs the item’s action, and every action item has one', () => {
    const clicked: TrayAction[] = [];
    const items = trayMenu({ server: running, tunnel: { provider: 'off', status: 'off', publicUrl: null, webhookUrlTemplate: null, error: null, fixedByEnvironment: [] } });
    const template = trayTemplate(items, (action) => clicked.push(action), 'darwin');
    for (const entry of template) (entry.click as (() => void) | undefined)?.();
    expect(clicked).toEqual(items.flatMap((item) => (item.kind === 'action' ? [item.action] : [])));
    expect(clicked).toEqual(expect.arrayContaining(['open', 'start', 'stop', 'restart', 'copy-webhook-url', 'tunnel-on', 'open-logs', 'quit']));
  });

  it('cuts a long reason, and doubles "&" on Windows, where it marks a mnemonic', () => {
    const reason = `EADDRINUSE: ${'x'.repeat(200)}`;
    const [status] = trayTemplate(trayMenu({ server: { status: 'crashed', reason } }), () => undefined, 'linux');
    expect(status?.label).toHaveLength(90);
    expect(status?.label?.endsWith('…')).toBe(true);
    const crashed = { status: 'crashed', reason: 'keychain & database' } as const;
    expect(trayTemplate(trayMenu({ server: crashed }), () => undefined, 'win32')[0]?.label).toBe('Crashed: keychain && database');
    expect(trayTemplate(trayMenu({ server: crashed }), () => undefined, 'linux')[0]?.label).toBe('Crashed: keychain & database');
  });

  it('the tooltip names the app and its state', () => {
    expect(trayTooltip(trayMenu({ server: running }))).toBe('Agented — Running on :8787');
    expect(trayTooltip(trayMenu({ server: { status: 'crashed', reason: 'x'.repeat(300) } })).length).toBeLessThanOrEqual(127);
  });

  it('never cuts a character in two (an emoji in a reason), which Electron would show as "�"', () => {
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (let offset = 0; offset < 4; offset += 1) {
      const reason = `${'x'.repeat(70 + offset)}${'🔥'.repeat(80)}`;
      const items = trayMenu({ server: { status: 'crashed', reason } });
      expect(trayTemplate(items, () => undefined, 'linux')[0]?.label).not.toMatch(lone);
      expect(trayTooltip(items)).not.toMatch(lone);
    }
  });
});

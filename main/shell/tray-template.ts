import type { MenuItemConstructorOptions } from 'electron';
import type { TrayAction, TrayMenuItem } from './tray-menu.js';

/** Long status lines (an error's message) are cut: a menu is no place for a paragraph. */
const MAX_LABEL = 90;

/** The first `length` UTF-16 units of `text`, one fewer where the cut would split a character in two (an emoji): Electron shows half of one as "�". */
function head(text: string, length: number): string {
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

function menuLabel(label: string, platform: NodeJS.Platform): string {
  const short = label.length > MAX_LABEL ? `${head(label, MAX_LABEL - 1)}…` : label;
  // Windows reads "&" as a mnemonic marker; "&&" shows one.
  return platform === 'win32' ? short.replaceAll('&', '&&') : short;
}

/**
 * The tray model as Electron's menu template: status lines are disabled
 * items, separators are separators, actions call `run` with their name. Only
 * types come from electron here, so this is tested under Node.
 */
export function trayTemplate(items: readonly TrayMenuItem[], run: (action: TrayAction) => void, platform: NodeJS.Platform): MenuItemConstructorOptions[] {
  return items.map((item): MenuItemConstructorOptions => {
    switch (item.kind) {
      case 'status':
        return { label: menuLabel(item.label, platform), enabled: false };
      case 'separator':
        return { type: 'separator' };
      case 'action':
        return { label: menuLabel(item.label, platform), enabled: item.enabled, click: () => run(item.action) };
      default:
        return item satisfies never;
    }
  });
}

/** The tray icon's tooltip: the app and its first status line ("Agented — Running on :8787"). */
export function trayTooltip(items: readonly TrayMenuItem[]): string {
  const status = items.find((item) => item.kind === 'status');
  return status?.kind === 'status' ? head(`Agented — ${status.label}`, 127) : 'Agented';
}

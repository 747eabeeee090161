import { Menu, Tray, nativeImage } from 'electron';
import type { Disposable } from '../lifecycle/disposables.js';
import type { Logger } from '../telemetry/logger.js';
import { trayMenu, type TrayAction, type TrayMenuInput } from './tray-menu.js';
import { trayTemplate, trayTooltip } from './tray-template.js';

export interface AppTrayOptions {
  iconPath: string;
  run: (action: TrayAction) => void;
  logger: Logger;
}

/**
 * The tray icon and its menu. Everything it shows comes from `trayMenu`
 * (tray-menu.ts) through `trayTemplate`; this only hands the result to
 * Electron, again on every change (Linux's tray only updates on a new menu).
 */
export class AppTray implements Disposable {
  private readonly tray: Tray;

  constructor(private readonly options: AppTrayOptions) {
    const icon = nativeImage.createFromPath(options.iconPath);
    if (icon.isEmpty()) options.logger.warn('the tray icon could not be loaded', { path: options.iconPath });
    if (process.platform === 'darwin') icon.setTemplateImage(true);
    this.tray = new Tray(icon);
    // On Windows a click on a tray icon opens the app, and the menu is on the right button; macOS and Linux open the menu.
    if (process.platform === 'win32') this.tray.on('click', () => options.run('open'));
  }

  render(input: TrayMenuInput): void {
    const items = trayMenu(input);
    this.tray.setContextMenu(Menu.buildFromTemplate(trayTemplate(items, this.options.run, process.platform)));
    this.tray.setToolTip(trayTooltip(items));
  }

  dispose(): void {
    this.tray.destroy();
  }
}

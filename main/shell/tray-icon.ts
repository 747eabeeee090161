import path from 'node:path';

/** Where the tray icons are, relative to the app root (packaged through electron-builder.yml's `files`). */
export const TRAY_ICON_DIR = path.join('resources', 'tray');

/**
 * The tray icon for a platform. macOS gets a template image (black on
 * transparent, named *Template so Electron marks it so), which the menu bar
 * tints for light and dark mode; the others a coloured badge that reads on
 * light and dark panels. Electron loads the @2x file beside it on
 * high-density screens. Drawn by scripts/make-tray-icons.mjs.
 */
export function trayIconPath(platform: NodeJS.Platform, appRoot: string): string {
  return path.join(appRoot, TRAY_ICON_DIR, platform === 'darwin' ? 'trayTemplate.png' : 'tray.png');
}

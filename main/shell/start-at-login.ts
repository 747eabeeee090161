import fs from 'node:fs';
import path from 'node:path';

/** Given to the app when the OS starts it at login: it then stays in the tray, without its window. */
export const HIDDEN_ARG = '--hidden';

/** The XDG autostart entry's file name (https://specifications.freedesktop.org/autostart-spec/latest/). */
export const AUTOSTART_FILE = 'agented.desktop';

export interface LoginItemHost {
  platform: NodeJS.Platform;
  /** Electron's `app.setLoginItemSettings`: the OS login items on macOS and Windows (a no-op elsewhere). */
  setLoginItemSettings(settings: { openAtLogin: boolean; args: string[] }): void;
  /** Where XDG autostart entries go (Linux): see `xdgAutostartDir`. */
  autostartDir: string;
  /** The command line that starts this app (see `launchCommand`). */
  command: readonly string[];
}

/**
 * Applies the start-at-login setting: the OS's login items on macOS and
 * Windows, an XDG autostart entry on Linux (where Electron's login items do
 * nothing). Either way the app is started with `--hidden`. Applying the same
 * value twice changes nothing, so it is applied at every worker start.
 */
export function applyStartAtLogin(openAtLogin: boolean, host: LoginItemHost): void {
  if (host.platform === 'linux') {
    const file = path.join(host.autostartDir, AUTOSTART_FILE);
    if (openAtLogin) {
      fs.mkdirSync(host.autostartDir, { recursive: true });
      fs.writeFileSync(file, autostartEntry([...host.command, HIDDEN_ARG]));
    } else {
      fs.rmSync(file, { force: true });
    }
    return;
  }
  // Windows keys the registry entry by path and arguments: removing must pass the same ones as adding.
  host.setLoginItemSettings({ openAtLogin, args: [...host.command.slice(1), HIDDEN_ARG] });
}

/** `$XDG_CONFIG_HOME/autostart`, or `~/.config/autostart`. */
export function xdgAutostartDir(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const configHome = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(home, '.config');
  return path.join(configHome, 'autostart');
}

/**
 * How to start this app again: the AppImage file when running from one (its
 * executable lives on a mount that is gone after exit), else the executable,
 * followed by the app's folder when not packaged (`electron .`).
 */
export function launchCommand(options: { execPath: string; env: Readonly<Record<string, string | undefined>>; isPackaged: boolean; appPath: string }): string[] {
  if (options.env.APPIMAGE) return [options.env.APPIMAGE];
  return options.isPackaged ? [options.execPath] : [options.execPath, options.appPath];
}

/** Whether this start is the OS starting the app at login (then the window stays closed). */
export function openedAtLogin(argv: readonly string[], macOpenedAtLogin: boolean): boolean {
  return argv.includes(HIDDEN_ARG) || macOpenedAtLogin;
}

/** A desktop entry for XDG autostart; the command quoted per the Desktop Entry spec's Exec rules. */
export function autostartEntry(command: readonly string[]): string {
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Agented',
    'Comment=Runs AI coding agents when a trigger fires',
    `Exec=${command.map(quoteExecArgument).join(' ')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/**
 * https://specifications.freedesktop.org/desktop-entry-spec/latest/exec-variables.html:
 * an argument with reserved characters is double-quoted, with `"`, `` ` ``,
 * `$` and `\` escaped inside; `%` is doubled (field codes); and the value's
 * own backslashes are escaped once more as a string of the entry, its line
 * breaks written `\n` and `\r` (https://specifications.freedesktop.org/desktop-entry-spec/latest/value-types.html):
 * a raw one would end the Exec line and let the rest of the path add keys.
 */
export function quoteExecArgument(argument: string): string {
  const fieldCodesEscaped = argument.replaceAll('%', '%%');
  if (!/[\s"'\\><~|&;$*?#()`]/.test(fieldCodesEscaped)) return fieldCodesEscaped;
  const quoted = `"${fieldCodesEscaped.replace(/["`$\\]/g, (character) => `\\${character}`)}"`;
  return quoted.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\r', '\\r');
}

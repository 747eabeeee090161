import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AUTOSTART_FILE,
  HIDDEN_ARG,
  applyStartAtLogin,
  autostartEntry,
  launchCommand,
  openedAtLogin,
  quoteExecArgument,
  xdgAutostartDir,
} from '../../main/shell/start-at-login.js';
import { makeTempDir } from '../helpers/temp.js';

function host(platform: NodeJS.Platform, autostartDir: string, command: string[]) {
  const calls: { openAtLogin: boolean; args: string[] }[] = [];
  return { calls, host: { platform, autostartDir, command, setLoginItemSettings: (settings: { openAtLogin: boolean; args: string[] }) => calls.push(settings) } };
}

describe('start at login', () => {
  it('Linux: an XDG autostart entry starting the app hidden, removed when turned off', () => {
    const temp = makeTempDir();
    try {
      const dir = path.join(temp.dir, 'config', 'autostart');
      const linux = host('linux', dir, ['/home/me/Apps/Agented 0.1.0.AppImage']);
      applyStartAtLogin(true, linux.host);
      const entry = fs.readFileSync(path.join(dir, AUTOSTART_FILE), 'utf8');
      expect(entry).toContain('[Desktop Entry]\nType=Application\nName=Agented\n');
      expect(entry).toContain(`Exec="/home/me/Apps/Agented 0.1.0.AppImage" ${HIDDEN_ARG}\n`);
      // Applied again (every worker start): the same file.
      applyStartAtLogin(true, linux.host);
      expect(fs.readFileSync(path.join(dir, AUTOSTART_FILE), 'utf8')).toBe(entry);

      applyStartAtLogin(false, linux.host);
      expect(fs.existsSync(path.join(dir, AUTOSTART_FILE))).toBe(false);
      // Off when already off is no error.
      applyStartAtLogin(false, linux.host);
      expect(linux.calls).toEqual([]);
    } finally {
      temp.remove();
    }
  });

  it('Linux: a line break in the path stays inside the Exec value, so it cannot add keys to the entry', () => {
    const temp = makeTempDir();
    try {
      const dir = path.join(temp.dir, 'autostart');
      // A folder name from an unpacked archive, say: the app lives wherever the user ran it from.
      applyStartAtLogin(true, host('linux', dir, ['/home/me/x\nExec=/tmp/evil\r\nHidden=true/Agented.AppImage']).host);
      const lines = fs.readFileSync(path.join(dir, AUTOSTART_FILE), 'utf8').split(/\r\n|\r|\n/);
      expect(lines.filter((line) => line.startsWith('Exec='))).toEqual([`Exec="/home/me/x\\nExec=/tmp/evil\\r\\nHidden=true/Agented.AppImage" ${HIDDEN_ARG}`]);
      expect(lines.some((line) => line.startsWith('Hidden='))).toBe(false);
    } finally {
      temp.remove();
    }
  });

  it.each(['darwin', 'win32'] as const)('%s: the OS login items, with the same arguments to add and to remove', (platform) => {
    const os = host(platform, '/nowhere', ['C:\\Program Files\\Electron\\electron.exe', 'C:\\src\\agented']);
    applyStartAtLogin(true, os.host);
    applyStartAtLogin(false, os.host);
    expect(os.calls).toEqual([
      { openAtLogin: true, args: ['C:\\src\\agented', HIDDEN_ARG] },
      { openAtLogin: false, args: ['C:\\src\\agented', HIDDEN_ARG] },
    ]);
    expect(fs.existsSync('/nowhere')).toBe(false);
  });

  it('starts the AppImage file, not its mount; the executable when packaged; electron with the app folder in development', () => {
    expect(launchCommand({ execPath: '/tmp/.mount_Agente1/agented', env: { APPIMAGE: '/home/me/Agented.AppImage' }, isPackaged: true, appPath: '/tmp/.mount_Agente1/resources/app.asar' })).toEqual(['/home/me/Agented.AppImage']);
    expect(launchCommand({ execPath: '/opt/Agented/agented', env: {}, isPackaged: true, appPath: '/opt/Agented/resources/app.asar' })).toEqual(['/opt/Agented/agented']);
    expect(launchCommand({ execPath: '/src/node_modules/electron/dist/electron', env: {}, isPackaged: false, appPath: '/src' })).toEqual(['/src/node_modules/electron/dist/electron', '/src']);
  });

  it('the autostart folder follows XDG_CONFIG_HOME when it is absolute', () => {
    expect(xdgAutostartDir({}, '/home/me')).toBe('/home/me/.config/autostart');
    expect(xdgAutostartDir({ XDG_CONFIG_HOME: '/home/me/.cfg' }, '/home/me')).toBe('/home/me/.cfg/autostart');
    expect(xdgAutostartDir({ XDG_CONFIG_HOME: 'relative' }, '/home/me')).toBe('/home/me/.config/autostart');
  });

  it('knows a start at login by its argument, or by macOS saying so', () => {
    expect(openedAtLogin(['/opt/Agented/agented', HIDDEN_ARG], false)).toBe(true);
    expect(openedAtLogin(['/Applications/Agented.app/Contents/MacOS/Agented'], true)).toBe(true);
    expect(openedAtLogin(['/opt/Agented/agented'], false)).toBe(false);
  });

  it('quotes Exec arguments as the Desktop Entry spec says', () => {
    expect(quoteExecArgument('/opt/Agented/agented')).toBe('/opt/Agented/agented');
    expect(quoteExecArgument('/home/me/My Apps/Agented')).toBe('"/home/me/My Apps/Agented"');
    // Inside quotes `"`, `` ` ``, `$` and `\` take a backslash; then every backslash is escaped again for the string value.
    expect(quoteExecArgument('/a "b"/$c')).toBe('"/a \\\\"b\\\\"/\\\\$c"');
    expect(quoteExecArgument('/a\\b')).toBe('"/a\\\\\\\\b"');
    // `%` starts a field code: doubled.
    expect(quoteExecArgument('/100%/agented')).toBe('/100%%/agented');
    expect(autostartEntry(['/opt/Agented/agented', HIDDEN_ARG])).toContain('Exec=/opt/Agented/agented --hidden\n');
  });
});

import os from 'node:os';
import path from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/** The OS's per-user data folder for Agented, as a headless process sees it. */
export function defaultDataDir(env: Env, platform: NodeJS.Platform = process.platform): string {
  const home = env.HOME ?? os.homedir();
  switch (platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'Agented');
    case 'win32':
      return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Agented');
    default:
      return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'agented');
  }
}

/** The OS's per-user log folder (XDG state on Linux, ~/Library/Logs on macOS). */
export function defaultLogDir(env: Env, platform: NodeJS.Platform = process.platform): string {
  const home = env.HOME ?? os.homedir();
  switch (platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Logs', 'Agented');
    case 'win32':
      return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'Agented', 'logs');
    default:
      return path.join(env.XDG_STATE_HOME || path.join(home, '.local', 'state'), 'agented', 'logs');
  }
}

import { execFile } from 'node:child_process';
import { childEnvironment } from '../executions/agent-process.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ResolvedPath {
  path: string;
  source: 'login-shell' | 'process';
}

const MARK = '__AGENTED_PATH__';

/**
 * The PATH a terminal would have. An app started from the dock or a desktop
 * menu inherits a minimal PATH without the user's profile (nvm, Homebrew,
 * ~/.local/bin …), which is why peer apps report installed CLIs as "not
 * found". The user's login shell prints its PATH between markers (profiles
 * may print banners); a shell that hangs is killed at the timeout and this
 * process's PATH is used instead. The shell runs the user's profile, so it
 * gets no AGENTED_* variable (the API key), like an agent.
 *
 * Not shell-env: it cannot be given the environment to start the shell with
 * (HOME, SHELL) and has no timeout, so a hanging profile would leave the
 * check waiting and the shell running.
 */
export function loginShellPath(options: { env: Env; timeoutMs?: number }): Promise<ResolvedPath> {
  const processPath = options.env.PATH ?? '/usr/bin:/bin';
  const shell = options.env.SHELL || (process.platform === 'darwin' ? '/bin/zsh' : '/bin/bash');
  const fallback: ResolvedPath = { path: processPath, source: 'process' };
  if (process.platform === 'win32') return Promise.resolve(fallback);
  return new Promise((resolve) => {
    execFile(
      shell,
      ['-ilc', `printf '%s' '${MARK}'; printf '%s' "$PATH"; printf '%s' '${MARK}'`],
      // Oh My Zsh's updater and tmux autostart would otherwise block a non-interactive read.
      { env: childEnvironment(options.env, { DISABLE_AUTO_UPDATE: 'true', ZSH_TMUX_AUTOSTART: 'false' }), timeout: options.timeoutMs ?? 5_000, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024 },
      (error, stdout) => {
        const loginPath = `${stdout}`.split(MARK)[1];
        if (error || !loginPath) {
          resolve(fallback);
          return;
        }
        // This process's entries stay too (after the login shell's), so nothing that worked before stops working.
        const merged = [...new Set([...loginPath.split(':'), ...processPath.split(':')].filter(Boolean))].join(':');
        resolve({ path: merged, source: 'login-shell' });
      },
    );
  });
}

import path from 'node:path';
import { childEnvironment } from '../executions/agent-process.js';
import { spawnGroup, type GroupJournal } from '../executions/process-group.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ResolvedPath {
  path: string;
  source: 'login-shell' | 'process';
}

const MARK = '__AGENTED_PATH__';
const OUTPUT_LIMIT = 1024 * 1024;
/** How long what is still running of the shell's group gets after each signal (SIGINT, then SIGTERM) before SIGKILL. */
const STOP_GRACE_MS = 500;

/**
 * The PATH a terminal would have. An app started from the dock or a desktop
 * menu inherits a minimal PATH without the user's profile (nvm, Homebrew,
 * ~/.local/bin …), which is why peer apps report installed CLIs as "not
 * found". The user's login shell prints its PATH between markers (profiles
 * may print banners); a shell that hangs is killed at the timeout and this
 * process's PATH is used instead. The shell runs the user's profile, so it
 * gets no AGENTED_* variable (the API key), like an agent.
 *
 * It runs in a process group of its own, ended whole once the shell exits or
 * at the timeout: what the profile started (a program it waits on, one left
 * in the background holding the output open) would otherwise outlive the
 * read, one more at every health check, and keep it waiting. With a journal
 * the group is written down while it runs, for the next worker to end should
 * this one be killed.
 *
 * Not shell-env: it cannot be given the environment to start the shell with
 * (HOME, SHELL) and has no timeout, so a hanging profile would leave the
 * check waiting and the shell running.
 */
export async function loginShellPath(options: { env: Env; timeoutMs?: number; journal?: GroupJournal }): Promise<ResolvedPath> {
  const processPath = options.env.PATH ?? '/usr/bin:/bin';
  const shell = options.env.SHELL || (process.platform === 'darwin' ? '/bin/zsh' : '/bin/bash');
  const fallback: ResolvedPath = { path: processPath, source: 'process' };
  if (process.platform === 'win32') return fallback;
  const group = spawnGroup([shell, '-ilc', `printf '%s' '${MARK}'; printf '%s' "$PATH"; printf '%s' '${MARK}'`], {
    // Oh My Zsh's updater and tmux autostart would otherwise block a non-interactive read.
    env: childEnvironment(options.env, { DISABLE_AUTO_UPDATE: 'true', ZSH_TMUX_AUTOSTART: 'false' }),
    journal: options.journal,
  });
  let stdout = '';
  group.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    if (stdout.length < OUTPUT_LIMIT) stdout += chunk;
  });
  // Read and dropped: a pipe left full would block a profile that writes much there.
  group.child.stderr?.resume();
  const stop = () => group.stop({ graceMs: STOP_GRACE_MS });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void stop();
  }, options.timeoutMs ?? 5_000);
  let exit: { code: number | null };
  try {
    exit = await group.exited;
  } catch {
    return fallback;
  } finally {
    clearTimeout(timer);
  }
  await stop();
  await group.closeOutput();
  const loginPath = stdout.split(MARK)[1];
  if (timedOut || exit.code !== 0 || !loginPath) return fallback;
  const home = options.env.HOME;
  // bash expands a leading ~ of an entry whenever it looks a command up, so a quoted `PATH="~/.local/bin:$PATH"` works in its terminals.
  const expand = (entry: string) => (home && (entry === '~' || entry.startsWith('~/')) ? path.join(home, entry.slice(1)) : entry);
  // This process's entries stay too (after the login shell's), so nothing that worked before stops working.
  const merged = [...new Set([...loginPath.split(':').map(expand), ...processPath.split(':')].filter(Boolean))].join(':');
  return { path: merged, source: 'login-shell' };
}

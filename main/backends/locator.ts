import type { Backend } from '../../common/triggers.js';
import type { GroupJournal } from '../executions/process-group.js';
import { backendCatalog } from './catalog.js';
import { findExecutable, isExecutable } from './detect.js';
import { loginShellPath, type ResolvedPath } from './login-path.js';

type Env = Readonly<Record<string, string | undefined>>;

export type Located = { ok: true; executable: string; searchPath: string } | { ok: false; searchPath: string; hint: string };

/**
 * Where each agent CLI is, as the runner needs it: the path set in settings,
 * else a search of the login shell's PATH (read once, then on refresh — the
 * user may just have installed something). The same PATH is what the CLI
 * runs with, so its own tools (node, git) are found as in a terminal.
 */
export class BackendLocator {
  private resolved: Promise<ResolvedPath> | undefined;
  /** The last PATH the login shell gave. */
  private fromShell: ResolvedPath | undefined;

  constructor(private readonly options: { env: Env; overrides: Partial<Record<Backend, string>>; shellTimeoutMs?: number; journal?: GroupJournal }) {}

  get overrides(): Partial<Record<Backend, string>> {
    return this.options.overrides;
  }

  /**
   * The login shell's PATH, read on first use and on refresh. A read that
   * fails gives this process's PATH only until the shell has answered once:
   * after that the last answer stays, since a shell slow once (a busy machine)
   * would otherwise make every CLI it found "not installed" for executions
   * until the next check.
   */
  searchPath(refresh = false): Promise<ResolvedPath> {
    if (refresh || !this.resolved) {
      this.resolved = loginShellPath({ env: this.options.env, timeoutMs: this.options.shellTimeoutMs, journal: this.options.journal }).then((read) => {
        if (read.source === 'login-shell') this.fromShell = read;
        return this.fromShell ?? read;
      });
    }
    return this.resolved;
  }

  async locate(backend: Backend): Promise<Located> {
    const { path: searchPath } = await this.searchPath();
    const spec = backendCatalog.find((entry) => entry.name === backend)!;
    const override = this.options.overrides[backend];
    if (override) {
      return isExecutable(override)
        ? { ok: true, executable: override, searchPath }
        : { ok: false, searchPath, hint: `the configured path ${override} is not an executable file; fix AGENTED_${backend.toUpperCase()}_PATH or remove it` };
    }
    const executable = findExecutable(spec.command, searchPath);
    return executable
      ? { ok: true, executable, searchPath }
      : { ok: false, searchPath, hint: `${spec.command} is not installed (not on the login shell's PATH); install it: npm install -g ${spec.npmPackage}` };
  }
}

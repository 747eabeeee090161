import type { BackendChecklist } from '../../common/backends.js';
import type { Backend } from '../../common/triggers.js';
import { detectBackends } from './detect.js';
import { loginShellPath, type ResolvedPath } from './login-path.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The checklist, cached: `--version` of four CLIs takes a second or two, and
 * the dashboard asks often. A refresh re-reads the login shell's PATH too
 * (the user may just have installed something).
 */
export class BackendHealth {
  private cached: { at: number; checklist: Promise<BackendChecklist> } | undefined;

  constructor(
    private readonly options: { env: Env; overrides: Partial<Record<Backend, string>>; maxAgeMs?: number; shellTimeoutMs?: number },
  ) {}

  checklist(refresh = false): Promise<BackendChecklist> {
    const maxAge = this.options.maxAgeMs ?? 30_000;
    if (!refresh && this.cached && Date.now() - this.cached.at < maxAge) return this.cached.checklist;
    const checklist = this.check();
    this.cached = { at: Date.now(), checklist };
    checklist.catch(() => (this.cached = undefined));
    return checklist;
  }

  private async check(): Promise<BackendChecklist> {
    const resolved: ResolvedPath = await loginShellPath({ env: this.options.env, timeoutMs: this.options.shellTimeoutMs });
    const items = await detectBackends({ env: this.options.env, searchPath: resolved.path, overrides: this.options.overrides });
    return { items, checkedAt: new Date().toISOString(), pathSource: resolved.source };
  }
}

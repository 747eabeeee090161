import type { BackendChecklist } from '../../common/backends.js';
import { detectBackends } from './detect.js';
import type { ResolvedPath } from './login-path.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { BackendLocator } from './locator.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The checklist, cached: `--version` of four CLIs takes a second or two, and
 * the dashboard asks often. A refresh re-reads the login shell's PATH too
 * (the user may just have installed something).
 */
export class BackendHealth implements Disposable {
  /** Aborted when the worker stops: `--version` runs still going are ended, their process groups with them. */
  private readonly stopping = new AbortController();
  private cached: { at: number; checklist: Promise<BackendChecklist> } | undefined;
  private lastItems: string | undefined;
  private last: BackendChecklist | undefined;
  private readonly listeners = new Set<(checklist: BackendChecklist) => void>();

  constructor(
    private readonly options: { env: Env; locator: BackendLocator; maxAgeMs?: number },
  ) {}

  checklist(refresh = false): Promise<BackendChecklist> {
    const maxAge = this.options.maxAgeMs ?? 30_000;
    if (!refresh && this.cached && Date.now() - this.cached.at < maxAge) return this.cached.checklist;
    const checklist = this.check();
    this.cached = { at: Date.now(), checklist };
    checklist.catch(() => (this.cached = undefined));
    return checklist;
  }

  /** The last finished checklist, without waiting for one (undefined before the first check ends). */
  peek(): BackendChecklist | undefined {
    return this.last;
  }

  /** Called when a check finds something different from the previous one (a CLI installed, logged in…). */
  onChange(listener: (checklist: BackendChecklist) => void): Disposable {
    this.listeners.add(listener);
    return {
      dispose: () => {
        this.listeners.delete(listener);
      },
    };
  }

  /** Ends the checks in progress and waits for their process groups to be gone. */
  async dispose(): Promise<void> {
    this.stopping.abort();
    await this.cached?.checklist.catch(() => undefined);
  }

  private async check(): Promise<BackendChecklist> {
    const resolved: ResolvedPath = await this.options.locator.searchPath(true);
    const items = await detectBackends({ env: this.options.env, searchPath: resolved.path, overrides: this.options.locator.overrides, signal: this.stopping.signal });
    const checklist: BackendChecklist = { items, checkedAt: new Date().toISOString(), pathSource: resolved.source };
    const fingerprint = JSON.stringify(items);
    if (this.lastItems !== undefined && this.lastItems !== fingerprint) {
      for (const listener of this.listeners) listener(checklist);
    }
    this.lastItems = fingerprint;
    this.last = checklist;
    return checklist;
  }
}

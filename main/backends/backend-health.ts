import type { BackendChecklist } from '../../common/backends.js';
import { DEFAULT_VERSION_TIMEOUT_MS, detectBackends } from './detect.js';
import type { ResolvedPath } from './login-path.js';
import type { GroupJournal } from '../executions/process-group.js';
import type { Disposable } from '../lifecycle/disposables.js';
import type { BackendLocator } from './locator.js';

type Env = Readonly<Record<string, string | undefined>>;

/** How long a checklist is served before a request starts a new check (in the background). */
export const DEFAULT_MAX_AGE_MS = 30_000;

/**
 * The checklist, cached: `--version` of four CLIs takes a second or two (up
 * to the version timeout, 20 s, for one that hangs), and the dashboard asks
 * often. Only the very first check and an explicit refresh are waited for;
 * once there is a result it is answered at once, and when it is older than
 * the maximum age a new check starts in the background (one at a time) —
 * its result is what the next request gets, and `onChange` listeners hear of
 * it when it differs. A check re-reads the login shell's PATH too (the user
 * may just have installed something).
 *
 * Its settings come from the configuration, for `agented doctor` and the
 * server alike: AGENTED_VERSION_TIMEOUT_MS (`versionTimeoutMs`, 20 s) and
 * AGENTED_BACKENDS_MAX_AGE_MS (`maxAgeMs`, 30 s).
 */
export class BackendHealth implements Disposable {
  /** Aborted when the worker stops: `--version` runs still going are ended, their process groups with them. */
  private readonly stopping = new AbortController();
  /** The check in progress. */
  private running: Promise<BackendChecklist> | undefined;
  /** A check queued behind the running one for explicit refreshes (the running one may have started before what they want to see). */
  private queued: Promise<BackendChecklist> | undefined;
  /** When the last finished check ended (Date.now()). */
  private lastAt = 0;
  private lastItems: string | undefined;
  private last: BackendChecklist | undefined;
  private readonly listeners = new Set<(checklist: BackendChecklist) => void>();
  private readonly maxAgeMs: number;
  private readonly versionTimeoutMs: number;

  constructor(
    private readonly options: { env: Env; locator: BackendLocator; maxAgeMs?: number; versionTimeoutMs?: number; journal?: GroupJournal },
  ) {
    this.maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.versionTimeoutMs = options.versionTimeoutMs ?? DEFAULT_VERSION_TIMEOUT_MS;
  }

  /**
   * The checklist. Without `refresh`: the last result at once (a new check
   * starts in the background when it is stale), or the first check's when
   * there is none yet. With `refresh`: the result of a check started no
   * earlier than this call.
   */
  checklist(refresh = false): Promise<BackendChecklist> {
    if (refresh) return this.fresh();
    if (!this.last) return this.running ?? this.start();
    if (Date.now() - this.lastAt >= this.maxAgeMs && !this.running && !this.stopping.signal.aborted) {
      // Its failure is nobody's to hear: the last result stays, the next request tries again.
      this.start().catch(() => undefined);
    }
    return Promise.resolve(this.last);
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

  /** Ends the checks in progress (background ones included) and waits for their process groups to be gone. */
  async dispose(): Promise<void> {
    this.stopping.abort();
    await Promise.all([this.running?.catch(() => undefined), this.queued?.catch(() => undefined)]);
  }

  private fresh(): Promise<BackendChecklist> {
    if (this.queued) return this.queued;
    if (!this.running) return this.start();
    const queued = this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    this.queued = queued;
    return queued;
  }

  private start(): Promise<BackendChecklist> {
    const running = this.check().finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }

  private async check(): Promise<BackendChecklist> {
    const resolved: ResolvedPath = await this.options.locator.searchPath(true);
    const items = await detectBackends({
      env: this.options.env,
      searchPath: resolved.path,
      overrides: this.options.locator.overrides,
      versionTimeoutMs: this.versionTimeoutMs,
      signal: this.stopping.signal,
      journal: this.options.journal,
    });
    const checklist: BackendChecklist = { items, checkedAt: new Date().toISOString(), pathSource: resolved.source };
    const fingerprint = JSON.stringify(items);
    if (this.lastItems !== undefined && this.lastItems !== fingerprint) {
      for (const listener of this.listeners) listener(checklist);
    }
    this.lastItems = fingerprint;
    this.last = checklist;
    this.lastAt = Date.now();
    return checklist;
  }
}

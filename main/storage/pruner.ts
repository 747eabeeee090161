import type { Disposable } from '../lifecycle/disposables.js';
import type { Logger } from '../telemetry/logger.js';

/** Rows one chunk deletes at most, per table: a chunk is a few milliseconds, whatever the backlog. */
export const PRUNE_CHUNK_ROWS = 500;

/**
 * Runs a pruning pass on a timer (expired dedup keys, old deliveries), so the
 * tables the hot path writes stay bounded. One pass also runs at start.
 *
 * A pass deletes in chunks of at most `chunkRows` rows per table and yields to
 * the event loop between them: after a burst of deliveries, one DELETE of tens
 * of thousands of rows (with their bodies) held the worker for half a second,
 * and every request arriving meanwhile waited.
 */
export class Pruner implements Disposable {
  private timer: NodeJS.Timeout | undefined;
  private next: NodeJS.Immediate | undefined;
  private passing = false;
  private disposed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    /** Deletes at most `limit` rows from each table; answers how many it deleted from each. */
    private readonly prune: (limit: number) => Record<string, number>,
    private readonly logger: Logger,
    private readonly chunkRows = PRUNE_CHUNK_ROWS,
  ) {}

  start(intervalMs: number): void {
    this.pass();
    this.timer = setInterval(() => this.pass(), intervalMs);
    this.timer.unref();
  }

  /** Starts a pass unless one is under way; its first chunk runs now, the rest on later turns. */
  pass(): void {
    if (this.passing || this.disposed) return;
    this.passing = true;
    const removed: Record<string, number> = {};
    const chunk = () => {
      this.next = undefined;
      const counts = this.runOnce();
      for (const [table, count] of Object.entries(counts)) removed[table] = (removed[table] ?? 0) + count;
      if (!this.disposed && Object.values(counts).some((count) => count >= this.chunkRows)) {
        this.next = setImmediate(chunk);
        return;
      }
      this.passing = false;
      if (Object.values(removed).some((count) => count > 0)) this.logger.debug('pruned', removed);
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    };
    chunk();
  }

  /** Resolves when no pass is under way. */
  idle(): Promise<void> {
    if (!this.passing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** One chunk. */
  runOnce(): Record<string, number> {
    try {
      return this.prune(this.chunkRows);
    } catch (error) {
      this.logger.error('pruning failed', { err: error });
      return {};
    }
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.timer);
    if (this.next) clearImmediate(this.next);
    this.passing = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

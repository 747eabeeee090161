import type { Disposable } from '../lifecycle/disposables.js';
import type { Logger } from '../telemetry/logger.js';

/**
 * Runs a pruning pass on a timer (expired dedup keys, old deliveries), so the
 * tables the hot path writes stay bounded. One pass also runs at start.
 */
export class Pruner implements Disposable {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly prune: () => Record<string, number>,
    private readonly logger: Logger,
  ) {}

  start(intervalMs: number): void {
    this.runOnce();
    this.timer = setInterval(() => this.runOnce(), intervalMs);
    this.timer.unref();
  }

  runOnce(): Record<string, number> {
    try {
      const removed = this.prune();
      if (Object.values(removed).some((count) => count > 0)) this.logger.debug('pruned', removed);
      return removed;
    } catch (error) {
      this.logger.error('pruning failed', { err: error });
      return {};
    }
  }

  dispose(): void {
    clearInterval(this.timer);
  }
}

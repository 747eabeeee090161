/**
 * Crash accounting for the supervisor: exponential restart delays, and a limit
 * of crashes within a sliding window after which restarting stops.
 */
export class CrashPolicy {
  private crashes: number[] = [];

  constructor(
    readonly options: { maxCrashes: number; windowMs: number; initialDelayMs: number; maxDelayMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a crash; returns the delay before the next start, or null when the limit is reached. */
  recordCrash(): number | null {
    const now = this.now();
    this.crashes = this.crashes.filter((at) => now - at < this.options.windowMs);
    this.crashes.push(now);
    if (this.crashes.length >= this.options.maxCrashes) return null;
    return Math.min(this.options.initialDelayMs * 2 ** (this.crashes.length - 1), this.options.maxDelayMs);
  }

  get recentCrashes(): number {
    const now = this.now();
    return this.crashes.filter((at) => now - at < this.options.windowMs).length;
  }

  reset(): void {
    this.crashes = [];
  }
}

/** Anything with a lifetime: a server, a database, a timer, a child process. */
export interface Disposable {
  dispose(): void | Promise<void>;
}

/**
 * Holds what a component created, and closes it in reverse order. Each
 * disposal runs even when an earlier one fails; the first error is rethrown.
 */
export class DisposableStore implements Disposable {
  private readonly items: Disposable[] = [];
  private disposed = false;

  add<T extends Disposable>(item: T): T {
    if (this.disposed) throw new Error('DisposableStore already disposed');
    this.items.push(item);
    return item;
  }

  /** Registers a plain close function. */
  defer(close: () => void | Promise<void>): void {
    this.add({ dispose: close });
  }

  get size(): number {
    return this.items.length;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    let firstError: unknown;
    for (const item of this.items.reverse()) {
      try {
        await item.dispose();
      } catch (error) {
        firstError ??= error;
      }
    }
    this.items.length = 0;
    if (firstError !== undefined) throw firstError;
  }
}

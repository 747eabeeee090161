import type Database from 'better-sqlite3';

interface Pending<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Commits work that arrives in one turn of the event loop in a single SQLite
 * transaction, and settles each caller's promise only after that transaction
 * committed: callers still answer only what is on disk, but a burst of
 * webhook deliveries costs one commit instead of one each. Every item runs in
 * its own savepoint, so one failing item is rolled back and rejected alone.
 */
export class GroupCommit<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;
  private readonly item: (input: I) => O;
  private readonly batch: (queue: Pending<I, O>[]) => { pending: Pending<I, O>; ok: true; output: O }[] | { pending: Pending<I, O>; ok: false; error: unknown }[];

  constructor(db: Database.Database, work: (input: I) => O) {
    this.item = db.transaction(work);
    this.batch = db.transaction((queue: Pending<I, O>[]) =>
      queue.map((pending) => {
        try {
          return { pending, ok: true as const, output: this.item(pending.input) };
        } catch (error) {
          return { pending, ok: false as const, error };
        }
      }),
    ) as never;
  }

  run(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    let results: ReturnType<typeof this.batch>;
    try {
      results = this.batch(queue);
    } catch (error) {
      // The commit itself failed: nothing of the batch is on disk.
      for (const pending of queue) pending.reject(error);
      return;
    }
    for (const result of results) {
      if (result.ok) result.pending.resolve(result.output);
      else result.pending.reject(result.error);
    }
  }
}

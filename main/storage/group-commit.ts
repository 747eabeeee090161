import type Database from 'better-sqlite3';

interface Pending<I, O> {
  input: I;
  resolve: (output: O) => void;
  reject: (error: unknown) => void;
}

type Outcome<O> = { ok: true; output: O } | { ok: false; error: unknown };

/**
 * A repository that keeps back what a transaction did until it knows the
 * transaction committed (dedup claims, announcements of new executions: see
 * DedupRepository and ExecutionRepository). Each finds out on its own with a
 * read after the transaction; a group commit that saw its batch commit whole
 * tells them instead, which spares those reads (two queries a batch on the
 * webhook path).
 */
export interface HeldUntilCommit {
  /** Where what is held stands, taken before a transaction. */
  mark(): number;
  /** The transaction run since `mark` committed whole, and undid nothing of what it held: that is final now. */
  committedSince(mark: number): void;
}

/**
 * Commits work that arrives in one turn of the event loop in a single SQLite
 * transaction, and settles each caller's promise only after that transaction
 * committed: callers still answer only what is on disk, but a burst of
 * webhook deliveries costs one commit instead of one each.
 *
 * The batch first runs all-or-nothing. Only if an item throws is that attempt
 * rolled back and the batch run again with each item in its own savepoint, so
 * the failing item is rolled back and rejected alone while the others commit.
 * (A savepoint per item on every batch would cost more than the rows
 * themselves: `npm run bench ingest` measured ~70 µs per delivery.)
 */
export class GroupCommit<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;
  private readonly allOrNothing: (inputs: I[]) => O[];
  private readonly itemByItem: (inputs: I[]) => Outcome<O>[];

  /**
   * `work` runs once per item, inside the batch's transaction. `held`: the
   * repositories it leaves things held in; it must not undo part of its own
   * work (a savepoint of its own rolled back, a row it inserted deleted
   * again), so that a batch that committed whole committed all they hold.
   */
  constructor(
    db: Database.Database,
    work: (input: I) => O,
    private readonly held: readonly HeldUntilCommit[] = [],
  ) {
    const inSavepoint = db.transaction(work);
    this.allOrNothing = db.transaction((inputs: I[]) => inputs.map(work));
    this.itemByItem = db.transaction((inputs: I[]) =>
      inputs.map((input): Outcome<O> => {
        try {
          return { ok: true, output: inSavepoint(input) };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
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
    const inputs = queue.map((pending) => pending.input);
    const marks = this.held.map((repository) => repository.mark());
    let outcomes: Outcome<O>[];
    let whole = false;
    try {
      outcomes = this.allOrNothing(inputs).map((output) => ({ ok: true, output }));
      whole = true;
    } catch {
      try {
        outcomes = this.itemByItem(inputs);
      } catch (error) {
        // The commit itself failed: nothing of the batch is on disk.
        for (const pending of queue) pending.reject(error);
        return;
      }
    }
    outcomes.forEach((outcome, index) => {
      const pending = queue[index]!;
      if (outcome.ok) pending.resolve(outcome.output);
      else pending.reject(outcome.error);
    });
    // After an item failed, the batch ran again item by item: what the repositories hold from the rolled-back first run is theirs to sort out.
    if (whole) this.held.forEach((repository, index) => repository.committedSince(marks[index]!));
  }
}

import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Disposable } from '../lifecycle/disposables.js';
import type { CheckpointThreadData, CheckpointThreadMessage } from './checkpoint-thread.js';

export interface CheckpointerOptions {
  intervalMs?: number;
  /** Past this much WAL the serving connection starts it over (it copies what is left first). */
  restartAboveBytes?: number;
  onError?: (message: string) => void;
  /** The compiled thread body (tests running the TypeScript sources point at the build). */
  threadScript?: URL;
}

/**
 * Moves WAL checkpoints off the thread that serves requests. SQLite runs a
 * checkpoint inside the commit that crosses 1,000 WAL pages: that commit
 * copies ~4 MB into the database file and waits for the disk twice (fsync),
 * which under a webhook burst or a flooding CLI stalled the event loop for
 * 30–300 ms every few hundred milliseconds — the tail of every request
 * latency. Here the serving connection never checkpoints on its own
 * (wal_autocheckpoint = 0); a thread with its own connection runs passive
 * checkpoints on a timer, which take no lock writers wait for.
 *
 * Under sustained writes a passive checkpoint rarely finds the WAL wholly
 * copied at the moment a writer could start it over, so the file grows. Past
 * `restartAboveBytes` the serving connection itself finishes the copy and
 * starts the WAL over (RESTART: ~30 ms here, most of it the database file's
 * fsync); once writes pause and everything is copied, it truncates the file
 * to nothing (the truncation of a long file alone cost ~50 ms, too much to do
 * in the middle of a burst). Both hold the write lock until they are done;
 * taken by the thread, they made the serving connection's writes fail with
 * SQLITE_BUSY (SQLite does not always wait the busy timeout for it), which
 * crashed the worker in the middle of a flood. The serving connection never
 * waits for its own lock.
 */
export class Checkpointer implements Disposable {
  private readonly worker: Worker | undefined;
  private stopped: Promise<void> | undefined;
  private exited = false;
  private done = { checkpoints: 0, restarts: 0, truncations: 0 };
  private readonly onError: ((message: string) => void) | undefined;
  /** Resolves once the thread has its connection open and its timer running (or has ended). */
  readonly ready: Promise<void>;

  constructor(
    private readonly db: Database.Database,
    options: CheckpointerOptions = {},
  ) {
    this.onError = options.onError;
    const data: CheckpointThreadData = {
      file: db.name,
      intervalMs: options.intervalMs ?? 250,
      restartAboveBytes: options.restartAboveBytes ?? 64 * 1024 * 1024,
    };
    let worker: Worker;
    try {
      worker = new Worker(options.threadScript ?? defaultThreadScript(), { workerData: data });
    } catch (error) {
      // No thread (the compiled script is not where it should be): commits keep checkpointing inline, as SQLite does by default.
      options.onError?.(`the checkpoint thread could not start: ${(error as Error).message}`);
      this.exited = true;
      this.ready = Promise.resolve();
      return;
    }
    this.worker = worker;
    this.ready = new Promise((resolve) => {
      worker.on('message', (message: CheckpointThreadMessage) => {
        if (message.type === 'ready') resolve();
      });
      worker.once('exit', () => resolve());
    });
    // The thread never keeps the process alive on its own.
    worker.unref();
    worker.on('message', (message: CheckpointThreadMessage) => {
      if (message.type === 'error') options.onError?.(message.message);
      if (message.type !== 'checkpointed') return;
      if (message.frames > 0) this.done.checkpoints += 1;
      if (message.settled && message.fileBytes > 0) this.checkpoint('TRUNCATE');
      else if (message.walBytes > data.restartAboveBytes) this.checkpoint('RESTART');
    });
    worker.on('error', (error) => options.onError?.(error.message));
    // However the thread ends (stopped, or failed), commits checkpoint inline again: the WAL must not grow unchecked.
    worker.once('exit', () => {
      this.exited = true;
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    });
    db.pragma('wal_autocheckpoint = 0');
  }

  /** The thread's checkpoints that copied something; the WAL started over and truncated by the serving connection. */
  get stats(): { checkpoints: number; restarts: number; truncations: number } {
    return { ...this.done };
  }

  /**
   * Copies what is left of the WAL and starts it over (or truncates it), on
   * the serving connection. When the thread is mid-checkpoint, or a reader
   * holds an older snapshot, SQLite answers busy at once; the thread's next
   * report asks again.
   */
  private checkpoint(mode: 'RESTART' | 'TRUNCATE'): void {
    if (!this.db.open) return;
    // No waiting: a reader elsewhere (another process) would otherwise hold the event loop for the whole busy timeout.
    const busyTimeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      const [result] = this.db.pragma(`wal_checkpoint(${mode})`) as { busy: number }[];
      if (result?.busy === 0) this.done[mode === 'RESTART' ? 'restarts' : 'truncations'] += 1;
    } catch (error) {
      this.onError?.(`checkpoint (${mode}) failed: ${(error as Error).message}`);
    } finally {
      this.db.pragma(`busy_timeout = ${busyTimeout}`);
    }
  }

  /** Stops the thread after a last checkpoint, and gives checkpoints back to the connection. */
  dispose(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      const worker = this.worker;
      if (this.exited || !worker) return resolve();
      worker.once('exit', () => resolve());
      worker.on('message', (message: CheckpointThreadMessage) => {
        if (message.type === 'stopped') void worker.terminate();
      });
      worker.postMessage({ type: 'stop' });
    });
    return this.stopped;
  }
}

/** The compiled thread body beside this module (a path, which a Worker takes from any module URL scheme). */
function defaultThreadScript(): string {
  return fileURLToPath(new URL('./checkpoint-thread.js', import.meta.url));
}

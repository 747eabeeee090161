/**
 * The body of the checkpoint thread (see checkpointer.ts): its own connection
 * to the database, copying the WAL back into the database file on a timer,
 * off the thread that serves requests. It only ever runs passive checkpoints,
 * which take no lock a writer waits for; starting the WAL over and truncating
 * it are left to the serving connection, which cannot be kept waiting by
 * itself (see checkpointer.ts).
 */
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
  /** Past this WAL size every tick reports it, so the serving connection starts the WAL over. */
  restartAboveBytes: number;
}

export type CheckpointThreadMessage =
  | { type: 'ready' }
  /**
   * After a tick that copied something, or found the WAL needing the serving
   * connection: `walBytes` is what the WAL holds (frames times the page size),
   * `fileBytes` the file's length (a WAL started over keeps its length),
   * `settled` that all of it is copied and nothing was committed since the tick before.
   */
  | { type: 'checkpointed'; frames: number; walBytes: number; fileBytes: number; settled: boolean }
  | { type: 'error'; message: string }
  | { type: 'stopped' };

const { file, intervalMs, restartAboveBytes } = workerData as CheckpointThreadData;
const port = parentPort!;
const db = new Database(file);
db.pragma('busy_timeout = 5000');
// Its own commits never trigger a checkpoint: it runs them itself.
db.pragma('wal_autocheckpoint = 0');
const pageSize = db.pragma('page_size', { simple: true }) as number;

interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** Passes of one tick at most, so a writer faster than the disk cannot keep the thread copying forever. */
const MAX_PASSES = 8;
/** What the last report said, so an idle WAL is not reported every tick. */
let reported = { log: 0, checkpointed: 0 };

function walFileBytes(): number {
  try {
    return fs.statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
}

function passive(): CheckpointResult {
  return (db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[])[0]!;
}

function tick(): void {
  try {
    // Again while a pass got further and left some: each copies only what was committed during
    // the one before, so a few catch up with a steady writer. A WAL wholly copied is started over by
    // the next commit, so under sustained writes it stays at the size of a few passes.
    // busy = 1 (the serving connection is truncating): nothing done, the next tick goes on.
    let result = passive();
    for (let passes = 1, before = 0; passes < MAX_PASSES && result.checkpointed > before && result.checkpointed < result.log; passes += 1) {
      before = result.checkpointed;
      result = passive();
    }
    const walBytes = Math.max(result.log, 0) * pageSize;
    const fileBytes = walFileBytes();
    const unchanged = result.log === reported.log && result.checkpointed === reported.checkpointed;
    const settled = unchanged && result.checkpointed === result.log;
    const copied = result.checkpointed > 0 && !unchanged;
    reported = { log: result.log, checkpointed: result.checkpointed };
    if (copied || walBytes > restartAboveBytes || (settled && fileBytes > 0)) {
      port.postMessage({ type: 'checkpointed', frames: copied ? result.checkpointed : 0, walBytes, fileBytes, settled } satisfies CheckpointThreadMessage);
    }
  } catch (error) {
    port.postMessage({ type: 'error', message: (error as Error).message } satisfies CheckpointThreadMessage);
  }
}

const timer = setInterval(tick, intervalMs);
port.postMessage({ type: 'ready' } satisfies CheckpointThreadMessage);
port.on('message', (message: { type: 'stop' }) => {
  if (message.type !== 'stop') return;
  clearInterval(timer);
  tick();
  db.close();
  port.postMessage({ type: 'stopped' } satisfies CheckpointThreadMessage);
  port.close();
});

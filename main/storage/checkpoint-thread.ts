/**
 * The body of the checkpoint thread (see checkpointer.ts): its own connection
 * to the database, copying the WAL back into the database file on a timer,
 * off the thread that serves requests. It only ever runs passive checkpoints,
 * which take no lock a writer waits for; truncating the WAL is left to the
 * serving connection, the one connection that cannot be kept waiting by it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
  /** Past this WAL size every tick reports it, so the serving connection truncates. */
  truncateAboveBytes: number;
}

export type CheckpointThreadMessage =
  | { type: 'ready' }
  /** `walBytes`: the WAL's length after the checkpoint, in frames times the page size. */
  | { type: 'checkpointed'; frames: number; walBytes: number }
  | { type: 'error'; message: string }
  | { type: 'stopped' };

const { file, intervalMs, truncateAboveBytes } = workerData as CheckpointThreadData;
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

function tick(): void {
  try {
    // busy = 1 (the serving connection is truncating): nothing done, the next tick goes on.
    const result = (db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[])[0]!;
    const walBytes = Math.max(result.log, 0) * pageSize;
    if (result.checkpointed > 0 || walBytes > truncateAboveBytes) port.postMessage({ type: 'checkpointed', frames: result.checkpointed, walBytes } satisfies CheckpointThreadMessage);
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

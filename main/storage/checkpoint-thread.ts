/**
 * The body of the checkpoint thread (see checkpointer.ts): its own connection
 * to the database, copying the WAL back into the database file on a timer,
 * off the thread that serves requests.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface CheckpointThreadData {
  file: string;
  intervalMs: number;
  /** Past this WAL size a checkpoint waits for writers and truncates the WAL. */
  truncateAboveBytes: number;
}

export type CheckpointThreadMessage = { type: 'ready' } | { type: 'checkpointed'; frames: number; truncated: boolean } | { type: 'error'; message: string } | { type: 'stopped' };

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

function checkpoint(mode: 'PASSIVE' | 'TRUNCATE'): CheckpointResult {
  return (db.pragma(`wal_checkpoint(${mode})`) as CheckpointResult[])[0]!;
}

function tick(): void {
  try {
    let result = checkpoint('PASSIVE');
    let truncated = false;
    // Under sustained writes a passive checkpoint never catches up, and the WAL would only grow.
    if (result.log * pageSize > truncateAboveBytes) {
      result = checkpoint('TRUNCATE');
      truncated = true;
    }
    if (result.checkpointed > 0 || truncated) port.postMessage({ type: 'checkpointed', frames: result.checkpointed, truncated } satisfies CheckpointThreadMessage);
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

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** The lock file in the data dir: an empty SQLite database whose exclusive lock is the instance's claim. */
export const LOCK_FILE = 'agented.lock';
/** Who holds the lock, for the message a second instance prints; informative only (the lock decides, not this file). */
export const HOLDER_FILE = 'agented.lock.json';

export interface DataDirHolder {
  /** The process that holds the lock (the API worker). */
  pid: number;
  /** Its parent when it took the lock: the supervisor of `agented serve`, or the desktop app. */
  parentPid?: number;
  url?: string;
  port?: number;
  startedAt?: string;
}

export class DataDirInUseError extends Error {
  static readonly code = 'ERR_DATA_DIR_IN_USE';
  readonly code = DataDirInUseError.code;
  constructor(
    readonly dataDir: string,
    readonly holder: DataDirHolder | undefined,
  ) {
    super(`${describeHolder(holder)} is already using the data dir ${dataDir}; stop it first, or point AGENTED_DATA_DIR (--data-dir) at another folder.`);
    this.name = 'DataDirInUseError';
  }
}

function describeHolder(holder: DataDirHolder | undefined): string {
  if (!holder) return 'Another Agented';
  const parts = [`pid ${holder.parentPid ?? holder.pid}`];
  if (holder.parentPid !== undefined) parts.push(`worker pid ${holder.pid}`);
  if (holder.url) parts.push(holder.url);
  return `Another Agented (${parts.join(', ')})`;
}

export interface DataDirLock {
  readonly dataDir: string;
  /** Records where the holder serves, for the message of a second instance. */
  announce(details: { url: string; port: number }): void;
  /** Gives the data dir up (also happens by itself when the process dies, SIGKILL included). */
  release(): void;
}

/**
 * Claims `dataDir` for this process, or throws DataDirInUseError at once.
 *
 * The claim is an exclusive lock on `<dataDir>/agented.lock` taken through
 * SQLite (`locking_mode=EXCLUSIVE`, a `BEGIN EXCLUSIVE` kept open, no busy
 * wait): an OS lock (fcntl on POSIX, LockFileEx on Windows) that the kernel
 * drops when the holder dies however it dies, so there is never a stale lock
 * to remove by hand. SQLite also refuses a second connection of the same
 * process, so an in-process second worker is refused too. The holder's pid
 * and URL go to `agented.lock.json` beside it, only to name the holder.
 */
export function lockDataDir(dataDir: string, pid: number = process.pid, parentPid: number | undefined = supervisorPid()): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lockFile = path.join(dataDir, LOCK_FILE);
  const holderFile = path.join(dataDir, HOLDER_FILE);
  const db = new Database(lockFile);
  try {
    db.pragma('busy_timeout = 0');
    // No journal file beside the lock: nothing is ever written to this database.
    db.pragma('journal_mode = MEMORY');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') throw new DataDirInUseError(dataDir, readHolder(holderFile));
    throw error;
  }
  let holder: DataDirHolder = { pid, ...(parentPid ? { parentPid } : {}), startedAt: new Date().toISOString() };
  let released = false;
  const write = () => {
    // Best effort: the lock is held whether or not this is written; a rename so that a reader never sees half a file.
    try {
      const temp = `${holderFile}.${pid}.tmp`;
      fs.writeFileSync(temp, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
      fs.renameSync(temp, holderFile);
    } catch {
      // A read-only or full disk fails elsewhere first; the message then names no pid.
    }
  };
  write();
  return {
    dataDir,
    announce: ({ url, port }) => {
      if (released) return;
      holder = { ...holder, url, port };
      write();
    },
    release: () => {
      if (released) return;
      released = true;
      try {
        // Removed while still holding the lock, so that it never names the next holder wrongly.
        fs.rmSync(holderFile, { force: true });
      } finally {
        db.close();
      }
    },
  };
}

/** The parent, when this process runs under one (a forked worker has an IPC channel; an Electron utility process has parentPort). */
function supervisorPid(): number | undefined {
  return typeof process.send === 'function' || 'parentPort' in process ? process.ppid : undefined;
}

function readHolder(file: string): DataDirHolder | undefined {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DataDirHolder>;
    // A file left by a holder that was killed, read in the instant before the new holder replaces it, names nobody.
    if (typeof parsed.pid !== 'number' || !alive(parsed.pid)) return undefined;
    return {
      pid: parsed.pid,
      // A worker whose supervisor was killed still holds the lock while it cancels its executions: then it alone is named.
      parentPid: typeof parsed.parentPid === 'number' && alive(parsed.parentPid) ? parsed.parentPid : undefined,
      url: typeof parsed.url === 'string' ? parsed.url : undefined,
      port: typeof parsed.port === 'number' ? parsed.port : undefined,
      startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : undefined,
    };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

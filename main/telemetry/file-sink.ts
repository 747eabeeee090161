import fs from 'node:fs';
import path from 'node:path';
import type { Disposable } from '../lifecycle/disposables.js';
import type { LogLevel, LogSink } from './logger.js';

/**
 * Writes lines to `<dir>/<name>.log`, and moves the file to `<name>.old.log`
 * once it has grown past `maxSize` (the one before is replaced).
 *
 * Lines written in one turn of the event loop go to the file in one
 * synchronous append at the end of that turn (one write per burst instead of
 * one per line), and whatever is pending is written when the process exits,
 * so an exit on a fatal error loses nothing. Each append opens the file by
 * its path rather than through a descriptor kept open: once the folder was
 * removed, or another process sharing it rotated the file, lines go to the
 * file now at that path, not to one nobody reads any more.
 *
 * Every line in the file stays one whole JSON object: where an append or a
 * rotation fails, the sink repairs what it would leave (below).
 *
 * (Until 2026-12 this went through electron-log's file transport, which does
 * the same appends: its per-message machinery cost ~7 µs an append on the
 * webhook path, more than the write itself, and nothing of it was used.)
 */
export class LogFileSink implements LogSink, Disposable {
  static readonly MAX_BATCH_BYTES = 64 * 1024;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  /** The file's size as this process knows it: what it was when last looked at, and what it appended since. */
  private knownSize = 0;
  /** Whether the last append failed (its error was said once; the next that works says nothing). */
  private failing = false;
  readonly file: string;
  private readonly oldFile: string;

  constructor(
    private readonly dir: string,
    name: string,
    private readonly maxSize = 5 * 1024 * 1024,
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, `${name}.log`);
    this.oldFile = path.join(dir, `${name}.old.log`);
    // The file is there from the start, lines or not (what a user looks for first). One that cannot be
    // written (a folder in its place, another user's file) is no reason not to start: its lines are
    // dropped, as appends that fail later are, and written once it can be.
    try {
      appendTo(this.file, '');
      this.knownSize = sizeOf(this.file);
    } catch (error) {
      this.said(error);
    }
    process.on('exit', this.flush);
  }

  write(_level: LogLevel, line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    // A long burst is cut into bounded appends, so rotation never overshoots by much.
    if (this.pendingBytes >= LogFileSink.MAX_BATCH_BYTES) {
      this.flush();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.pendingBytes = 0;
    this.append(text);
  };

  private append(text: string): void {
    if (this.knownSize > this.maxSize) {
      this.rotate();
      this.knownSize = sizeOf(this.file);
    }
    let failure: unknown;
    try {
      appendTo(this.file, text);
      this.knownSize += Buffer.byteLength(text);
      this.failing = false;
      return;
    } catch (error) {
      failure = error;
    }
    try {
      if (fs.existsSync(this.dir)) {
        // A full disk can take part of an append: the next one would continue the half line.
        cutHalfLine(this.file);
      } else {
        // The folder was removed while the process runs (a clean-up of old logs): logging goes on in a new one, and nothing was dropped.
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        appendTo(this.file, text);
        this.knownSize = Buffer.byteLength(text);
        this.failing = false;
        return;
      }
    } catch {
      // The repair failed as well (the folder cannot be made again): the next append tries again.
    }
    this.said(failure);
  }

  /** Says on stderr why lines are being dropped, once for a run of failed appends (a full disk fails every turn). */
  private said(error: unknown): void {
    if (this.failing) return;
    this.failing = true;
    process.stderr.write(`agented: could not write to ${this.file} (${(error as Error).message}); log lines are dropped until it works again\n`);
  }

  private rotate(): void {
    try {
      // The size counted is this process's own: where another one writes the same file too (a second
      // instance shares the log folder) and has just rotated it, a rename would put a few lines over
      // the old file that holds the history.
      if (fs.statSync(this.file).size <= this.maxSize) return;
      fs.renameSync(this.file, this.oldFile);
    } catch {
      // A read-only folder, or on Windows a file another program holds open: the newest quarter stays, in whole lines.
      try {
        keepNewestLines(this.file, Math.floor(this.maxSize / 4));
      } catch {
        // The file keeps growing until a later rotation succeeds; a line is never lost for it.
      }
    }
  }

  dispose(): void {
    this.flush();
    process.off('exit', this.flush);
  }
}

function appendTo(file: string, text: string): void {
  fs.writeFileSync(file, text, { flag: 'a', mode: 0o600 });
}

function sizeOf(file: string): number {
  return fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** Cuts the file back to the end of its last whole line. */
function cutHalfLine(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    let end = fs.fstatSync(fd).size;
    let wholeLinesEnd = 0;
    while (end > 0) {
      const start = Math.max(0, end - chunk.length);
      fs.readSync(fd, chunk, 0, end - start, start);
      const newline = chunk.subarray(0, end - start).lastIndexOf(0x0a);
      if (newline !== -1) {
        wholeLinesEnd = start + newline + 1;
        break;
      }
      end = start;
    }
    fs.ftruncateSync(fd, wholeLinesEnd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Keeps only the whole lines within the last `bytes` of the file. */
function keepNewestLines(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const tail = Buffer.alloc(size - start);
    fs.readSync(fd, tail, 0, tail.length, start);
    // What comes before the first line break is the end of a line cut in two.
    const newline = tail.indexOf(0x0a);
    const kept = tail.subarray(newline === -1 ? tail.length : newline + 1);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, kept, 0, kept.length, 0);
  } finally {
    fs.closeSync(fd);
  }
}

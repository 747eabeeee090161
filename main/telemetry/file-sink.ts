import fs from 'node:fs';
import path from 'node:path';
import electronLog from 'electron-log/node';
import type { Disposable } from '../lifecycle/disposables.js';
import type { LogLevel, LogSink } from './logger.js';

/**
 * Writes lines to `<dir>/<name>.log` through electron-log's file transport,
 * which rotates the file to `<name>.old.log` past `maxSize`. The same transport
 * is what the Electron shell uses, so desktop and headless logs look alike.
 *
 * Lines written in one turn of the event loop go to the file in one
 * synchronous append at the end of that turn (one write per burst instead of
 * one per line), and whatever is pending is written when the process exits,
 * so an exit on a fatal error loses nothing.
 *
 * Every line in the file stays one whole JSON object: where an append or a
 * rotation fails, the sink repairs what electron-log would leave (below).
 */
export class ElectronLogFileSink implements LogSink, Disposable {
  static readonly MAX_BATCH_BYTES = 64 * 1024;
  private readonly log: ReturnType<typeof electronLog.create>;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private appendFailed = false;
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
    this.log = electronLog.create({ logId: `agented-${name}-${process.pid}-${Math.random().toString(36).slice(2)}` });
    // Without a name electron-log looks for one in the package.json of the working directory (not
    // the app's: under ESM it has no main module to start from), and where there is none — `agented
    // serve` started from the home folder, or by systemd — it threw inside every write and dropped it.
    this.log.transports.file.setAppName('agented');
    this.log.transports.console.level = false;
    this.log.transports.file.level = 'debug';
    this.log.transports.file.format = '{text}';
    // The text is finished JSON lines: electron-log's default transforms (style removal, the
    // format template, a JSON round trip and util.format of each batch) only copied it, four
    // passes over up to 64 KB per flush on the webhook path. Rotation and the file stay its own.
    this.log.transports.file.transforms = [({ data }) => (data as string[]).join(' ')];
    this.log.transports.file.maxSize = maxSize;
    this.log.transports.file.sync = true;
    this.log.transports.file.writeOptions = { flag: 'a', mode: 0o600, encoding: 'utf8' };
    this.log.transports.file.resolvePathFn = () => this.file;
    // Where the file cannot be renamed, electron-log's own rotation cuts it at a byte count and writes "[log cropped]" above the half line it begins with.
    this.log.transports.file.archiveLogFn = () => this.archive();
    // electron-log reports a failed append on its console only; the sink has to know, to repair the file.
    this.log.transports.file.getFile().on('error', () => {
      this.appendFailed = true;
    });
    process.on('exit', this.flush);
  }

  write(_level: LogLevel, line: string): void {
    this.pending.push(line);
    this.pendingBytes += line.length;
    // A long burst is cut into bounded appends, so rotation never overshoots by much.
    if (this.pendingBytes >= ElectronLogFileSink.MAX_BATCH_BYTES) {
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
    const text = this.pending.join('\n');
    this.pending = [];
    this.pendingBytes = 0;
    this.append(text);
  };

  private append(text: string): void {
    this.appendFailed = false;
    this.log.info(text);
    if (!this.appendFailed) return;
    try {
      if (fs.existsSync(this.dir)) {
        // A full disk can take part of an append: the next one would continue the half line.
        cutHalfLine(this.file);
      } else {
        // The folder was removed while the process runs (a clean-up of old logs): logging goes on in a new one.
        fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        this.log.info(text);
      }
    } catch {
      // The repair failed as well (the folder cannot be made again): electron-log has said why on the console, and the next append tries again.
    }
  }

  private archive(): void {
    try {
      // electron-log counts the bytes this process wrote: where another one writes the same file too
      // (a second instance shares the log folder) and has just rotated it, a rename would put a few
      // lines over the old file that holds the history.
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

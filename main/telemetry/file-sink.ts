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
 */
export class ElectronLogFileSink implements LogSink, Disposable {
  static readonly MAX_BATCH_BYTES = 64 * 1024;
  private readonly log: ReturnType<typeof electronLog.create>;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  readonly file: string;

  constructor(dir: string, name: string, maxSize = 5 * 1024 * 1024) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, `${name}.log`);
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
    this.log.info(text);
  };

  dispose(): void {
    this.flush();
    process.off('exit', this.flush);
  }
}

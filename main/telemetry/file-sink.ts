import fs from 'node:fs';
import path from 'node:path';
import electronLog from 'electron-log/node';
import type { LogLevel, LogSink } from './logger.js';

/**
 * Writes lines to `<dir>/<name>.log` through electron-log's file transport,
 * which rotates the file to `<name>.old.log` past `maxSize`. The same transport
 * is what the Electron shell uses, so desktop and headless logs look alike.
 */
export class ElectronLogFileSink implements LogSink {
  private readonly log: ReturnType<typeof electronLog.create>;
  readonly file: string;

  constructor(dir: string, name: string, maxSize = 5 * 1024 * 1024) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = path.join(dir, `${name}.log`);
    this.log = electronLog.create({ logId: `agented-${name}-${process.pid}` });
    this.log.transports.console.level = false;
    this.log.transports.file.level = 'debug';
    this.log.transports.file.format = '{text}';
    this.log.transports.file.maxSize = maxSize;
    this.log.transports.file.writeOptions = { flag: 'a', mode: 0o600, encoding: 'utf8' };
    this.log.transports.file.resolvePathFn = () => this.file;
  }

  write(level: LogLevel, line: string): void {
    this.log[level](line);
  }
}

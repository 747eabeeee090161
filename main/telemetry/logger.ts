import { Redactor } from './redactor.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where serialized lines go: a file, stdout, or several of them. */
export interface LogSink {
  write(level: LogLevel, line: string): void;
}

interface LoggerState {
  sink: LogSink;
  level: LogLevel;
  redactor: Redactor;
}

/**
 * One JSON object per line: time, level, msg, the bound ids (request_id,
 * execution_id …) and the fields of the call. Children share the sink, level
 * and redactor of their parent, so a secret registered once is masked
 * everywhere.
 */
export class Logger {
  private constructor(
    private readonly state: LoggerState,
    private readonly bindings: LogFields,
  ) {}

  static create(options: { sink: LogSink; level?: LogLevel; redactor?: Redactor; bindings?: LogFields }): Logger {
    return new Logger(
      { sink: options.sink, level: options.level ?? 'info', redactor: options.redactor ?? new Redactor() },
      options.bindings ?? {},
    );
  }

  get redactor(): Redactor {
    return this.state.redactor;
  }

  setLevel(level: LogLevel): void {
    this.state.level = level;
  }

  child(bindings: LogFields): Logger {
    return new Logger(this.state, { ...this.bindings, ...bindings });
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }

  private write(level: LogLevel, msg: string, fields: LogFields | undefined): void {
    if (rank[level] < rank[this.state.level]) return;
    const time = new Date().toISOString();
    const record = { time, level, msg, ...this.bindings, ...fields };
    let json: string;
    try {
      // A replacer takes JSON.stringify off V8's fast path; most lines (the access log) need none.
      json = this.needsReplacer(record, 0) ? JSON.stringify(record, this.replacer()) : JSON.stringify(record);
    } catch (error) {
      // A field that cannot be serialized (a circular object, a throwing toJSON) costs its fields, not the line, nor the caller that logs.
      json = JSON.stringify({ time, level, msg, ...this.bindings, log_error: String(error) });
    }
    const line = this.state.redactor.scrub(json);
    this.state.sink.write(level, line);
  }

  /** True when some key is a secret field name, or some value needs converting (Error, bigint), down to a few levels. */
  private needsReplacer(value: unknown, depth: number): boolean {
    if (typeof value === 'bigint' || value instanceof Error) return true;
    if (value === null || typeof value !== 'object') return false;
    if (depth > 6) return true;
    if (Array.isArray(value)) return value.some((item) => this.needsReplacer(item, depth + 1));
    for (const key in value) {
      if (this.state.redactor.isSecretField(key) || this.needsReplacer((value as Record<string, unknown>)[key], depth + 1)) return true;
    }
    return false;
  }

  /** A replacer for one line: it masks secret fields and converts errors and bigints. */
  private replacer(): (key: string, value: unknown) => unknown {
    // Errors already written in this line: each is turned into a new object, which JSON.stringify cannot see as a loop.
    const written = new WeakSet<Error>();
    return (key, value) => {
      if (key !== '' && this.state.redactor.isSecretField(key)) return Redactor.MASK;
      if (value instanceof Error) {
        if (written.has(value)) return '[Circular]';
        written.add(value);
        // The cause is often the only part that says why (fetch's "fetch failed" over ECONNREFUSED).
        return { name: value.name, message: value.message, code: (value as { code?: unknown }).code, stack: value.stack, cause: value.cause };
      }
      if (typeof value === 'bigint') return value.toString();
      return value;
    };
  }
}

export class StreamSink implements LogSink {
  constructor(private readonly stream: NodeJS.WritableStream) {}
  write(_level: LogLevel, line: string): void {
    this.stream.write(`${line}\n`);
  }
}

export class FanOutSink implements LogSink {
  constructor(private readonly sinks: readonly LogSink[]) {}
  write(level: LogLevel, line: string): void {
    for (const sink of this.sinks) sink.write(level, line);
  }
}

/** Collects lines in memory; for callers that want to inspect what was logged. */
export class MemorySink implements LogSink {
  readonly lines: string[] = [];
  write(_level: LogLevel, line: string): void {
    this.lines.push(line);
  }
}

import type Database from 'better-sqlite3';
import type { Disposable } from '../lifecycle/disposables.js';

export type LogStream = 'stdout' | 'stderr' | 'system';

/** One stored output line. `seq` counts from 1 per execution and is the SSE event id. */
export interface LogLine {
  executionId: string;
  seq: number;
  stream: LogStream;
  text: string;
  ts: string;
  /** The normalized event, when the line parsed as one of the CLI's events. */
  event?: unknown;
}

export interface LogStoreOptions {
  /** Buffered lines are written at least this often… */
  flushIntervalMs?: number;
  /** …and as soon as this many are waiting. */
  maxBatchLines?: number;
  /** Lines kept per execution; past it one truncation line is written and the rest dropped. */
  maxLinesPerExecution?: number;
  /** Characters kept of one line. */
  maxLineLength?: number;
  now?: () => Date;
}

interface Row {
  seq: number;
  stream: LogStream;
  text: string;
  ts: string;
  event: string | null;
}

/**
 * The output of executions, written in batches: lines are numbered as they
 * arrive (so live subscribers and the database agree on every number) and
 * reach SQLite in one transaction per batch — by time and by count — rather
 * than one commit per line. A flooding CLI is bounded by the per-execution
 * cap, which ends with one clear truncation line.
 */
export class LogStore implements Disposable {
  private readonly pending: LogLine[] = [];
  private readonly nextSeq = new Map<string, number>();
  /** Lines counted against the cap, per execution (stored or waiting). */
  private readonly stored = new Map<string, number>();
  private readonly truncated = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private readonly writeBatch: (lines: LogLine[]) => void;
  private readonly maxSeq: Database.Statement<[string], { seq: number | null }>;
  private readonly select: Database.Statement<[string, number, number], Row>;
  private readonly options: Required<Omit<LogStoreOptions, 'now'>> & { now: () => Date };

  constructor(db: Database.Database, options: LogStoreOptions = {}) {
    this.options = {
      flushIntervalMs: options.flushIntervalMs ?? 100,
      maxBatchLines: options.maxBatchLines ?? 500,
      maxLinesPerExecution: options.maxLinesPerExecution ?? 100_000,
      maxLineLength: options.maxLineLength ?? 64 * 1024,
      now: options.now ?? (() => new Date()),
    };
    const insert = db.prepare<[string, number, string, string, string, string | null]>(
      'INSERT INTO execution_logs (execution_id, seq, stream, text, ts, event) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.writeBatch = db.transaction((lines: LogLine[]) => {
      for (const line of lines) {
        insert.run(line.executionId, line.seq, line.stream, line.text, line.ts, line.event === undefined ? null : JSON.stringify(line.event));
      }
    });
    this.maxSeq = db.prepare('SELECT max(seq) AS seq FROM execution_logs WHERE execution_id = ?');
    this.select = db.prepare('SELECT seq, stream, text, ts, event FROM execution_logs WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?');
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Numbers and buffers one line. Returns it (for live subscribers), or null
   * when the execution is past its cap and the line was dropped.
   */
  append(executionId: string, stream: LogStream, text: string, event?: unknown): LogLine | null {
    if (this.truncated.has(executionId)) return null;
    const seq = this.seqFor(executionId);
    const count = (this.stored.get(executionId) ?? 0) + 1;
    this.stored.set(executionId, count);
    let line: LogLine;
    if (count > this.options.maxLinesPerExecution) {
      this.truncated.add(executionId);
      line = {
        executionId,
        seq,
        stream: 'system',
        text: `[output truncated: more than ${this.options.maxLinesPerExecution} lines; the rest of this execution's output was not kept]`,
        ts: this.options.now().toISOString(),
      };
    } else {
      const capped = text.length > this.options.maxLineLength ? `${text.slice(0, this.options.maxLineLength)}… [line truncated: ${text.length} characters]` : text;
      line = { executionId, seq, stream, text: capped, ts: this.options.now().toISOString(), ...(event === undefined ? {} : { event }) };
    }
    this.nextSeq.set(executionId, seq + 1);
    this.pending.push(line);
    if (this.pending.length >= this.options.maxBatchLines) this.flush();
    return line;
  }

  /** Writes every buffered line now, in one transaction. */
  flush(): void {
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0);
    this.writeBatch(batch);
  }

  /** Lines after `afterSeq`, in order (buffered ones included: they are flushed first). */
  read(executionId: string, afterSeq: number, limit = 1_000): LogLine[] {
    this.flush();
    return this.select.all(executionId, afterSeq, limit).map((row) => ({
      executionId,
      seq: row.seq,
      stream: row.stream,
      text: row.text,
      ts: row.ts,
      ...(row.event === null ? {} : { event: JSON.parse(row.event) as unknown }),
    }));
  }

  /** Forgets an ended execution's counters (its lines stay stored). */
  finish(executionId: string): void {
    this.flush();
    this.nextSeq.delete(executionId);
    this.stored.delete(executionId);
    this.truncated.delete(executionId);
  }

  dispose(): void {
    clearInterval(this.timer);
    this.flush();
  }

  private seqFor(executionId: string): number {
    let next = this.nextSeq.get(executionId);
    if (next === undefined) {
      // Continue after what an earlier worker stored (a restart mid-execution).
      this.flush();
      const stored = this.maxSeq.get(executionId)?.seq ?? 0;
      next = stored + 1;
      this.stored.set(executionId, stored);
    }
    return next;
  }
}

import type Database from 'better-sqlite3';
import type { Disposable } from '../lifecycle/disposables.js';
import { logRecord, parseLogRecord } from './log-record.js';

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
  /** The line as stored: one JSON object, which is also the data of its `log` server-sent event (see log-record.ts). */
  json: string;
}

/** Replaces secrets in a text (a Redactor): the credentials a CLI was given, which its output must not keep. */
export interface OutputMask {
  scrub(text: string): string;
}

/** A stored line, as the stream sends it: its number and its JSON. */
export interface LogRecord {
  seq: number;
  json: string;
}

export interface LogStoreOptions {
  /** Buffered lines are written at least this often… */
  flushIntervalMs?: number;
  /** …and as soon as this many are waiting. */
  maxBatchLines?: number;
  /**
   * Lines of the CLI's output (stdout, stderr) kept per execution; past it one
   * truncation line is written and the rest dropped. Agented's own `system`
   * lines are not counted and always kept.
   */
  maxLinesPerExecution?: number;
  /** Characters kept of one line. */
  maxLineLength?: number;
  now?: () => Date;
  /**
   * A batch could not be written (the database locked by another process, a
   * full disk): its lines stay buffered, in order, and the next tick writes
   * them. Called once when writing starts failing and once it works again.
   */
  onWriteFailure?: (error: Error | undefined) => void;
}

/**
 * Line numbers reserved ahead in one write (executions.log_seq_reserved): a
 * line is streamed live as it arrives, before its batch is stored, so its
 * number must already be on disk for the next worker to count past. One small
 * write per thousand lines; a crash leaves at most this many numbers unused.
 */
const SEQ_RESERVATION = 1_000;

/**
 * A line waiting for its batch: what is stored of it, and no more. The line
 * handed to live subscribers also carries its parsed events and the text as
 * read (a slice that keeps the whole read it came from in memory): held
 * here, those stayed alive until the batch was written, and under a flood
 * every young-generation collection copied them.
 */
interface PendingLine {
  executionId: string;
  seq: number;
  /** Agented's own lines only (the truncation notice is looked for among them). */
  text: string | undefined;
  json: string;
}

interface ChunkRow {
  first_seq: number;
  data: string;
}

/**
 * The output of executions, written in batches: lines are numbered as they
 * arrive (so live subscribers and the database agree on every number) and
 * reach SQLite in one transaction per batch — by time and by count — rather
 * than one commit per line. A flooding CLI is bounded by the per-execution
 * cap, which ends with one clear truncation line; Agented's own lines (a
 * retry, the final status, the interrupted notice) still follow it, so a
 * truncated execution's log still says how it ended.
 *
 * A batch is stored as chunks, one row per run of consecutive lines of one
 * execution, holding the lines' JSON records separated by newlines (JSON
 * never contains a raw newline). A row per line cost a b-tree insert and
 * its index entry per line — a quarter of the worker's time under a flood —
 * and readers only ever want a range of lines in order, which a chunk gives
 * in one read.
 */
export class LogStore implements Disposable {
  private readonly pending: PendingLine[] = [];
  private readonly nextSeq = new Map<string, number>();
  /** Output lines counted against the cap, per execution (stored or waiting). */
  private readonly stored = new Map<string, number>();
  /** Executions whose truncation line is written (stored or waiting). */
  private readonly truncated = new Set<string>();
  /** The highest number reserved on disk, per execution (see SEQ_RESERVATION). */
  private readonly reserved = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly writeBatch: (lines: PendingLine[]) => void;
  private readonly maxSeq: Database.Statement<[string], { seq: number | null }>;
  private readonly chunksAfter: Database.Statement<[string, number], ChunkRow>;
  private readonly reserveStatement: Database.Statement<[number, string]>;
  private readonly reservedStatement: Database.Statement<[string], { seq: number | null }>;
  private readonly options: Required<Omit<LogStoreOptions, 'now' | 'onWriteFailure'>> & Pick<LogStoreOptions, 'onWriteFailure'> & { now: () => Date };
  /** The last write failed: only the timer tries again, not every line that arrives meanwhile. */
  private failing = false;
  /** The last line's time, in ms and as written: a flood's lines share a millisecond by the dozen. */
  private lastTime = { ms: Number.NaN, text: '' };

  constructor(db: Database.Database, options: LogStoreOptions = {}) {
    this.options = {
      flushIntervalMs: options.flushIntervalMs ?? 100,
      maxBatchLines: options.maxBatchLines ?? 500,
      maxLinesPerExecution: options.maxLinesPerExecution ?? 100_000,
      maxLineLength: options.maxLineLength ?? 64 * 1024,
      now: options.now ?? (() => new Date()),
      onWriteFailure: options.onWriteFailure,
    };
    const insert = db.prepare<[string, number, number, string]>('INSERT INTO execution_log_chunks (execution_id, first_seq, last_seq, data) VALUES (?, ?, ?, ?)');
    this.writeBatch = db.transaction((lines: PendingLine[]) => {
      for (const chunk of chunksOf(lines)) insert.run(chunk.executionId, chunk.firstSeq, chunk.lastSeq, chunk.data);
    });
    this.maxSeq = db.prepare('SELECT max(last_seq) AS seq FROM execution_log_chunks WHERE execution_id = ?');
    this.chunksAfter = db.prepare('SELECT first_seq, data FROM execution_log_chunks WHERE execution_id = ? AND last_seq > ? ORDER BY last_seq');
    this.reserveStatement = db.prepare('UPDATE executions SET log_seq_reserved = ? WHERE id = ?');
    this.reservedStatement = db.prepare('SELECT log_seq_reserved AS seq FROM executions WHERE id = ?');
    this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Numbers and buffers one line. Returns it (for live subscribers), or null
   * when the execution's output is past its cap and the line was dropped (a
   * `system` line never is).
   */
  append(executionId: string, stream: LogStream, text: string, event?: unknown, mask?: OutputMask): LogLine | null {
    const seq = this.seqFor(executionId);
    // The cap bounds what the CLI prints; Agented's own lines are few and say how the execution went, so they are always kept.
    const output = stream !== 'system';
    if (output && this.truncated.has(executionId)) return null;
    const count = output ? (this.stored.get(executionId) ?? 0) + 1 : 0;
    if (output) this.stored.set(executionId, count);
    const ts = this.timestamp();
    let line: LogLine;
    if (count > this.options.maxLinesPerExecution) {
      this.truncated.add(executionId);
      const notice = this.truncationNotice();
      line = { executionId, seq, stream: 'system', text: notice, ts, json: logRecord(seq, 'system', notice, ts, undefined) };
    } else {
      const limit = this.options.maxLineLength;
      // A credential across the cut would keep a part the mask no longer matches: a long line is masked before it is cut.
      const capped = cut(mask && text.length > limit ? mask.scrub(text) : text, limit);
      line = { executionId, seq, stream, text: capped, ts, ...(event === undefined ? {} : { event }), json: logRecord(seq, stream, capped, ts, event) };
      // A long line's events repeat its text (a final result carries the whole answer): their strings are cut the same way, so a record stays bounded.
      if (event !== undefined && line.json.length > 4 * limit) {
        const bounded = cutStrings(event, limit, mask);
        line = { ...line, event: bounded, json: logRecord(seq, stream, capped, ts, bounded) };
      }
      // Masked as serialised: one look at the record covers the text and every event, in the forms JSON escapes a secret into.
      const masked = mask?.scrub(line.json);
      if (masked !== undefined && masked !== line.json) line = maskedLine(line, masked, mask!);
    }
    this.nextSeq.set(executionId, seq + 1);
    if (seq > (this.reserved.get(executionId) ?? 0)) this.reserve(executionId, seq);
    this.pending.push({ executionId, seq, text: line.stream === 'system' ? line.text : undefined, json: line.json });
    if (this.pending.length >= this.options.maxBatchLines && !this.failing) this.flush();
    return line;
  }

  /**
   * Writes every buffered line now, in one transaction. Never throws: when the
   * write fails the lines stay buffered (readers still get them) and the next
   * tick writes them. Returns whether everything buffered is stored.
   */
  flush(): boolean {
    if (this.pending.length === 0) return true;
    try {
      this.writeBatch(this.pending);
    } catch (error) {
      if (!this.failing) this.options.onWriteFailure?.(error as Error);
      this.failing = true;
      return false;
    }
    this.pending.length = 0;
    if (this.failing) this.options.onWriteFailure?.(undefined);
    this.failing = false;
    return true;
  }

  /** Lines after `afterSeq`, in order (buffered ones included: they are flushed first). */
  read(executionId: string, afterSeq: number, limit = 1_000): LogLine[] {
    return this.records(executionId, afterSeq, limit).map((record) => parseLogRecord(executionId, record.json));
  }

  /** The same lines as `read`, as stored — what a stream sends, with nothing parsed. */
  records(executionId: string, afterSeq: number, limit = 1_000): LogRecord[] {
    const allStored = this.flush();
    const records = this.storedRecords(executionId, afterSeq, limit);
    if (allStored) return records;
    // Writes are failing: the buffered lines follow the stored ones, all numbered after them.
    const after = records.at(-1)?.seq ?? afterSeq;
    for (const line of this.pending) {
      if (records.length === limit) break;
      if (line.executionId === executionId && line.seq > after) records.push({ seq: line.seq, json: line.json });
    }
    return records;
  }

  private storedRecords(executionId: string, afterSeq: number, limit: number): LogRecord[] {
    const records: LogRecord[] = [];
    for (const chunk of this.chunksAfter.iterate(executionId, afterSeq)) {
      let seq = chunk.first_seq;
      let start = 0;
      while (start <= chunk.data.length) {
        let end = chunk.data.indexOf('\n', start);
        if (end === -1) end = chunk.data.length;
        if (seq > afterSeq) {
          records.push({ seq, json: chunk.data.slice(start, end) });
          // Leaving the loop ends the statement's read (for…of returns the iterator).
          if (records.length === limit) return records;
        }
        seq += 1;
        start = end + 1;
      }
    }
    return records;
  }

  /** Forgets an ended execution's counters (its lines stay stored). */
  finish(executionId: string): void {
    this.flush();
    this.nextSeq.delete(executionId);
    this.reserved.delete(executionId);
    this.stored.delete(executionId);
    this.truncated.delete(executionId);
  }

  dispose(): void {
    clearInterval(this.timer);
    this.flush();
  }

  /**
   * Stores that numbers up to `seq + SEQ_RESERVATION - 1` may be in use. When
   * the database refuses (a full disk), the line is still numbered and
   * streamed — it is buffered like the others — and the next line tries again.
   */
  private reserve(executionId: string, seq: number): void {
    if (this.failing) return;
    const upTo = seq + SEQ_RESERVATION - 1;
    try {
      this.reserveStatement.run(upTo, executionId);
    } catch {
      return;
    }
    this.reserved.set(executionId, upTo);
  }

  private lastPendingSeq(executionId: string): number {
    for (let index = this.pending.length - 1; index >= 0; index -= 1) if (this.pending[index]!.executionId === executionId) return this.pending[index]!.seq;
    return 0;
  }

  /** The time now, as a line's `ts` (ISO 8601): written out once per millisecond (toISOString cost ~0.8 µs a line). */
  private timestamp(): string {
    const now = this.options.now();
    const ms = now.getTime();
    if (ms !== this.lastTime.ms) this.lastTime = { ms, text: now.toISOString() };
    return this.lastTime.text;
  }

  private truncationNotice(): string {
    return `[output truncated: more than ${this.options.maxLinesPerExecution} lines; the rest of this execution's output was not kept]`;
  }

  private seqFor(executionId: string): number {
    let next = this.nextSeq.get(executionId);
    if (next === undefined) {
      // Continue after what an earlier worker stored (a restart mid-execution, or crash recovery's interrupted line).
      this.flush();
      const stored = Math.max(this.maxSeq.get(executionId)?.seq ?? 0, this.lastPendingSeq(executionId));
      // A worker that died between two batches streamed numbers it never stored: they are not used again.
      const reserved = this.reservedStatement.get(executionId)?.seq ?? 0;
      next = Math.max(stored, reserved) + 1;
      this.nextSeq.set(executionId, next);
      // Agented's own lines among the stored ones are counted too: close enough, and exact would mean reading them all.
      this.stored.set(executionId, stored);
      if (stored > this.options.maxLinesPerExecution && this.noticeStored(executionId)) this.truncated.add(executionId);
    }
    return next;
  }

  /**
   * Whether the execution's truncation line is stored (or waiting): then it is
   * never written twice. It can only come after the first `cap` lines, which
   * are all kept, and only Agented's own few lines come after it — so this
   * reads only those, and matches the whole line (a CLI's output cannot pass
   * for it: it is never stored as a `system` line).
   */
  private noticeStored(executionId: string): boolean {
    const notice = this.truncationNotice();
    const isNotice = (line: Pick<LogLine, 'stream' | 'text'>) => line.stream === 'system' && line.text === notice;
    return (
      this.storedRecords(executionId, this.options.maxLinesPerExecution, 1_000).some((record) => isNotice(parseLogRecord(executionId, record.json))) ||
      this.pending.some((line) => line.executionId === executionId && line.text === notice)
    );
  }
}

/**
 * A line whose record a mask changed. A value that matched across the record's own syntax (the end of
 * one string and the next key) leaves it unreadable: then the text alone is masked, without its events.
 */
function maskedLine(line: LogLine, masked: string, mask: OutputMask): LogLine {
  try {
    return parseLogRecord(line.executionId, masked);
  } catch {
    const text = mask.scrub(line.text);
    return { executionId: line.executionId, seq: line.seq, stream: line.stream, text, ts: line.ts, json: logRecord(line.seq, line.stream, text, line.ts, undefined) };
  }
}

/** A text of at most `limit` characters, with a mark saying how long it was. */
function cut(text: string, limit: number): string {
  return text.length > limit ? `${text.slice(0, limit)}… [line truncated: ${text.length} characters]` : text;
}

/** A copy of an event (or a list of them) with every string longer than `limit` masked, then cut. */
function cutStrings(value: unknown, limit: number, mask: OutputMask | undefined): unknown {
  if (typeof value === 'string') return cut(mask && value.length > limit ? mask.scrub(value) : value, limit);
  if (Array.isArray(value)) return value.map((item) => cutStrings(item, limit, mask));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cutStrings(item, limit, mask)]));
  return value;
}

interface Chunk {
  executionId: string;
  firstSeq: number;
  lastSeq: number;
  data: string;
}

/**
 * Characters at which a chunk is closed and the next begun. Measured here: a
 * row of ~64 KB costs the least CPU and disk time per line; far larger rows
 * (a whole 500-line batch of long lines, ~350 KB) cost more again.
 */
const CHUNK_CHARS = 64 * 1024;

/** A batch's lines as runs of consecutive lines per execution, in order, each run at most about CHUNK_CHARS. */
function chunksOf(lines: readonly PendingLine[]): Chunk[] {
  const open = new Map<string, Chunk>();
  const chunks: Chunk[] = [];
  for (const line of lines) {
    const chunk = open.get(line.executionId);
    if (chunk && chunk.lastSeq + 1 === line.seq && chunk.data.length < CHUNK_CHARS) {
      chunk.lastSeq = line.seq;
      chunk.data += `\n${line.json}`;
      continue;
    }
    const next = { executionId: line.executionId, firstSeq: line.seq, lastSeq: line.seq, data: line.json };
    open.set(line.executionId, next);
    chunks.push(next);
  }
  return chunks;
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { BackendAdapter } from '../backends/adapter.js';

type Env = Readonly<Record<string, string | undefined>>;

/** Tokens of a run so far. */
export interface RunningTokens {
  inputTokens: number;
  outputTokens: number;
}

/**
 * A CLI that writes each API call's usage to a file while it runs, when its
 * stdout has the totals only at the end (Gemini CLI's telemetry, Codex's
 * session rollout). One attempt's view of that file.
 */
export interface UsageFileAttempt {
  /** Variables to add to the CLI's environment (what makes it write the file). */
  readonly env: Record<string, string | undefined>;
  /** Each stdout line, in order, until the file is known (Codex names its session there). */
  stdoutLine?(line: string): void;
  /** The file to follow, or null while it is not known yet; asked on each poll until it is. */
  file(): string | null;
  /** What ends a record in the file (kept on the record). */
  readonly recordEnd: string;
  /** Records longer than this are skipped unread: none that carries usage comes near it. */
  readonly maxRecordBytes: number;
  /** The run's tokens after this record (a running total), or null when the record says nothing of them. Never throws. */
  usageOf(record: string): RunningTokens | null;
}

/** How an adapter prepares one attempt's usage file; `dir` is a private folder of the attempt, removed after it. */
export interface UsageFileSource {
  attempt(options: { dir: string; env: Env }): UsageFileAttempt;
}

export interface UsageFileOptions {
  pollMs?: number;
  /** Bytes read at a time, and at most this many reads a poll: a file growing faster is caught up with over later polls. */
  chunkBytes?: number;
  chunksPerPoll?: number;
}

/** One attempt's usage file, followed while the CLI runs. */
export interface UsageFileRun {
  /** The variables the CLI must get. */
  readonly env: Record<string, string | undefined>;
  stdoutLine(line: string): void;
  /** Reads what is left (bounded), stops following and removes the attempt's folder. Idempotent. */
  close(): void;
}

/**
 * Follows the file an adapter names: polls it, reads what was appended in
 * bounded chunks, splits it into records and hands each running total that
 * grew to `onUsage`. Polling rather than fs.watch: it behaves the same on
 * every platform and for a file that does not exist yet. Any error reading
 * the file ends the following quietly — the CLI's own totals still come at
 * the end; only the budget's timeliness is lost.
 */
export function followUsageFile(source: UsageFileSource, env: Env, onUsage: (tokens: RunningTokens) => void, options: UsageFileOptions = {}): UsageFileRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agented-usage-'));
  let attempt: UsageFileAttempt;
  try {
    attempt = source.attempt({ dir, env });
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const follower = new UsageFileFollower(attempt, onUsage, options);
  let closed = false;
  return {
    env: attempt.env,
    stdoutLine: (line) => {
      if (!closed && !follower.located) attempt.stdoutLine?.(line);
    },
    close: () => {
      if (closed) return;
      closed = true;
      follower.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

class UsageFileFollower {
  private readonly timer: NodeJS.Timeout;
  private fd: number | undefined;
  private position = 0;
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  /** Inside a record too long to keep: everything up to its end is dropped. */
  private skipping = false;
  private reported: RunningTokens = { inputTokens: 0, outputTokens: 0 };
  private stopped = false;
  private readonly buffer: Buffer;
  private readonly chunksPerPoll: number;

  constructor(
    private readonly attempt: UsageFileAttempt,
    private readonly onUsage: (tokens: RunningTokens) => void,
    options: UsageFileOptions,
  ) {
    this.buffer = Buffer.alloc(options.chunkBytes ?? 64 * 1024);
    this.chunksPerPoll = options.chunksPerPoll ?? 16;
    this.timer = setInterval(() => this.poll(this.chunksPerPoll), options.pollMs ?? 250);
    this.timer.unref();
  }

  get located(): boolean {
    return this.fd !== undefined;
  }

  close(): void {
    if (this.stopped) return;
    // The CLI has exited: what it flushed last (Gemini CLI writes its telemetry on exit) is read now, still bounded.
    this.poll(this.chunksPerPoll * 4);
    this.stop();
  }

  private stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private poll(chunks: number): void {
    if (this.stopped) return;
    try {
      if (this.fd === undefined && !this.open()) return;
      for (let read = 0; read < chunks; read++) {
        const bytes = fs.readSync(this.fd!, this.buffer, 0, this.buffer.length, this.position);
        if (bytes === 0) return;
        this.position += bytes;
        this.take(this.decoder.write(this.buffer.subarray(0, bytes)));
      }
    } catch {
      this.stop();
    }
  }

  private open(): boolean {
    const file = this.attempt.file();
    if (file === null) return false;
    try {
      this.fd = fs.openSync(file, 'r');
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  private take(text: string): void {
    const { recordEnd, maxRecordBytes } = this.attempt;
    let data = this.pending + text;
    let start = 0;
    for (let end = data.indexOf(recordEnd); end !== -1; end = data.indexOf(recordEnd, start)) {
      const record = data.slice(start, end + recordEnd.length);
      start = end + recordEnd.length;
      if (this.skipping) this.skipping = false;
      else if (record.length <= maxRecordBytes) this.record(record);
    }
    data = data.slice(start);
    if (data.length > maxRecordBytes) {
      // Keep the record's last few characters: its end may be split across this read and the next.
      data = data.slice(-recordEnd.length);
      this.skipping = true;
    }
    this.pending = data;
  }

  private record(record: string): void {
    const tokens = this.attempt.usageOf(record);
    if (!tokens) return;
    if (tokens.inputTokens <= this.reported.inputTokens && tokens.outputTokens <= this.reported.outputTokens) return;
    this.reported = { inputTokens: Math.max(tokens.inputTokens, this.reported.inputTokens), outputTokens: Math.max(tokens.outputTokens, this.reported.outputTokens) };
    this.onUsage(this.reported);
  }
}

/** An adapter as the runner uses it: some CLIs also write their usage to a file while they run. */
export type RunAdapter = BackendAdapter & { readonly usageFile?: UsageFileSource };

import { StreamLog, StreamStatus, StreamUsage } from '../../../common/streams.js';
import type { LogBuffer } from '../lib/log-buffer.js';
import type { ApiClient } from './client.js';
import { LiveConnection, type ConnectionState, type EventSourceFactory } from './live-connection.js';

// `event` repeats events[0]: parse the list once.
const LogData = StreamLog.omit({ event: true });

export interface ExecutionStreamOptions {
  api: ApiClient;
  executionId: string;
  buffer: LogBuffer;
  createEventSource?: EventSourceFactory;
  onUsage?: (usage: StreamUsage) => void;
  /** The final state: the stream is over. */
  onStatus?: (status: StreamStatus) => void;
  onState?: (state: ConnectionState) => void;
  onGiveUp?: () => Promise<boolean> | boolean;
  initialDelayMs?: number;
}

/**
 * One execution's output, live, into a LogBuffer: stored lines first, then
 * new ones as the CLI writes them, each exactly once and in order. A dropped
 * connection resumes after the last line received (`Last-Event-ID` when the
 * browser reconnects, `?after=` when this reopens), and a repeated line is
 * ignored, so a reconnect neither loses nor doubles anything.
 */
export class ExecutionStream {
  private readonly connection: LiveConnection;
  private finished = false;
  /** Lines that did not match the contract (kept raw, counted for the UI). */
  malformed = 0;

  constructor(private readonly options: ExecutionStreamOptions) {
    const { api, executionId, buffer } = options;
    this.connection = new LiveConnection({
      url: () => api.executionStreamUrl(executionId, buffer.lastSeq),
      createEventSource: options.createEventSource,
      onState: options.onState,
      onGiveUp: options.onGiveUp,
      initialDelayMs: options.initialDelayMs,
      on: {
        log: (data) => this.onLog(data),
        usage: (data) => {
          const usage = StreamUsage.safeParse(JSON.parse(data));
          if (usage.success) options.onUsage?.(usage.data);
        },
        status: (data) => {
          // The server closes the stream after this; the browser would reconnect and replay it all.
          this.finished = true;
          this.connection.close();
          const status = StreamStatus.safeParse(JSON.parse(data));
          if (status.success) options.onStatus?.(status.data);
        },
      },
    });
  }

  get isFinished(): boolean {
    return this.finished;
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  close(): void {
    this.connection.close();
  }

  reconnect(): void {
    if (!this.finished) this.connection.reconnect();
  }

  private onLog(data: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      this.malformed++;
      return;
    }
    const parsed = LogData.safeParse(raw);
    let line;
    if (parsed.success) {
      line = { seq: parsed.data.seq, stream: parsed.data.stream, text: parsed.data.text, ts: parsed.data.ts, events: parsed.data.events ?? null };
    } else {
      // An event the contract does not know (a newer server): keep the line, drop its events.
      const fallback = StreamLog.pick({ seq: true, stream: true, text: true, ts: true }).safeParse(raw);
      if (!fallback.success) {
        this.malformed++;
        return;
      }
      this.malformed++;
      line = { ...fallback.data, events: null };
    }
    if (this.options.buffer.append(line) === 'gap') {
      // Something was lost on the way: ask again from the last line we have.
      this.connection.reconnect();
    }
  }
}

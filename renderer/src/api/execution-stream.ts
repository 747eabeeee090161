import { StreamStatus, StreamUsage } from '../../../common/streams.js';
import type { LogBuffer } from '../lib/log-buffer.js';
import { decodeLog, DeferredLogLine } from '../lib/log-decoder.js';
import type { ApiClient } from './client.js';
import { LiveConnection, type ConnectionState, type EventSourceFactory } from './live-connection.js';
import type { WorkerEvent } from './stream-worker.js';

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
        log: (data, _id, event) => this.onLog(data, (event as Partial<WorkerEvent>).log),
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

  /** `decoded`: the line as the stream's worker decoded it (undefined: decode it here; null: it was not a line). */
  private onLog(data: string, decoded: WorkerEvent['log']): void {
    let result;
    if (decoded === undefined) {
      const local = decodeLog(data);
      if (local === null) {
        this.malformed++;
        return;
      }
      if (local.malformed) this.malformed++;
      result = this.options.buffer.append(local.line, local.rows);
    } else {
      if (decoded === null || decoded.malformed) this.malformed++;
      if (decoded === null) return;
      result = this.options.buffer.append(new DeferredLogLine(decoded.seq, decoded.stream, decoded.text, decoded.ts, decoded.eventsJson), decoded.rows);
    }
    if (result === 'gap') {
      // Something was lost on the way: ask again from the last line we have.
      this.connection.reconnect();
    }
  }
}

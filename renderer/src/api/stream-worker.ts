import { decodeLog } from '../lib/log-decoder.js';
import type { EventRow } from '../lib/log-buffer.js';
import type { LogStream } from '../../../common/streams.js';
import { FetchEventSource } from './fetch-event-source.js';
import type { EventSourceLike } from './live-connection.js';

/**
 * An execution's stream read in a Web Worker. Under a flood (10,000 lines a
 * second) reading the body, decoding it, splitting the events, parsing each
 * line's JSON against the contract and building its rows was most of the
 * page's main thread (bench/renderer.mjs): the worker does all of it and
 * hands the page a batch of ready lines about every frame. The page keeps
 * the order, the resume rules and the buffer (ExecutionStream, LogBuffer).
 */

/** A `log` line as the worker decoded it: its fields, its rows, and its events as JSON text (parsed when the line is opened). */
export interface WorkerLog {
  seq: number;
  stream: LogStream;
  text: string;
  ts: string;
  eventsJson: string | null;
  rows: EventRow[];
  /** Events the contract does not know were dropped (the line is kept). */
  malformed: boolean;
}

export interface WorkerEvent {
  type: string;
  data: string;
  lastEventId: string;
  /** For `log` events: the decoded line, or null when the data is not a line at all. */
  log?: WorkerLog | null;
}

export type ToWorker = { type: 'open'; url: string; events: string[] } | { type: 'listen'; event: string };
export type FromWorker = { type: 'open' } | { type: 'error'; readyState: number } | { type: 'events'; events: WorkerEvent[] };

/** The two ends of the worker's channel: `self` inside a worker, a Worker or a MessagePort outside. */
export interface MessageEndpoint {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

/** A batch goes out after this long, or sooner when it is this big: about a frame, and never a pile. */
const FLUSH_MS = 16;
const FLUSH_EVENTS = 1_000;

/**
 * The worker's side: opens the stream (FetchEventSource: the SSE protocol,
 * Last-Event-ID reconnects, the session cookie) when the page says so and
 * posts its events in batches, `log` lines decoded.
 */
export function serveExecutionStream(endpoint: MessageEndpoint, options: { fetch?: typeof fetch; headers?: Record<string, string> } = {}): void {
  let source: FetchEventSource | null = null;
  let pending: WorkerEvent[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  const listening = new Set<string>();

  const post = (message: FromWorker) => endpoint.postMessage(message);
  const flush = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (pending.length === 0) return;
    const events = pending;
    pending = [];
    post({ type: 'events', events });
  };
  const listen = (type: string) => {
    if (!source || listening.has(type)) return;
    listening.add(type);
    source.addEventListener(type, (event) => {
      const item: WorkerEvent = { type, data: event.data, lastEventId: event.lastEventId };
      if (type === 'log') {
        const decoded = decodeLog(event.data);
        if (decoded === null) {
          item.log = null;
        } else {
          const { seq, stream, text, ts, events } = decoded.line;
          item.log = { seq, stream, text, ts, eventsJson: events === null ? null : JSON.stringify(events), rows: decoded.rows, malformed: decoded.malformed };
          // The page needs the decoded parts only, not the escaped JSON a second time.
          item.data = '';
        }
      }
      pending.push(item);
      if (pending.length >= FLUSH_EVENTS) flush();
      else timer ??= setTimeout(flush, FLUSH_MS);
    });
  };

  endpoint.onmessage = (event: MessageEvent) => {
    const message = event.data as ToWorker;
    if (message.type === 'open') {
      source = new FetchEventSource(message.url, options);
      source.onopen = () => post({ type: 'open' });
      source.onerror = () => {
        // What arrived before the error comes first.
        flush();
        post({ type: 'error', readyState: source!.readyState });
      };
      for (const type of message.events) listen(type);
    } else {
      listen(message.event);
    }
  };
}

interface Terminable extends MessageEndpoint {
  terminate?(): void;
}

/**
 * The page's side: an EventSource (as LiveConnection wants one) whose
 * connection lives in a worker. Events arrive in batches and are handed to
 * the listeners in order; `log` events carry the decoded line (`log`).
 */
export class WorkerEventSource implements EventSourceLike {
  readyState = FetchEventSource.CONNECTING;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  private readonly listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();
  private readonly worker: Terminable;
  private started = false;

  constructor(url: string, startWorker: () => Terminable) {
    this.worker = startWorker();
    this.worker.onmessage = (event) => this.receive(event.data as FromWorker);
    // Opened once the caller has added its listeners (in the same task), so the worker knows which events to send.
    queueMicrotask(() => {
      if (this.readyState === FetchEventSource.CLOSED) return;
      this.started = true;
      this.worker.postMessage({ type: 'open', url, events: [...this.listeners.keys()] } satisfies ToWorker);
    });
  }

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
    if (this.started && list.length === 1) this.worker.postMessage({ type: 'listen', event: type } satisfies ToWorker);
  }

  close(): void {
    this.readyState = FetchEventSource.CLOSED;
    this.worker.onmessage = null;
    this.worker.terminate?.();
  }

  private receive(message: FromWorker): void {
    if (this.readyState === FetchEventSource.CLOSED) return;
    switch (message.type) {
      case 'open':
        this.readyState = FetchEventSource.OPEN;
        this.onopen?.(new Event('open'));
        return;
      case 'error':
        this.readyState = message.readyState;
        this.onerror?.(new Event('error'));
        return;
      case 'events':
        for (const event of message.events) {
          // A listener may have closed the source (the final status): nothing after it.
          if (this.readyState === FetchEventSource.CLOSED) return;
          for (const listener of this.listeners.get(event.type) ?? []) listener(event as unknown as MessageEvent<string>);
        }
        return;
      default:
        return message satisfies never;
    }
  }
}

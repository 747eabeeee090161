/**
 * A server-sent events connection that stays up on its own.
 *
 * The browser's EventSource already reconnects after a dropped connection,
 * sending `Last-Event-ID` (the server resumes after it). It gives up for good
 * when an answer is not an event stream (a 401 after the session expired, a
 * 502 from a restarting worker): then this reopens it after a back-off, with
 * a URL computed afresh (so a stream can resume with `?after=`), and asks
 * `onGiveUp` whether to go on (the app checks the session there).
 */

/** What this needs of an EventSource: the browser's, or a spec-compliant one in tests. */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

export const browserEventSource: EventSourceFactory = (url) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike;

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface LiveConnectionOptions {
  url: () => string;
  /** Named events and their handlers (data is the raw JSON text; `event` is the event itself, which a worker-backed source enriches). */
  on: Record<string, (data: string, lastEventId: string, event: MessageEvent<string>) => void>;
  createEventSource?: EventSourceFactory;
  onState?: (state: ConnectionState) => void;
  /** Called when the browser gave up; answer false to stay closed (e.g. the session expired). */
  onGiveUp?: () => Promise<boolean> | boolean;
  /** First back-off; doubles up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

const CLOSED = 2;

export class LiveConnection {
  private source: EventSourceLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private delay: number;
  private stopped = false;
  private currentState: ConnectionState = 'connecting';

  constructor(private readonly options: LiveConnectionOptions) {
    this.delay = options.initialDelayMs ?? 1_000;
    this.open();
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Ends the connection for good (the page closed, or the stream said it is finished). */
  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.source?.close();
    this.source = null;
    this.setState('closed');
  }

  /** Reopens at once (after a sign-in, or when the user asks). */
  reconnect(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.source?.close();
    this.stopped = false;
    this.open();
  }

  private setState(state: ConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.options.onState?.(state);
  }

  private open(): void {
    const create = this.options.createEventSource ?? browserEventSource;
    const source = create(this.options.url());
    this.source = source;
    this.setState(this.currentState === 'closed' ? 'connecting' : this.currentState);
    source.onopen = () => {
      if (this.source !== source) return;
      this.delay = this.options.initialDelayMs ?? 1_000;
      this.setState('open');
    };
    source.onerror = () => {
      if (this.source !== source || this.stopped) return;
      if (source.readyState !== CLOSED) {
        // The browser is already reconnecting (with Last-Event-ID).
        this.setState('reconnecting');
        return;
      }
      source.close();
      this.source = null;
      this.setState('reconnecting');
      void this.retryLater();
    };
    for (const [name, handler] of Object.entries(this.options.on)) {
      source.addEventListener(name, (event) => {
        if (this.source === source) handler(event.data, event.lastEventId, event);
      });
    }
  }

  private async retryLater(): Promise<void> {
    const goOn = this.options.onGiveUp ? await this.options.onGiveUp() : true;
    if (this.stopped) return;
    if (!goOn) {
      this.close();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.open();
    }, this.delay);
    this.delay = Math.min(this.delay * 2, this.options.maxDelayMs ?? 15_000);
  }
}

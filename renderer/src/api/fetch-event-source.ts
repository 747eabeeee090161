import type { EventSourceLike } from './live-connection.js';

/**
 * The server-sent events protocol read with fetch() and a stream reader, for
 * the one stream that carries thousands of events a second (an execution's
 * output). It behaves as EventSource does for LiveConnection — named events,
 * `lastEventId`, readyState, onopen/onerror, the session cookie, and a
 * reconnect after a dropped connection that sends `Last-Event-ID` — but
 * parses whole chunks in JavaScript and hands each event to its listener
 * without building a DOM event: measured in Chromium (bench/renderer.mjs),
 * the browser's EventSource spent most of the page's main thread in its own
 * per-event work under a flood.
 * https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export class FetchEventSource implements EventSourceLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;

  readyState = FetchEventSource.CONNECTING;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;

  private readonly listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();
  private controller: AbortController | null = null;
  private lastEventId = '';
  private retryMs = 1_000;

  constructor(
    private readonly url: string,
    private readonly options: { headers?: Record<string, string>; fetch?: typeof fetch; sliceMs?: number } = {},
  ) {
    void this.connect();
  }

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  close(): void {
    this.readyState = FetchEventSource.CLOSED;
    this.controller?.abort();
    this.controller = null;
  }

  private async connect(): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    let response: Response;
    try {
      response = await (this.options.fetch ?? fetch)(this.url, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'text/event-stream', ...this.options.headers, ...(this.lastEventId ? { 'Last-Event-ID': this.lastEventId } : {}) },
        signal: controller.signal,
      });
    } catch {
      this.dropped();
      return;
    }
    if (this.readyState === FetchEventSource.CLOSED) return;
    if (!response.ok || !response.body || !(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      // As EventSource: an answer that is not an event stream fails the connection for good.
      this.readyState = FetchEventSource.CLOSED;
      controller.abort();
      this.onerror?.(new Event('error'));
      return;
    }
    this.readyState = FetchEventSource.OPEN;
    this.onopen?.(new Event('open'));
    try {
      await this.read(response.body);
    } catch {
      // A reset connection: reconnect below, as EventSource does.
    }
    this.dropped();
  }

  private dropped(): void {
    if (this.readyState === FetchEventSource.CLOSED) return;
    this.readyState = FetchEventSource.CONNECTING;
    this.onerror?.(new Event('error'));
    setTimeout(() => {
      if (this.readyState !== FetchEventSource.CLOSED) void this.connect();
    }, this.retryMs);
  }

  /**
   * Reads the body and dispatches its events, in slices of at most `sliceMs`
   * (8 ms) of work: when the page fell behind, one read can hold thousands of
   * events, and handing them all over in one task would keep the browser
   * from drawing a frame or answering a click until they are done (the
   * benchmark saw 2-second tasks). Between slices the browser gets a task
   * turn to draw; the events keep their order.
   */
  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const sliceMs = this.options.sliceMs ?? 8;
    let buffer = '';
    let type = '';
    let data: string[] = [];
    let id: string | null = null;
    let sliceStart = performance.now();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let start = 0;
      for (let end = buffer.indexOf('\n', start); end !== -1; end = buffer.indexOf('\n', start)) {
        if (performance.now() - sliceStart > sliceMs) {
          await nextTask();
          if (this.readyState === FetchEventSource.CLOSED) return;
          sliceStart = performance.now();
        }
        let line = buffer.slice(start, end);
        start = end + 1;
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          // Dispatch: the id is kept even for an event without data.
          if (id !== null) this.lastEventId = id;
          if (data.length > 0) this.dispatch(type || 'message', data.join('\n'));
          type = '';
          data = [];
          id = null;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let text = colon === -1 ? '' : line.slice(colon + 1);
        if (text.startsWith(' ')) text = text.slice(1);
        if (field === 'data') data.push(text);
        else if (field === 'event') type = text;
        else if (field === 'id' && !text.includes('\0')) id = text;
        else if (field === 'retry' && /^\d+$/.test(text)) this.retryMs = Number(text);
      }
      buffer = buffer.slice(start);
      // The next read's slice begins here only if this one was short: a slow trickle never waits.
      if (performance.now() - sliceStart > sliceMs) {
        await nextTask();
        sliceStart = performance.now();
      }
    }
  }

  private dispatch(type: string, data: string): void {
    // As EventSource: nothing more after close(), even from a chunk already read.
    if (this.readyState === FetchEventSource.CLOSED) return;
    const listeners = this.listeners.get(type);
    if (!listeners) return;
    // Only what the listeners read: `data` and `lastEventId`.
    const event = { type, data, lastEventId: this.lastEventId } as MessageEvent<string>;
    for (const listener of listeners) listener(event);
  }
}

/**
 * Resolves in a new task, after the browser had its turn to draw. A message
 * to oneself, not setTimeout(0), which browsers stretch to 4 ms once nested.
 */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

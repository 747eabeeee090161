import http from 'node:http';

/** One server-sent event as a client receives it. */
export interface ReceivedEvent {
  id: string | undefined;
  event: string;
  data: string;
}

export interface EventStreamClient {
  readonly status: Promise<number>;
  readonly events: ReceivedEvent[];
  /** Comment lines (heartbeats) received. */
  readonly comments: number;
  /** Resolves when the server ends the stream (or the client closes it). */
  readonly ended: Promise<void>;
  /** Resolves once an event satisfies `predicate` (checked on every event received so far and after). */
  waitFor(predicate: (event: ReceivedEvent) => boolean): Promise<ReceivedEvent>;
  close(): void;
}

/**
 * A minimal EventSource over raw HTTP (the test can set Last-Event-ID and
 * see exactly what arrives): parses `id:`, `event:`, `data:` fields and
 * comment lines per the WHATWG server-sent events format.
 */
export function openEventStream(baseUrl: string, path: string, headers: Record<string, string> = {}): EventStreamClient {
  const url = new URL(path, baseUrl);
  const events: ReceivedEvent[] = [];
  const waiters: { predicate: (event: ReceivedEvent) => boolean; resolve: (event: ReceivedEvent) => void }[] = [];
  let comments = 0;
  let resolveStatus!: (status: number) => void;
  const status = new Promise<number>((resolve) => (resolveStatus = resolve));
  let resolveEnded!: () => void;
  const ended = new Promise<void>((resolve) => (resolveEnded = resolve));

  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
    resolveStatus(res.statusCode ?? 0);
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let boundary = buffer.indexOf('\n\n');
      while (boundary !== -1) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
        const event: ReceivedEvent = { id: undefined, event: 'message', data: '' };
        let hasData = false;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comments++;
          else if (line.startsWith('id: ')) event.id = line.slice(4);
          else if (line.startsWith('event: ')) event.event = line.slice(7);
          else if (line.startsWith('data: ')) {
            event.data += (hasData ? '\n' : '') + line.slice(6);
            hasData = true;
          }
        }
        if (!hasData) continue;
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.predicate(event)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      }
    });
    res.on('end', resolveEnded);
    res.on('close', resolveEnded);
  });
  req.on('error', () => {
    resolveStatus(0);
    resolveEnded();
  });
  req.end();

  return {
    status,
    events,
    get comments() {
      return comments;
    },
    ended,
    waitFor: (predicate) => {
      const found = events.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ predicate, resolve }));
    },
    close: () => req.destroy(),
  };
}

/** The `log` events' data, parsed. */
export interface StreamedLine {
  seq: number;
  stream: string;
  text: string;
  event?: { type: string };
  events?: { type: string }[];
}

export function logLines(events: readonly ReceivedEvent[]): StreamedLine[] {
  return events
    .filter((event) => event.event === 'log')
    .map((event) => {
      const line = JSON.parse(event.data) as StreamedLine & { event?: { type: string } };
      // The contract sends a line's one event as `event`, several as `events`: tests read them as one list.
      return { ...line, events: line.events ?? (line.event === undefined ? undefined : [line.event]) };
    });
}

/** Whether any line carried a normalized event of this type. */
export const hasEvent = (lines: readonly StreamedLine[], type: string) => lines.some((line) => line.events?.some((event) => event.type === type));

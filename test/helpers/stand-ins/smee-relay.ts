import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for smee.io (https://github.com/probot/smee.io), speaking
 * its protocol as smee-client consumes it:
 * - `GET|HEAD /new` answers 307 with the new channel in `Location`
 *   (`<proto>://<host>/<channel>`, 12 random bytes in base64url);
 * - `GET /<channel>` with `Accept: text/event-stream` opens an event stream:
 *   a `ready` event first, `ping` events to keep it open, and one unnamed
 *   event per delivery whose data is the JSON of the request's headers
 *   (as top-level keys), `body` (the parsed JSON), `query` (the parsed query
 *   string) and `timestamp`; each event has an increasing `id`;
 * - `POST /<channel>` takes a JSON body, answers 200 with an empty body
 *   whether or not anyone listens, and pushes the event; a body that is not
 *   JSON is refused with 400 (smee.io's body schema is `object`).
 * Nothing is stored: a delivery posted while nobody listens is lost, as on smee.io.
 */
export interface SmeeRelay {
  readonly url: string;
  /** Channels created through /new. */
  readonly created: string[];
  /** Open event streams, per channel. */
  listeners(channel: string): number;
  /** Resolves once the channel has at least `count` listeners. */
  waitForListeners(channel: string, count?: number, timeoutMs?: number): Promise<void>;
  /** Ends every open event stream (a relay restart, as the client sees it). */
  dropConnections(): void;
  /** Channels answered 403, as smee.io does for the ones it disabled (BLOCKED_CHANNELS). */
  readonly blocked: Set<string>;
  close(): Promise<void>;
}

const CHANNEL = /^\/([a-zA-Z0-9_-]{1,128})$/;

export async function startSmeeRelay(options: { pingMs?: number; port?: number } = {}): Promise<SmeeRelay> {
  const blocked = new Set<string>();
  const streams = new Map<string, Set<http.ServerResponse>>();
  const created: string[] = [];
  let eventId = 0;
  const write = (res: http.ServerResponse, data: string, event?: string) => {
    res.write(`id: ${eventId++}\n${event ? `event: ${event}\n` : ''}data: ${data}\n\n`);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://relay.invalid');
    if ((req.method === 'GET' || req.method === 'HEAD') && url.pathname === '/new') {
      const channel = crypto.randomBytes(12).toString('base64url');
      created.push(channel);
      res.writeHead(307, { location: `http://${req.headers.host}/${channel}` });
      res.end();
      return;
    }
    const channel = CHANNEL.exec(url.pathname)?.[1];
    if (!channel) {
      res.writeHead(404).end();
      return;
    }
    if (blocked.has(channel)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Channel has been disabled due to too many connections.');
      return;
    }
    if (req.method === 'GET' && req.headers.accept === 'text/event-stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const set = streams.get(channel) ?? new Set();
      streams.set(channel, set);
      set.add(res);
      const ping = setInterval(() => write(res, '{}', 'ping'), options.pingMs ?? 30_000);
      res.on('close', () => {
        clearInterval(ping);
        set.delete(res);
      });
      write(res, '{}', 'ready');
      return;
    }
    if (req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'body must be JSON' }));
          return;
        }
        const payload = { ...req.headers, body, query: Object.fromEntries(url.searchParams), timestamp: Date.now() };
        for (const stream of streams.get(channel) ?? []) write(stream, JSON.stringify(payload));
        res.writeHead(200).end();
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const listeners = (channel: string) => streams.get(channel)?.size ?? 0;
  return {
    url: `http://127.0.0.1:${port}`,
    created,
    blocked,
    listeners,
    waitForListeners: async (channel, count = 1, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (listeners(channel) < count) {
        if (Date.now() > deadline) throw new Error(`no listener on smee channel ${channel} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    dropConnections: () => {
      for (const set of streams.values()) for (const stream of set) stream.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

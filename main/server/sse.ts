import type { Request, Response } from 'express';

export interface SseOptions {
  /** A comment line this often keeps proxies and the browser from timing the stream out. */
  heartbeatMs: number;
  /**
   * Bytes a client may fall behind (written but not yet taken by its socket).
   * Past it the stream is closed: the client reconnects with Last-Event-ID
   * and catches up from the store, instead of the server buffering for it.
   */
  maxBufferedBytes: number;
  /** How long a replay waits for a client's socket to take a page before giving up on the client. */
  stallTimeoutMs?: number;
  /**
   * Whether the request's credentials still hold: asked at every heartbeat,
   * before a write when a second has passed since the last answer, and when
   * the key is rotated (SseRegistry.closeUnauthorized). A stream whose
   * credentials lapsed is closed; the client's reconnect gets a 401.
   */
  stillAuthorized?: () => boolean;
}

/** One server-sent event, serialised (`id:` only when given). */
export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * A server-sent events response: headers, heartbeats, and the slow-client
 * rule. Every write goes through `send`, which never lets one client's
 * buffer grow past the limit.
 */
/** How long a positive answer of `stillAuthorized` stands before a write asks again. */
const AUTHORIZATION_RECHECK_MS = 1_000;

export class SseConnection {
  private closed = false;
  /** When `stillAuthorized` last said yes (performance.now); the stream was authorized as it opened. */
  private authorizedAt = performance.now();
  /** Frames sent in this turn of the event loop, written together at its end (see send). */
  private queued = '';
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    req: Request,
    private readonly res: Response,
    private readonly options: SseOptions,
  ) {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // Reverse proxies (nginx) would otherwise hold events back.
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    res.socket?.setNoDelay(true);
    // Only an idle stream needs a heartbeat; one with data still waiting is not idle.
    this.heartbeat = setInterval(() => {
      if (this.recheck() && res.writableLength === 0) this.send(': heartbeat\n\n');
    }, options.heartbeatMs);
    this.heartbeat.unref();
    req.once('close', () => this.close());
    res.once('close', () => this.close());
  }

  /** Closes the stream if its request's credentials no longer hold; whether they do. */
  recheck(): boolean {
    if (this.options.stillAuthorized?.() !== false) return true;
    this.close();
    return false;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queues one or more frames; false when the stream is closed (now or
   * because the client fell too far behind). What is sent in one turn of
   * the event loop — the lines of one read of a CLI's pipe — reaches the
   * socket as one write at the end of the turn, not one write per line.
   */
  send(frames: string): boolean {
    if (this.closed) return false;
    if (this.queued === '') queueMicrotask(() => this.write());
    this.queued += frames;
    return true;
  }

  /** Writes what is queued, unless the client has fallen too far behind — then it is dropped. */
  private write(): void {
    if (this.closed || this.queued === '') return;
    const frames = this.queued;
    this.queued = '';
    if (this.res.writableLength > this.options.maxBufferedBytes) {
      this.abort();
      return;
    }
    // Events come far more often than heartbeats: credentials that lapsed in between (a session's cookie expiring) must not
    // receive events for long. Asked at most once a second (a key check hashes twice: per write, 500 watchers of one
    // execution paid it 500 times a line); a sign-out and a key rotation end their streams at once (closeUnauthorized).
    const now = performance.now();
    if (now - this.authorizedAt >= AUTHORIZATION_RECHECK_MS) {
      if (!this.recheck()) return;
      this.authorizedAt = now;
    }
    // Encoded here, once: handed a string, the response measures its UTF-8 length for the chunk header and the socket then
    // encodes it — two passes over every frame.
    this.res.write(Buffer.from(frames));
  }

  /**
   * Resolves when the socket has taken what was written, or the stream closed.
   * A client that takes nothing for the stall timeout is dropped (it resumes by id).
   */
  drained(): Promise<void> {
    this.write();
    if (this.closed || this.res.writableLength === 0 || !this.res.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.abort(), this.options.stallTimeoutMs ?? 30_000);
      const done = () => {
        clearTimeout(timer);
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.once('drain', done);
      this.res.once('close', done);
    });
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Ends the stream after what was written reaches the client. */
  close(): void {
    if (this.closed) return;
    this.write();
    // Writing what was queued may have dropped a client that fell behind, which closed it.
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    if (!this.res.writableEnded) this.res.end();
    for (const listener of this.closeListeners.splice(0)) listener();
  }

  /**
   * Drops a client that fell behind: the connection is destroyed, not ended —
   * ending would keep everything still buffered for it in memory until it
   * reads, which it is not doing.
   */
  private abort(): void {
    this.close();
    this.res.destroy();
  }
}

/**
 * Every open event stream, so shutdown can end them (an open stream would
 * otherwise hold the HTTP server open until its grace period runs out).
 */
export class SseRegistry {
  private readonly open = new Set<SseConnection>();

  add(connection: SseConnection): void {
    this.open.add(connection);
    connection.onClose(() => this.open.delete(connection));
  }

  get size(): number {
    return this.open.size;
  }

  /** Ends every stream whose credentials no longer hold (the API key was just rotated). */
  closeUnauthorized(): void {
    for (const connection of [...this.open]) connection.recheck();
  }

  dispose(): void {
    for (const connection of [...this.open]) connection.close();
  }
}

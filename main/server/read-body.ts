import type { IncomingMessage } from 'node:http';

/** The sender hung up (or the connection failed) before the body ended. */
export class BodyNotReceivedError extends Error {
  constructor() {
    super('the sender hung up before the body ended');
    this.name = 'BodyNotReceivedError';
  }
}

/**
 * Reads a request's whole body as bytes, as sent (signatures are over the
 * exact bytes). Resolves null once the body is longer than `limit`, declared
 * or streamed: nothing more is kept, and the rest is read and dropped so that
 * an answer (413) can go out. Rejects with BodyNotReceivedError when the
 * sender hangs up first.
 */
export function readBodyWithin(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume();
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', () => reject(new BodyNotReceivedError()));
    req.on('close', () => {
      if (!req.complete) reject(new BodyNotReceivedError());
    });
  });
}

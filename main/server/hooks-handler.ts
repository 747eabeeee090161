import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeliveryIngest } from '../triggers/delivery-ingest.js';
import { ApiError, toApiError } from './errors.js';
import type { RequestContext } from './middleware/request-id.js';
import { readBodyWithin } from './read-body.js';

const TRIGGER_ID = /^trg_[A-Za-z0-9_-]{1,64}$/;

/** The delivery's raw bytes; 413 past `limit`, 400 when the sender hangs up first. */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const body = await readBodyWithin(req, limit).catch(() => {
    throw new ApiError('ERR_BAD_REQUEST');
  });
  if (body === null) throw new ApiError('ERR_BODY_TOO_LARGE');
  return body;
}

/** Answers JSON, with the headers the request context still holds (flat pairs, so Node takes them without a setHeader each). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: readonly string[] = []): void {
  const text = JSON.stringify(body);
  res.writeHead(status, [
    ...headers,
    'Content-Type',
    'application/json; charset=utf-8',
    'Content-Length',
    String(Buffer.byteLength(text)),
    'Cache-Control',
    'no-store',
  ]);
  res.end(text);
}

/**
 * `POST /hooks/:triggerId`: reads the raw bytes (signatures are over exact
 * bytes), hands them to the ingest, and answers with its verdict. Plain
 * node:http, so the same handler serves through Express and through the
 * server's fast path for webhooks.
 */
export function createHookHandler(deps: { ingest: DeliveryIngest; maxHookBodyBytes: number }) {
  return async (req: IncomingMessage & RequestContext, res: ServerResponse, triggerId: string): Promise<void> => {
    try {
      if (!TRIGGER_ID.test(triggerId)) throw new ApiError('ERR_TRIGGER_NOT_FOUND');
      const body = await readBody(req, deps.maxHookBodyBytes);
      const answer = await deps.ingest.receive(triggerId, req.headers, body, req.log);
      req.logFields = answer.logFields;
      sendJson(res, answer.status, answer.body, req.responseHeaders);
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.status >= 500) req.log.error('delivery failed', { err: error, trigger_id: triggerId });
      if (!res.headersSent) sendJson(res, apiError.status, apiError.toBody(req.requestId), req.responseHeaders);
      // A body over the limit is not read to its end: close rather than drain it.
      if (apiError.code === 'ERR_BODY_TOO_LARGE') res.once('finish', () => req.destroy());
    }
  };
}

export type HookHandler = ReturnType<typeof createHookHandler>;

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The headers a middleware that only sets fixed headers (helmet, configured
 * once) puts on every response, as flat name/value pairs: run once against a
 * recorder, so the fast path writes the same headers without running it.
 */
export function fixedHeadersOf(middleware: Middleware): string[] {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => headers.set(name, Array.isArray(value) ? value.join(', ') : String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  let called = false;
  middleware({ headers: {} } as IncomingMessage, recorder as unknown as ServerResponse, () => (called = true));
  if (!called) throw new Error('a fixed-headers middleware must only set headers and call next');
  return [...headers].flat();
}

/**
 * Webhook deliveries are the one hot path (a busy repository sends bursts):
 * a plain `POST /hooks/<id>` skips Express's router and runs only what every
 * request gets anyway — request id and access log, the Host allowlist, CORS — then
 * the same handler Express would call, which writes the security headers
 * (recorded once, see fixedHeadersOf) with its answer. Anything unusual (a
 * query string, a trailing slash) still goes through Express.
 */
export function hookFastPath(handle: HookHandler, middleware: readonly Middleware[], securityHeaders: readonly string[]) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'POST' || !req.url?.startsWith('/hooks/')) return false;
    const match = /^\/hooks\/([A-Za-z0-9_-]+)$/.exec(req.url);
    if (!match) return false;
    let failed: unknown;
    (req as IncomingMessage & RequestContext).responseHeaders = [...securityHeaders];
    for (const step of middleware) {
      let advanced = false;
      step(req, res, (error?: unknown) => {
        advanced = true;
        failed = error;
      });
      // Every step here is synchronous; one that did not call next has answered.
      if (!advanced || failed !== undefined) break;
    }
    const withContext = req as IncomingMessage & RequestContext;
    if (failed !== undefined) {
      const apiError = toApiError(failed);
      sendJson(res, apiError.status, apiError.toBody(withContext.requestId), withContext.responseHeaders);
      return true;
    }
    void handle(withContext, res, match[1]!);
    return true;
  };
}

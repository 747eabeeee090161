import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../telemetry/logger.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request fields this middleware sets; Express's Request declares them too (express.d.ts). */
export interface RequestContext {
  requestId: string;
  log: Logger;
  auth?: { method: string };
  /** Ids a handler adds to the access-log line (trigger_id, execution_id …), instead of logging a line of its own. */
  logFields?: Record<string, unknown>;
  /**
   * Response headers not yet set on the response, as flat name/value pairs, for the handler to
   * write with its status (the webhook fast path: one writeHead instead of a setHeader each).
   */
  responseHeaders?: string[];
}

/**
 * Takes X-Request-Id from the request when it is short, made of safe
 * characters and no secret (it ends up in logs), otherwise makes one; echoes
 * it and binds a child logger to it. Also writes one access-log line per request. Plain
 * node:http types, so the webhook fast path runs it too (`deferHeader`: the
 * id goes to `responseHeaders`, written with the answer).
 */
export function requestContext(logger: Logger, options: { deferHeader?: boolean } = {}) {
  return (req: IncomingMessage & Partial<RequestContext>, res: ServerResponse, next: (error?: unknown) => void): void => {
    const offered = req.headers['x-request-id'];
    // A secret sent as the id (the key pasted into the wrong header) would be masked in the logs, but not in the audit log that stores the id.
    const sane = typeof offered === 'string' && SANE_REQUEST_ID.test(offered) && logger.redactor.scrub(offered) === offered;
    const requestId = sane ? offered : crypto.randomUUID();
    const log = logger.child({ request_id: requestId });
    req.requestId = requestId;
    req.log = log;
    if (options.deferHeader) (req.responseHeaders ??= []).push('X-Request-Id', requestId);
    else res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    // 'close' comes after the answer ended and also when the client left first (a closed event stream, a sender that timed out), which 'finish' never saw.
    res.once('close', () => {
      log.info('request', {
        method: req.method,
        // The path only: a query string can carry a one-time login token.
        path: (req.url ?? '/').split('?')[0],
        status: res.statusCode,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        auth: req.auth?.method,
        ...(res.writableFinished ? {} : { aborted: true }),
        ...req.logFields,
      });
    });
    next();
  };
}

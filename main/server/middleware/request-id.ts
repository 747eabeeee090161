import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from '../../telemetry/logger.js';

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Takes X-Request-Id from the request when it is short and made of safe
 * characters (it ends up in logs), otherwise makes one; echoes it and binds a
 * child logger to it. Also writes one access-log line per request.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const offered = req.get('x-request-id');
    const requestId = offered !== undefined && SANE_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
    req.requestId = requestId;
    req.log = logger.child({ request_id: requestId });
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The path only: a query string can carry a one-time login token.
      req.log.info('request', {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        duration_ms: Number(process.hrtime.bigint() - started) / 1e6,
        auth: req.auth?.method,
      });
    });
    next();
  };
}

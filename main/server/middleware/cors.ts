import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from '../errors.js';

const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE';
const ALLOWED_HEADERS = 'Authorization, X-API-Key, Content-Type, X-Request-Id, Last-Event-ID';

/**
 * CORS that fails closed: no Access-Control-* header at all unless the Origin
 * is listed in AGENTED_CORS_ORIGINS. A preflight from an unlisted origin gets
 * a 403 without allow headers, so the browser blocks the real request. Plain
 * node:http types, so the webhook fast path runs it too.
 */
export function cors(allowedOrigins: readonly string[]) {
  const origins = new Set(allowedOrigins);
  return (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const origin = req.headers.origin;
    const listed = origin !== undefined && origins.has(origin);
    // Nothing before this step sets Vary, so there is nothing to append to.
    if (origin !== undefined) res.setHeader('Vary', 'Origin');
    if (listed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id');
    }
    const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!isPreflight) {
      next();
      return;
    }
    if (!listed) {
      next(new ApiError('ERR_ORIGIN_NOT_ALLOWED', 'This origin is not listed in AGENTED_CORS_ORIGINS.'));
      return;
    }
    res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.statusCode = 204;
    res.end();
  };
}

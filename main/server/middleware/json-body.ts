import express, { type RequestHandler } from 'express';
import { ApiError } from '../errors.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON bodies only, within the size limit, valid UTF-8 (body-parser would
 * otherwise turn bad bytes into U+FFFD and let them through), and without a
 * `__proto__` key.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.is('application/json')) {
      next(new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE'));
      return;
    }
    next();
  };
  const parse = express.json({
    limit: limitBytes,
    strict: true,
    type: 'application/json',
    // zod drops a `__proto__` key unseen (a record then looks empty, and replaced a stored price table
    // with nothing): no body may carry one, at any depth.
    reviver: (key: string, value: unknown) => {
      if (key === '__proto__') throw new SyntaxError('a key named "__proto__" is not accepted');
      return value;
    },
    verify: (_req, _res, buffer) => {
      try {
        strictUtf8.decode(buffer);
      } catch {
        throw new ApiError('ERR_BAD_ENCODING');
      }
    },
  });
  return [requireJson, parse];
}

import type { Request, RequestHandler } from 'express';
import { ApiError } from '../errors.js';
import type { RouteAuth } from '../route.js';
import { SessionCookies, timingSafeEqualStrings } from '../session.js';

export interface AuthDependencies {
  apiKey: () => string;
  sessions: SessionCookies;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The key a request presents, Bearer or X-API-Key; '' (no key matches it) for a malformed Authorization, or two different keys. */
export function presentedKey(req: Request): string | undefined {
  const authorization = req.get('authorization');
  const header = req.get('x-api-key');
  if (authorization === undefined) return header;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? '';
  // Neither of two different keys is taken: a wrong one is never silently passed over.
  return header === undefined || header === bearer ? bearer : '';
}

export function sessionCookie(req: Request): string | undefined {
  const header = req.get('cookie');
  if (header === undefined) return undefined;
  const name = SessionCookies.nameFor(req.socket.localPort ?? 0);
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index > 0 && part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

/**
 * Whether the credentials that authenticated a request still hold: the key it
 * presented is still the key, or its session cookie is still valid (not
 * signed out, not ended by a key rotation, not expired). A long-lived request
 * (an event stream) asks again while it runs.
 */
export function stillAuthenticated(req: Request, deps: AuthDependencies): boolean {
  if (req.auth?.method === 'key') return timingSafeEqualStrings(presentedKey(req) ?? '', deps.apiKey());
  if (req.auth?.method === 'cookie') {
    const cookie = sessionCookie(req);
    return cookie !== undefined && deps.sessions.verify(cookie) !== null;
  }
  return false;
}

/**
 * The key (Bearer or X-API-Key, compared in constant time) or the session
 * cookie. A presented key that is wrong is a 401 even if a cookie would have
 * passed: credentials are never silently ignored. Cookie-authenticated
 * state-changing requests must come from our own origin (CSRF defence on top
 * of SameSite=Strict).
 */
export function authenticate(auth: RouteAuth, deps: AuthDependencies, publicRequest?: (req: Request) => boolean): RequestHandler {
  return (req, _res, next) => {
    // A public request of the app shell looks at no credentials: a stale
    // cookie must not keep the login page from loading.
    if (auth === 'public' || auth === 'signature' || (auth === 'shell' && publicRequest?.(req) === true)) {
      next();
      return;
    }
    const key = presentedKey(req);
    if (key !== undefined) {
      if (!timingSafeEqualStrings(key, deps.apiKey())) {
        next(new ApiError('ERR_UNAUTHORIZED', 'The API key is not valid.'));
        return;
      }
      req.auth = { method: 'key' };
      next();
      return;
    }
    const cookie = sessionCookie(req);
    const session = cookie === undefined ? null : deps.sessions.verify(cookie);
    if (session !== null) {
      if (STATE_CHANGING.has(req.method) && !isSameOrigin(req)) {
        next(new ApiError('ERR_ORIGIN_NOT_ALLOWED', 'Cookie-authenticated changes must come from the Agented page itself.'));
        return;
      }
      req.auth = { method: 'cookie', session };
      next();
      return;
    }
    if (auth === 'login') {
      // The login route checks its own one-time token.
      next();
      return;
    }
    next(
      new ApiError(
        'ERR_UNAUTHORIZED',
        cookie === undefined ? undefined : 'The session has expired, was ended or is not valid. Open a new login link (agented serve prints one).',
      ),
    );
  };
}

function isSameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  const fetchSite = req.get('sec-fetch-site');
  if (fetchSite !== undefined && fetchSite !== 'same-origin') return false;
  return origin !== undefined && origin === `http://${req.get('host')}`;
}

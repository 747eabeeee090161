import type { Request, Response } from 'express';
import { LoginQuery, Session } from '../../../common/api.js';
import { ErrorBody } from '../../../common/errors.js';
import { ApiError } from '../errors.js';
import { sessionCookie } from '../middleware/authenticate.js';
import { defineRoute, type Route } from '../route.js';
import { SessionCookies, type LoginTokens } from '../session.js';

export interface SessionDependencies {
  sessions: SessionCookies;
  loginTokens: LoginTokens;
}

/**
 * Sets the session cookie: a renewal of the caller's session when a cookie
 * authenticated the request (same session, so the 30-day bound and a logout
 * still apply to it), otherwise a new session.
 */
export function setSessionCookie(req: Request, res: Response, sessions: SessionCookies): Session {
  const { value, session } = sessions.create(req.auth?.session);
  res.cookie(SessionCookies.nameFor(req.socket.localPort ?? 0), value, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    expires: session.expiresAt,
    secure: req.secure,
  });
  return { authenticated: true, expiresAt: session.expiresAt.toISOString() };
}

export function sessionRoutes(deps: SessionDependencies): Route[] {
  return [
    defineRoute({
      method: 'get',
      path: '/auth/login',
      auth: 'login',
      tag: 'session',
      summary: 'One-time login link: trades a token (valid once, for a few minutes) for a session cookie, then redirects to the UI.',
      query: LoginQuery,
      responses: {
        303: { description: 'Cookie set; redirect to /' },
        401: { description: 'Token unknown, used or expired', schema: ErrorBody },
      },
      handler: ({ req, res, query }) => {
        const tokenAccepted = query.token !== undefined && deps.loginTokens.consume(query.token);
        if (!tokenAccepted && req.auth === undefined) throw new ApiError('ERR_LOGIN_TOKEN_INVALID');
        if (tokenAccepted) req.auth = { method: 'login-token' };
        setSessionCookie(req, res, deps.sessions);
        res.setHeader('Cache-Control', 'no-store');
        res.redirect(303, '/');
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/session',
      auth: 'key',
      tag: 'session',
      summary: 'Whether the caller is authenticated, and until when (for a cookie).',
      responses: { 200: { description: 'Authenticated', schema: Session }, 401: { description: 'Not authenticated', schema: ErrorBody } },
      handler: ({ req }): Session => ({
        authenticated: true,
        expiresAt: (req.auth?.session?.expiresAt ?? new Date(Date.now() + deps.sessions.ttlSeconds * 1000)).toISOString(),
      }),
    }),
    defineRoute({
      method: 'post',
      path: '/api/session',
      auth: 'key',
      tag: 'session',
      summary:
        'Starts a browser session (send the API key as a Bearer header, get the cookie) or renews the caller\'s: a renewal never expires later than 30 days after the login that started the session.',
      successStatus: 201,
      responses: { 201: { description: 'Cookie set', schema: Session }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ req, res }): Session => setSessionCookie(req, res, deps.sessions),
    }),
    defineRoute({
      method: 'delete',
      path: '/api/session',
      auth: 'key',
      tag: 'session',
      summary: 'Logs out: ends the session of the cookie sent on the server (no copy of it works any more) and clears the cookie.',
      responses: { 204: { description: 'Session ended, cookie cleared' }, 401: { description: 'No valid key', schema: ErrorBody } },
      handler: ({ req, res }) => {
        // The cookie sent is the one to end, even when a key authenticated the request.
        const cookie = sessionCookie(req);
        const session = req.auth?.session ?? (cookie === undefined ? null : deps.sessions.verify(cookie));
        if (session) deps.sessions.revoke(session);
        res.clearCookie(SessionCookies.nameFor(req.socket.localPort ?? 0), { path: '/', httpOnly: true, sameSite: 'strict' });
        res.status(204).end();
      },
    }),
  ];
}

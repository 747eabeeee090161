import { Empty, KeyRotated } from '../../../common/api.js';
import { ErrorBody } from '../../../common/errors.js';
import type { LiveCredentials } from '../../secrets/live-credentials.js';
import type { AuditRepository } from '../../storage/audit-repository.js';
import { ApiError } from '../errors.js';
import { defineRoute, type Route } from '../route.js';
import type { SessionCookies } from '../session.js';
import { setSessionCookie } from './session.js';
import { actorOf } from './triggers.js';

export interface KeyRouteDependencies {
  credentials: LiveCredentials;
  audit: AuditRepository;
  sessions: SessionCookies;
  /** Called once the key is rotated: the event streams opened with the old key or a session of it end now. */
  rotated?: () => void;
}

/** The API key, rotated in process (docs/decisions.md, "Key rotation"). The key itself is never in an answer. */
export function keyRoutes(deps: KeyRouteDependencies): Route[] {
  return [
    defineRoute<Record<string, never>, Record<string, never>, Record<string, never>>({
      method: 'post',
      path: '/api/key/rotate',
      auth: 'key',
      tag: 'session',
      summary:
        'Replaces the API key in the OS keychain; the running server accepts only the new key from now on (`agented key show` prints it, the answer never does). Every browser session ends with the old key, except the caller\'s: a cookie-authenticated call gets a fresh cookie. Webhooks are not affected.',
      body: Empty,
      responses: {
        200: { description: 'Rotated; the old key and every session cookie are refused from now on (a cookie caller gets a new cookie)', schema: KeyRotated },
        400: { description: 'A body other than an empty object', schema: ErrorBody },
        401: { description: 'No valid key', schema: ErrorBody },
        403: { description: 'A cookie-authenticated request from another origin', schema: ErrorBody },
        409: { description: 'The key comes from AGENTED_API_KEY; nothing was rotated', schema: ErrorBody },
        503: { description: 'The keychain cannot be used; nothing was changed', schema: ErrorBody },
      },
      handler: async ({ req, res, log }): Promise<KeyRotated> => {
        if (deps.credentials.source === 'environment') throw new ApiError('ERR_KEY_FROM_ENVIRONMENT');
        const rotatedAt = await deps.credentials.rotate();
        // Cookies are signed with a key that follows the API key, so every session just ended. The
        // browser that asked (the Settings page) keeps its session: the same one, under the new key.
        if (req.auth?.session) setSessionCookie(req, res, deps.sessions);
        deps.rotated?.();
        const { actor, requestId } = actorOf(req);
        deps.audit.record({ action: 'key.rotated', actor, requestId, targetId: null }, rotatedAt);
        log.info('API key rotated; the old key is refused from now on', { actor });
        return { rotated: true, rotatedAt: rotatedAt.toISOString() };
      },
    }),
  ];
}

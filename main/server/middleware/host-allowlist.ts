import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.js';

/** Host name of a Host header value, lower-cased, without the port; null when malformed. */
export function hostnameOf(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostHeader);
  return match ? match[1]!.toLowerCase() : null;
}

/**
 * DNS-rebinding defence: a page on evil.example whose name is re-pointed at
 * 127.0.0.1 still sends `Host: evil.example`. Runs before anything else, on
 * every route, including the public ones.
 */
export function hostAllowlist(allowed: readonly string[]) {
  const names = new Set(allowed.map((name) => name.toLowerCase()));
  return (req: IncomingMessage, _res: unknown, next: (error?: unknown) => void): void => {
    const hostname = hostnameOf(req.headers.host);
    if (hostname === null || !names.has(hostname)) {
      next(new ApiError('ERR_HOST_NOT_ALLOWED'));
      return;
    }
    next();
  };
}

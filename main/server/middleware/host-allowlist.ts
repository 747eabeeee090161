import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.js';

/** Host name of a Host header value, lower-cased, without the port; null when malformed. */
export function hostnameOf(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(hostHeader);
  return match ? match[1]!.toLowerCase() : null;
}

/**
 * The host names a request is for, null when malformed: its one Host header, and
 * the authority of an absolute-form target (`GET http://evil.example/ HTTP/1.1`),
 * which RFC 9112 §3.2.2 has a server go by instead of Host (both are checked:
 * a browser never sends two that differ). Node keeps only the first of two Host
 * headers, where a proxy in front may go by the second: two are malformed (§3.2).
 */
function requestedHostnames(req: IncomingMessage): string[] | null {
  let hostHeaders = 0;
  // Every request passes here (webhooks too): names are compared by length first, and only a target not starting with / is parsed.
  for (let index = 0; index < req.rawHeaders.length; index += 2) {
    const name = req.rawHeaders[index]!;
    if (name.length === 4 && name.toLowerCase() === 'host') hostHeaders++;
  }
  const host = hostHeaders === 1 ? hostnameOf(req.headers.host) : null;
  const url = req.url ?? '';
  const absoluteTarget = url.startsWith('/') ? null : /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url);
  const authority = absoluteTarget ? hostnameOf(absoluteTarget[1]) : host;
  return host === null || authority === null ? null : [host, authority];
}

/**
 * DNS-rebinding defence: a page on evil.example whose name is re-pointed at
 * 127.0.0.1 still sends `Host: evil.example`. Runs before anything else, on
 * every route, including the public ones.
 */
export function hostAllowlist(allowed: readonly string[]) {
  const names = new Set(allowed.map((name) => name.toLowerCase()));
  return (req: IncomingMessage, _res: unknown, next: (error?: unknown) => void): void => {
    const hostnames = requestedHostnames(req);
    if (hostnames === null || !hostnames.every((name) => names.has(name))) {
      next(new ApiError('ERR_HOST_NOT_ALLOWED'));
      return;
    }
    next();
  };
}

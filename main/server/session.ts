import crypto from 'node:crypto';
import type { Disposable } from '../lifecycle/disposables.js';

function sha256(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

/**
 * One-time login tokens (the Jupyter-style link printed by `agented serve`).
 * Only a hash of each token is kept, in memory: a token works once, until it
 * expires, and never outlives the worker that issued it.
 */
export class LoginTokens {
  private readonly pending = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  issue(): string {
    this.prune();
    const token = crypto.randomBytes(24).toString('base64url');
    this.pending.set(sha256(token), this.now() + this.ttlMs);
    return token;
  }

  /** True exactly once per valid, unexpired token. */
  consume(token: string): boolean {
    const key = sha256(token);
    const expiresAt = this.pending.get(key);
    this.pending.delete(key);
    return expiresAt !== undefined && expiresAt > this.now();
  }

  private prune(): void {
    const now = this.now();
    for (const [key, expiresAt] of this.pending) if (expiresAt <= now) this.pending.delete(key);
  }
}

/** However often it is renewed, a session ends this long after the login that started it; then a new login link is needed. */
export const SESSION_MAX_LIFETIME_SECONDS = 30 * 24 * 3600;

/** One browser session, as its cookie states it. Renewals keep the id and the start, so they stay one session. */
export interface BrowserSession {
  id: string;
  startedAt: Date;
  expiresAt: Date;
}

/** Sessions ended before their cookies expire (a logout). Kept in SQLite by the worker, so a restart does not bring them back. */
export interface SessionRevocations {
  isRevoked(id: string): boolean;
  /** `until` (ms): no cookie of the session can be valid after it, so the entry may be forgotten then. */
  revoke(id: string, until: number, now: number): void;
}

/** Forgets everything with the process: for tests and tools that need no durable logout. */
export class InMemorySessionRevocations implements SessionRevocations {
  private readonly revoked = new Map<string, number>();
  isRevoked(id: string): boolean {
    return this.revoked.has(id);
  }
  revoke(id: string, until: number): void {
    this.revoked.set(id, until);
  }
}

/**
 * Session cookies: `v2.<expires>.<started>.<id>.<hmac>`, signed with a key
 * derived from the session secret and the API key (LiveCredentials.cookieKey),
 * so a key rotation ends every session. A cookie is checked by its signature
 * and times, then by one primary-key look-up among the revoked sessions. A
 * renewal keeps `started`, and no cookie expires later than
 * SESSION_MAX_LIFETIME_SECONDS after it: a leaked cookie cannot renew itself
 * for ever. The v1 cookies (no start, signed without the key) are refused:
 * their browsers sign in again once.
 */
export class SessionCookies {
  private readonly revokedListeners = new Set<(id: string) => void>();

  constructor(
    private readonly secret: () => Buffer,
    readonly ttlSeconds: number,
    private readonly revocations: SessionRevocations = new InMemorySessionRevocations(),
    private readonly now: () => number = Date.now,
  ) {}

  /** Cookies ignore ports, so two instances on one host each get their own name. */
  static nameFor(port: number): string {
    return `agented_session_${port}`;
  }

  /** A cookie for a new session, or a renewal of `continuing` (same id and start, a later expiry within the bound). */
  create(continuing?: BrowserSession): { value: string; session: BrowserSession } {
    const now = Math.floor(this.now() / 1000);
    const started = continuing ? Math.floor(continuing.startedAt.getTime() / 1000) : now;
    const id = continuing?.id ?? crypto.randomBytes(12).toString('base64url');
    const expires = Math.min(now + this.ttlSeconds, started + SESSION_MAX_LIFETIME_SECONDS);
    const payload = `v2.${expires}.${started}.${id}`;
    return { value: `${payload}.${this.sign(payload)}`, session: { id, startedAt: new Date(started * 1000), expiresAt: new Date(expires * 1000) } };
  }

  /** The session of a valid, unexpired, unrevoked cookie, or null. */
  verify(value: string): BrowserSession | null {
    const match = /^(v2\.(\d{1,12})\.(\d{1,12})\.([A-Za-z0-9_-]{16}))\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return null;
    const [, payload, expires, started, id, signature] = match as unknown as [string, string, string, string, string, string];
    if (!timingSafeEqualStrings(signature, this.sign(payload))) return null;
    const session = { id, startedAt: new Date(Number(started) * 1000), expiresAt: new Date(Number(expires) * 1000) };
    if (session.expiresAt.getTime() <= this.now() || Number(expires) > Number(started) + SESSION_MAX_LIFETIME_SECONDS) return null;
    return this.revocations.isRevoked(id) ? null : session;
  }

  /** Ends the session on the server: every cookie of it (renewals included) is refused from now on. */
  revoke(session: BrowserSession): void {
    this.revocations.revoke(session.id, session.startedAt.getTime() + SESSION_MAX_LIFETIME_SECONDS * 1000, this.now());
    for (const listener of [...this.revokedListeners]) listener(session.id);
  }

  /** Calls `listener` with the id of each session ended by `revoke`, so what it holds open (its event streams) can end with it. */
  onRevoked(listener: (id: string) => void): Disposable {
    this.revokedListeners.add(listener);
    return {
      dispose: () => {
        this.revokedListeners.delete(listener);
      },
    };
  }

  private sign(payload: string): string {
    return crypto.createHmac('sha256', this.secret()).update(payload).digest('base64url');
  }
}

/** Constant-time comparison of two strings of any length (both are hashed first). */
export function timingSafeEqualStrings(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

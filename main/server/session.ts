import crypto from 'node:crypto';

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

/**
 * Stateless session cookies: `v1.<expires>.<nonce>.<hmac>`, signed with the
 * session secret from the keychain. Rotating that secret ends every session.
 */
export class SessionCookies {
  constructor(
    private readonly secret: () => Buffer,
    readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Cookies ignore ports, so two instances on one host each get their own name. */
  static nameFor(port: number): string {
    return `agented_session_${port}`;
  }

  create(): { value: string; expiresAt: Date } {
    const expires = Math.floor(this.now() / 1000) + this.ttlSeconds;
    const payload = `v1.${expires}.${crypto.randomBytes(12).toString('base64url')}`;
    return { value: `${payload}.${this.sign(payload)}`, expiresAt: new Date(expires * 1000) };
  }

  /** Returns the expiry of a valid cookie, or null. */
  verify(value: string): Date | null {
    const match = /^(v1\.(\d{1,12})\.[A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]{43})$/.exec(value);
    if (!match) return null;
    const [, payload, expires, signature] = match as unknown as [string, string, string, string];
    if (!timingSafeEqualStrings(signature, this.sign(payload))) return null;
    const expiresAt = new Date(Number(expires) * 1000);
    return expiresAt.getTime() > this.now() ? expiresAt : null;
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

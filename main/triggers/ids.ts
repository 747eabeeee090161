import crypto from 'node:crypto';

/** Opaque ids with a type prefix (`trg_…`, `exe_…`, `dlv_…`): readable in logs, unguessable in URLs. */
export function newId(prefix: 'trg' | 'exe' | 'dlv'): string {
  // randomUUID draws from a cached entropy pool: much cheaper per id than randomBytes on the webhook hot path.
  return `${prefix}_${Buffer.from(crypto.randomUUID().replaceAll('-', ''), 'hex').toString('base64url')}`;
}

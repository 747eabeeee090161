import crypto from 'node:crypto';

/** Opaque ids with a type prefix (`trg_…`, `exe_…`, `dlv_…`): readable in logs, unguessable in URLs. */
export function newId(prefix: 'trg' | 'exe' | 'dlv'): string {
  return `${prefix}_${crypto.randomBytes(12).toString('base64url')}`;
}

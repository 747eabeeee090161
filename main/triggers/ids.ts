import { pooledRandomBytes } from './random.js';

/**
 * Opaque ids with a type prefix (`trg_…`, `exe_…`, `dlv_…`): readable in
 * logs, unguessable in URLs (80 random bits), and ordered by creation time (a
 * 48-bit millisecond prefix) so SQLite appends to its id indexes instead of
 * dirtying a random page per insert.
 */
export function newId(prefix: 'trg' | 'exe' | 'dlv' | 'acc' | 'bud' | 'ntf'): string {
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  pooledRandomBytes(10).copy(bytes, 6);
  return `${prefix}_${bytes.toString('base64url')}`;
}

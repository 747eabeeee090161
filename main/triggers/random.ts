import crypto from 'node:crypto';

let pool = Buffer.alloc(0);
let offset = 0;

/**
 * Cryptographically random bytes from a pooled buffer: one getrandom call per
 * 4 KiB instead of one per id or nonce on the webhook hot path. The returned
 * bytes are never handed out twice.
 */
export function pooledRandomBytes(count: number): Buffer {
  if (count > 256) return crypto.randomBytes(count);
  if (offset + count > pool.length) {
    pool = crypto.randomBytes(4096);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + count));
  offset += count;
  return bytes;
}

import { randomBytes, randomFillSync } from 'node:crypto';

/**
 * Small random values (ids, AES-GCM IVs, request ids) from a pool filled 4 KiB at a time by
 * the CSPRNG. Each `randomBytes` call costs a trip into OpenSSL (a few µs) whatever its size,
 * and a send used six of them; `crypto.randomUUID` and `crypto.randomInt` cache the same way.
 * Every byte is handed out once: the pool moves on and is refilled when used up.
 */
const poolSize = 4096;
/** Larger requests go straight to the CSPRNG. */
const maxPooled = 64;
const pool = Buffer.allocUnsafeSlow(poolSize);
let offset = poolSize;

/** `size` fresh random bytes (a new Buffer, owned by the caller). */
export function pooledRandomBytes(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0) throw new RangeError('size must be a non-negative integer');
  if (size > maxPooled) return randomBytes(size);
  if (offset + size > poolSize) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.allocUnsafe(size);
  pool.copy(out, 0, offset, offset + size);
  // Handed-out bytes do not stay behind in the pool.
  pool.fill(0, offset, offset + size);
  offset += size;
  return out;
}

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The stored form of a one-time code: HMAC-SHA256 under the server key over
 * `${challengeId}:${code}`, base64url (43 chars). Binding the challenge id means a hash
 * copied onto another challenge does not verify there.
 * @param key the server's HMAC key (≥ 32 random bytes expected; an empty key throws)
 */
export function hmacCode(key: Buffer, challengeId: string, code: string): string {
  if (key.length === 0) throw new RangeError('HMAC key must not be empty');
  return createHmac('sha256', key).update(`${challengeId}:${code}`, 'utf8').digest('base64url');
}

/**
 * Compares two strings (as UTF-8 bytes) in time independent of their content. Different
 * lengths answer false, after a comparison of equal cost, so the length alone leaks — never
 * where the first difference is.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  if (left.length !== right.length) {
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}

/** SHA-256 of the UTF-8 bytes of `value`, lowercase hex (64 chars); how API keys are stored. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

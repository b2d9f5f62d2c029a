import { createHmac, hash, timingSafeEqual } from 'node:crypto';

/** What a code is bound to besides its challenge (PSD2 dynamic linking). */
export interface CodeBinding {
  amount?: string | undefined;
  payee?: string | undefined;
}

/**
 * The stored form of a one-time code: HMAC-SHA256 under the server key over
 * `${challengeId}:${code}`, base64url (43 chars). Binding the challenge id means a hash
 * copied onto another challenge does not verify there. With an amount or a payee, a newline
 * and `JSON.stringify([amount, payee])` (null for a missing one) follow, so the same code
 * with another amount or payee gives another hash; without either the input is as before,
 * so codes stored earlier still verify.
 * @param key the server's HMAC key (≥ 32 random bytes expected; an empty key throws)
 */
export function hmacCode(key: Buffer, challengeId: string, code: string, binding?: CodeBinding): string {
  if (key.length === 0) throw new RangeError('HMAC key must not be empty');
  let input = `${challengeId}:${code}`;
  if (binding && (binding.amount !== undefined || binding.payee !== undefined)) {
    input += `\n${JSON.stringify([binding.amount ?? null, binding.payee ?? null])}`;
  }
  return createHmac('sha256', key).update(input, 'utf8').digest('base64url');
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
  // The one-shot form makes no Hash object and costs about a third as much; every API key goes through it.
  return hash('sha256', value, 'hex');
}

/** What a hashed phone number starts with in a row: never the start of an E.164 number (`+`). */
export const HASHED_PHONE_PREFIX = 'h:';

/**
 * The keyed hash that replaces a phone number in rows kept past `OTPGATE_PHONE_RETENTION_DAYS`:
 * `h:` + HMAC-SHA256 under the phone key over `${tenantId}:${e164}`, base64url. The tenant is
 * in the input, so the same number gives unrelated values in two tenants; without the key the
 * value cannot be tested against a guessed number (the number space is small enough to walk).
 */
export function hashPhone(key: Buffer, tenantId: string, e164: string): string {
  if (key.length === 0) throw new RangeError('HMAC key must not be empty');
  return HASHED_PHONE_PREFIX + createHmac('sha256', key).update(`${tenantId}:${e164}`, 'utf8').digest('base64url');
}

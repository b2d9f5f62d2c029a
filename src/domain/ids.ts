import { randomBytes } from 'node:crypto';
import { pooledRandomBytes } from './random-pool.js';

/**
 * Prefixes of every id otpgate hands out (unkey style: the prefix says what the id names).
 * ten tenant · key API key · chl OTP challenge · msg outbound message · att delivery attempt ·
 * tpl template · aud audit entry · pvc provider config · inb inbox item · tok access token ·
 * fgb fraud-guard decision (a block or a would-block) · ver verification (a code and its resends) ·
 * whe event endpoint · evt event (the `webhook-id`) · evd delivery of an event to one endpoint ·
 * opr operator (a person signing in to the console).
 */
export type IdPrefix = 'ten' | 'key' | 'chl' | 'msg' | 'att' | 'tpl' | 'aud' | 'pvc' | 'inb' | 'tok' | 'fgb' | 'ver' | 'whe' | 'evt' | 'evd' | 'opr';

const idPrefixes: ReadonlySet<string> = new Set<IdPrefix>(['ten', 'key', 'chl', 'msg', 'att', 'tpl', 'aud', 'pvc', 'inb', 'tok', 'fgb', 'ver', 'whe', 'evt', 'evd', 'opr']);

/** Crockford base32, lowercase (no i, l, o, u). */
const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
const timeChars = 10;
const randomChars = 16;
const maxTime = 2 ** 48 - 1;
/** Body: 10 time chars (the first one ≤ 7, since 48 bits fill only 3 bits of it) + 16 random chars. */
const bodyPattern = /^[0-7][0-9a-hjkmnp-tv-z]{25}$/;

// Monotonic state: the time and random digits (values 0–31) of the last id made in this process.
let lastTime = -1;
const lastRandom = new Uint8Array(randomChars);

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < timeChars; i++) {
    out = alphabet.charAt(t % 32) + out;
    t = Math.floor(t / 32);
  }
  return out;
}

/** 80 random bits as 16 five-bit digits. */
function freshRandom(into: Uint8Array): void {
  const bytes = pooledRandomBytes(10);
  for (let i = 0; i < randomChars; i++) {
    const bit = i * 5;
    const at = bit >> 3;
    const window = ((bytes[at] ?? 0) << 8) | (bytes[at + 1] ?? 0);
    into[i] = (window >> (11 - (bit & 7))) & 31;
  }
}

/** Adds one to the random digits; throws on overflow (needs 2^79 ids in one ms on average). */
function incrementRandom(digits: Uint8Array): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    const d = digits[i] ?? 0;
    if (d < 31) {
      digits[i] = d + 1;
      return;
    }
    digits[i] = 0;
  }
  throw new Error('id random part overflowed within one millisecond');
}

/**
 * A new id: `${prefix}_` + 26 lowercase Crockford base32 characters in ULID layout — 10
 * characters of the 48-bit creation time in ms since the epoch, then 16 characters (80 bits)
 * of crypto randomness. Ids sort lexicographically by creation time.
 *
 * Monotonic within one process: a second id in the same millisecond reuses the previous
 * random part plus one, so ids made in order sort in order. A different millisecond (even
 * an earlier one, e.g. an injected test clock) starts from fresh randomness.
 *
 * @param now creation time in ms since the epoch (default `Date.now()`); a RangeError if it
 *            is not a finite number in [0, 2^48).
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  if (!idPrefixes.has(prefix)) throw new RangeError(`unknown id prefix "${String(prefix)}"`);
  if (!Number.isFinite(now) || now < 0 || now > maxTime) throw new RangeError('id time must be ms since the epoch within 48 bits');
  const ms = Math.floor(now);
  if (ms === lastTime) {
    incrementRandom(lastRandom);
  } else {
    freshRandom(lastRandom);
    lastTime = ms;
  }
  let random = '';
  for (const d of lastRandom) random += alphabet.charAt(d);
  return `${prefix}_${encodeTime(ms)}${random}`;
}

/**
 * The smallest id with this prefix made at `ms`: every id made earlier sorts below it, so
 * `id < idFloor(prefix, t)` selects rows created before `t` through the primary key alone
 * (how housekeeping finds old rows without an index on their time).
 */
export function idFloor(prefix: IdPrefix, ms: number): string {
  const t = Math.min(Math.max(Math.floor(ms), 0), maxTime);
  return `${prefix}_${encodeTime(t)}${'0'.repeat(randomChars)}`;
}

/**
 * The smallest id with this prefix that a row made at or after `since` on a clock reading `now`
 * can have. Ids carry the wall-clock time they were made at, which an injected clock (a test's)
 * may not follow: the bound reaches back as far on both clocks.
 */
export function idFloorSince(prefix: IdPrefix, since: number, now: number): string {
  return idFloor(prefix, Math.min(since, Date.now() - (now - since)));
}

/** The prefix of a well-formed otpgate id (strict format check), else undefined. */
export function idPrefixOf(id: string): IdPrefix | undefined {
  if (typeof id !== 'string' || id.length !== 30 || id.charAt(3) !== '_') return undefined;
  const prefix = id.slice(0, 3);
  if (!idPrefixes.has(prefix) || !bodyPattern.test(id.slice(4))) return undefined;
  return prefix as IdPrefix;
}

/** True when `value` is a well-formed id with exactly this prefix. */
export function isId(value: unknown, prefix: IdPrefix): value is string {
  return typeof value === 'string' && idPrefixOf(value) === prefix;
}

/**
 * The creation time (ms since the epoch) encoded in a well-formed id, else undefined.
 * Handy for tests and for reasoning about an id's age; not a security property.
 */
export function idTimeOf(id: string): number | undefined {
  if (idPrefixOf(id) === undefined) return undefined;
  let t = 0;
  for (const c of id.slice(4, 4 + timeChars)) t = t * 32 + alphabet.indexOf(c);
  return t;
}

/**
 * A fresh secret token: `bytes` crypto-random bytes (default 32, i.e. 256 bits) encoded
 * base64url without padding. `bytes` must be an integer in 16–1024 (RangeError otherwise):
 * fewer than 128 bits is not a secret.
 */
export function newSecretToken(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < 16 || bytes > 1024) throw new RangeError('secret token size must be 16–1024 bytes');
  return randomBytes(bytes).toString('base64url');
}

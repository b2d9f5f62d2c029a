import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { pooledRandomBytes } from '../domain/random-pool.js';
import type { PlatformAnswer } from './types.js';

/**
 * How far a platform's timestamp may be from otpgate's clock, ms, either way (Standard
 * Webhooks' and Zitadel's own tolerance). A request older than this is refused as stale.
 */
export const TIMESTAMP_TOLERANCE_MS = 5 * 60_000;

/**
 * How long an accepted request is remembered, ms: a timestamp can be up to the tolerance in the
 * future and up to the tolerance old, so a replay inside the window always finds its key.
 */
export const REPLAY_MEMORY_MS = 2 * TIMESTAMP_TOLERANCE_MS;

/** Equal strings in constant time for equal lengths (the length itself is not secret). */
export function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hmacSha256(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** The replay memory's key for a value: a hash, so no request part is stored as it came. */
export function replayKeyOf(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p, 'utf8').update('\u0000');
  return h.digest('base64url');
}

export function randomToken(bytes = 32): string {
  return pooledRandomBytes(bytes).toString('base64url');
}

/** Whether a unix-seconds timestamp is within the tolerance of `now` (ms). */
export function timestampFresh(seconds: number, now: number): boolean {
  return Number.isFinite(seconds) && Math.abs(now - seconds * 1000) <= TIMESTAMP_TOLERANCE_MS;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function nonEmptyString(value: unknown, max = 2000): value is string {
  return typeof value === 'string' && value.trim() !== '' && value.length <= max;
}

/** A recipient given as bare digits (Supabase, Logto store numbers without `+`) gets its `+`. */
export function withPlus(phone: string): string {
  const t = phone.trim();
  return /^\d{6,15}$/.test(t) ? `+${t}` : t;
}

/** JSON error answer `{error, message}` with the status, and Retry-After when given. */
export function jsonError(status: number, error: string, message: string, retryAfterSeconds?: number): PlatformAnswer {
  return { status, body: { error, message }, ...(retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(retryAfterSeconds) } } : {}) };
}

/** A short machine word for a status, for the `{error}` member of the simple JSON forms. */
export function errorWord(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 422:
      return 'unprocessable';
    case 429:
      return 'too_many_requests';
    default:
      return status >= 500 ? 'server_error' : 'error';
  }
}

/**
 * A whole text as the message log keeps it: the code the platform gave separately (if any) and
 * every run of 4–10 digits standing alone (how codes look in the platforms' texts) become `*`.
 * A platform that sends only the text does not say which part is the code.
 */
export function maskWholeText(text: string, code?: string): string {
  let masked = code && code !== '' ? text.split(code).join('*'.repeat(code.length)) : text;
  masked = masked.replace(/(?<![0-9])[0-9]{4,10}(?![0-9])/g, (run) => '*'.repeat(run.length));
  return masked;
}

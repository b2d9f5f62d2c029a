import { type Trip } from './types.js';

/**
 * Codes to one number since it last verified one, within 24 h (resends included): a person
 * asks for a few and types one; bombing a victim, or pumping one number, asks for many and
 * types none. `pending` counts this send.
 */
export function numberDayRule(t: { max: number }, e164: string, pending: number): Trip | null {
  if (pending <= t.max) return null;
  return {
    rule: 'number_day',
    kind: 'number',
    key: e164,
    reason: `${pending} codes in 24 h since the last verified one > ${t.max}`,
    figures: { unverified: pending, max: t.max },
  };
}

/**
 * Codes since the number's last verified one, newest first (`verified_at` null while unverified).
 * Stops at the first verified code.
 */
export function unverifiedSinceLastVerified(codes: ReadonlyArray<{ verified_at: number | null }>): number {
  let n = 0;
  for (const c of codes) {
    if (c.verified_at !== null) break;
    n++;
  }
  return n;
}

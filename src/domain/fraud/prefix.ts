import type { FloorRatio } from './settings.js';
import { fmt, unverified, type Conversion, type Trip } from './types.js';

/**
 * A number's prefix: the E.164 number less its last `digits` digits (`+447700900123`, 3 →
 * `+447700900`). Pumpers work through ranges of numbers a carrier gave them, so unverified
 * traffic gathers under few prefixes.
 */
export function prefixOf(e164: string, digits: number): string {
  return e164.slice(0, Math.max(2, e164.length - digits));
}

/**
 * Prefix rule: this send would make the prefix's unverified codes in the last hour more than
 * max(floor, ratio × its verified codes in 24 h).
 */
export function prefixHourRule(t: FloorRatio, prefix: string, hour: Conversion, verified24h: number): Trip | null {
  const pending = unverified(hour) + 1;
  const threshold = Math.max(t.floor, t.ratio * verified24h);
  if (pending <= threshold) return null;
  return {
    rule: 'prefix_hour',
    kind: 'prefix',
    key: prefix,
    reason: `unverified in 1 h ${fmt(pending)} > max(${t.floor}, ${t.ratio} × verified in 24 h ${fmt(verified24h)})`,
    figures: { unverified: pending, floor: t.floor, ratio: t.ratio, verified_24h: verified24h, threshold },
  };
}

/**
 * Prefix rule over a day: this send would make the prefix's unverified codes in 24 h more
 * than max(floor, ratio × its verified codes in 24 h). The hour rule lets a patient pumper
 * through a few codes every hour; this one remembers them.
 */
export function prefixDayRule(t: FloorRatio, prefix: string, day: Conversion): Trip | null {
  const pending = unverified(day) + 1;
  const threshold = Math.max(t.floor, t.ratio * day.verified);
  if (pending <= threshold) return null;
  return {
    rule: 'prefix_day',
    kind: 'prefix',
    key: prefix,
    reason: `unverified in 24 h ${fmt(pending)} > max(${t.floor}, ${t.ratio} × verified ${fmt(day.verified)})`,
    figures: { unverified: pending, floor: t.floor, ratio: t.ratio, verified_24h: day.verified, threshold },
  };
}

/**
 * Number-range velocity: `numbers` distinct numbers of one prefix, all within `span` of each
 * other, requested within the window (this send's number included). Real users of one range
 * are scattered over it; a script walks it.
 *
 * `recent` holds the distinct numbers of the prefix sent to in the window, this one included.
 */
export function prefixVelocityRule(
  t: { numbers: number; span: number; window_minutes: number },
  prefix: string,
  recent: readonly string[],
): Trip | null {
  const suffixes = [...new Set(recent)].map((n) => Number(n.slice(prefix.length))).filter((n) => Number.isFinite(n)).sort((a, b) => a - b);
  if (suffixes.length < t.numbers) return null;
  // The tightest run of `numbers` consecutive suffixes in sorted order.
  let best = Infinity;
  for (let i = 0; i + t.numbers - 1 < suffixes.length; i++) best = Math.min(best, suffixes[i + t.numbers - 1]! - suffixes[i]!);
  if (best > t.span) return null;
  return {
    rule: 'prefix_velocity',
    kind: 'prefix',
    key: prefix,
    reason: `${t.numbers} numbers within ${fmt(best)} of each other in ${t.window_minutes} min (limit: within ${t.span})`,
    figures: { numbers: t.numbers, closest_span: best, span: t.span, window_minutes: t.window_minutes, distinct_numbers: suffixes.length },
  };
}

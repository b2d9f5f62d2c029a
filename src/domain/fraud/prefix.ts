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
 * The strings a number-range velocity read must cover for `e164`: the numbers of its prefix
 * whose suffix is within `span` of its own, as [from, to). Every number of a prefix is as long
 * as `e164` (prefixOf), so zero-padded suffixes order as the numbers do; the range also holds
 * longer numbers that start with it, which the read (`nearestNumbers`) and
 * `prefixVelocityRule` leave out.
 */
export function velocityRange(e164: string, prefix: string, span: number): { from: string; to: string } {
  const width = e164.length - prefix.length;
  const own = Number(e164.slice(prefix.length));
  const at = (n: number) => `${prefix}${String(n).padStart(width, '0')}`;
  // ':' follows '9': [x, x + ':') holds every string that starts with x.
  return { from: at(Math.max(0, own - span)), to: `${at(Math.min(10 ** width - 1, own + span))}:` };
}

/**
 * Number-range velocity: this send's number and `numbers − 1` other distinct numbers of its
 * prefix, all within `span` of each other, requested within the window. Real users of one
 * range are scattered over it; a script walks it, and the walk's next number trips the rule.
 *
 * `recent`: numbers sent to in the window, at least the `numbers − 1` nearest to this one on
 * each side within `span` (`velocityRange`), where there are so many; others are left out.
 */
export function prefixVelocityRule(
  t: { numbers: number; span: number; window_minutes: number },
  prefix: string,
  e164: string,
  recent: readonly string[],
): Trip | null {
  const own = Number(e164.slice(prefix.length));
  const near = new Set<number>([own]);
  for (const n of recent) {
    if (n.length !== e164.length || !n.startsWith(prefix)) continue;
    const s = Number(n.slice(prefix.length));
    if (Math.abs(s - own) <= t.span) near.add(s);
  }
  if (near.size < t.numbers) return null;
  const suffixes = [...near].sort((a, b) => a - b);
  const at = suffixes.indexOf(own);
  // The tightest run of `numbers` consecutive suffixes in sorted order that holds this number.
  let best = Infinity;
  for (let i = Math.max(0, at - t.numbers + 1); i <= at && i + t.numbers - 1 < suffixes.length; i++) best = Math.min(best, suffixes[i + t.numbers - 1]! - suffixes[i]!);
  if (best > t.span) return null;
  return {
    rule: 'prefix_velocity',
    kind: 'prefix',
    key: prefix,
    reason: `${t.numbers} numbers within ${fmt(best)} of each other in ${t.window_minutes} min (limit: within ${t.span})`,
    figures: { numbers: t.numbers, closest_span: best, span: t.span, window_minutes: t.window_minutes, distinct_numbers: suffixes.length },
  };
}

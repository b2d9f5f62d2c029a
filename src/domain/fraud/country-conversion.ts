import type { FloorRatio } from './settings.js';
import { fmt, unverified, type Conversion, type Trip } from './types.js';

/**
 * Conversion tripwires per destination country (per tenant): codes sent to a country that
 * are never verified are what SMS pumping looks like, so once more of them pile up than the
 * country's own verified traffic explains, further sends to it are blocked.
 */
export interface CountryFigures {
  country: string;
  /** Sliding 24 h. */
  day: Conversion;
  /** Sliding 1 h. */
  hour: Conversion;
  /** The most codes verified to the country on one UTC day in the 14 days before today. */
  bestDay: number;
}

/**
 * Day rule: this send would make the country's unverified codes in 24 h more than
 * max(floor, ratio × best verified day, ratio × verified in 24 h).
 */
export function countryDayRule(t: FloorRatio, f: CountryFigures): Trip | null {
  const pending = unverified(f.day) + 1;
  const byBest = t.ratio * f.bestDay;
  const byToday = t.ratio * f.day.verified;
  const threshold = Math.max(t.floor, byBest, byToday);
  if (pending <= threshold) return null;
  return {
    rule: 'country_day',
    kind: 'country',
    key: f.country,
    reason: `unverified in 24 h ${fmt(pending)} > max(${t.floor}, ${t.ratio} × best day ${fmt(f.bestDay)}, ${t.ratio} × verified in 24 h ${fmt(f.day.verified)})`,
    figures: { unverified: pending, floor: t.floor, ratio: t.ratio, best_day_verified: f.bestDay, verified_24h: f.day.verified, threshold },
  };
}

/**
 * Hour rule: this send would make the unverified codes in the last hour more than
 * max(floor, ratio × max(best verified day, verified in 24 h) ÷ 6) — a day's worth of
 * verified traffic spread over its six busiest hours.
 */
export function countryHourRule(t: FloorRatio, f: CountryFigures): Trip | null {
  const pending = unverified(f.hour) + 1;
  const base = Math.max(f.bestDay, f.day.verified);
  const threshold = Math.max(t.floor, (t.ratio * base) / 6);
  if (pending <= threshold) return null;
  return {
    rule: 'country_hour',
    kind: 'country',
    key: f.country,
    reason: `unverified in 1 h ${fmt(pending)} > max(${t.floor}, ${t.ratio} × ${fmt(base)} ÷ 6)`,
    figures: { unverified: pending, floor: t.floor, ratio: t.ratio, daily_verified: base, threshold },
  };
}

import type { FloorRatio } from './settings.js';
import { fmt, unverified, type Conversion, type Trip } from './types.js';

/**
 * IP signals, when the caller passes the end user's `client_ip`. A person (or an office, or a
 * carrier's shared address) asks for codes to a few countries; a pumping script asks for many.
 * `countries` counts the distinct destination countries in 24 h, this send's included.
 */
export function ipCountriesRule(t: { max: number }, ip: string, countries: number): Trip | null {
  if (countries <= t.max) return null;
  return {
    rule: 'ip_countries',
    kind: 'ip',
    key: ip,
    reason: `${countries} destination countries in 24 h > ${t.max}`,
    figures: { countries, max: t.max },
  };
}

/**
 * Unverified codes from one IP: this send would make them more than max(floor, ratio × the
 * IP's verified codes) over 24 h. Shared addresses (offices, CGNAT) verify as they send, so
 * the ratio keeps them open.
 */
export function ipDayRule(t: FloorRatio, ip: string, day: Conversion): Trip | null {
  const pending = unverified(day) + 1;
  const threshold = Math.max(t.floor, t.ratio * day.verified);
  if (pending <= threshold) return null;
  return {
    rule: 'ip_day',
    kind: 'ip',
    key: ip,
    reason: `unverified in 24 h ${fmt(pending)} > max(${t.floor}, ${t.ratio} × verified ${fmt(day.verified)})`,
    figures: { unverified: pending, floor: t.floor, ratio: t.ratio, verified_24h: day.verified, threshold },
  };
}

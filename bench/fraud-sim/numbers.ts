import { getCountryCallingCode, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import examples from 'libphonenumber-js/mobile/examples';
import type { Rng } from './rng.js';

/**
 * Real, valid mobile numbers of a country: libphonenumber's `max` metadata must call each one
 * valid, of type MOBILE and of that country. Numbers are drawn from the country's example
 * mobile number with its trailing digits replaced, and every candidate is checked.
 */

const cache = new Map<string, boolean>();

/** Whether `e164` is a valid mobile number of `country` by the full metadata. */
export function isMobileOf(e164: string, country: string): boolean {
  const key = `${country}${e164}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const p = parsePhoneNumberFromString(e164);
  const ok = p !== undefined && p.isValid() && p.getType() === 'MOBILE' && p.country === country;
  if (cache.size > 200_000) cache.clear();
  cache.set(key, ok);
  return ok;
}

export interface MobilePlan {
  country: string;
  /** `+` and the calling code. */
  dial: string;
  /** The example national significant number the ranges come from. */
  example: string;
  /** How many leading digits of the example every number keeps. */
  keep: number;
}

/** The mobile numbering of a country, with as few fixed leading digits as still give mostly valid numbers. */
export function mobilePlan(country: string, rng: Rng): MobilePlan {
  const example = (examples as Record<string, string>)[country];
  if (!example) throw new Error(`no example mobile number for ${country}`);
  const dial = `+${getCountryCallingCode(country as CountryCode)}`;
  // Fewer fixed digits give more distinct ranges; keep the widest that is at least 30 % valid.
  for (let keep = Math.max(1, example.length - 8); keep < example.length - 3; keep++) {
    const plan = { country, dial, example, keep };
    let ok = 0;
    for (let i = 0; i < 60; i++) if (isMobileOf(draw(plan, rng), country)) ok++;
    if (ok >= 18) return plan;
  }
  return { country, dial, example, keep: example.length - 4 };
}

function draw(plan: MobilePlan, rng: Rng): string {
  let nsn = plan.example.slice(0, plan.keep);
  while (nsn.length < plan.example.length) nsn += String(rng.int(0, 9));
  return `${plan.dial}${nsn}`;
}

/** A random valid mobile number of the plan's country. */
export function randomMobile(plan: MobilePlan, rng: Rng): string {
  for (let i = 0; i < 500; i++) {
    const n = draw(plan, rng);
    if (isMobileOf(n, plan.country)) return n;
  }
  throw new Error(`could not draw a mobile number for ${plan.country}`);
}

/**
 * A range of consecutive numbers: a valid mobile number with its last `digits` digits
 * cleared. Every number of the range is checked when it is drawn (`inRange`).
 */
export function randomRange(plan: MobilePlan, rng: Rng, digits: number): string {
  return randomMobile(plan, rng).slice(0, -digits);
}

/** A valid mobile number of `range` (the range's base plus `digits` random digits), or undefined when the range has none. */
export function inRange(range: string, digits: number, country: string, rng: Rng): string | undefined {
  for (let i = 0; i < 50; i++) {
    const n = `${range}${String(rng.int(0, 10 ** digits - 1)).padStart(digits, '0')}`;
    if (isMobileOf(n, country)) return n;
  }
  return undefined;
}

/** The `index`-th number of a range (sequential pumping), when valid. */
export function nthInRange(range: string, digits: number, index: number, country: string): string | undefined {
  if (index >= 10 ** digits) return undefined;
  const n = `${range}${String(index).padStart(digits, '0')}`;
  return isMobileOf(n, country) ? n : undefined;
}

/**
 * A mistyped number: one of the last four digits changed, or two neighbours swapped, that is
 * still a valid mobile number of the country (invalid ones are refused as `phone.invalid`
 * before the guard, so they do not matter here).
 */
export function mistype(e164: string, country: string, rng: Rng): string | undefined {
  for (let i = 0; i < 20; i++) {
    const chars = e164.split('');
    const pos = chars.length - 1 - rng.int(0, 3);
    if (rng.chance(0.5) && pos > 1) {
      const a = chars[pos]!;
      chars[pos] = chars[pos - 1]!;
      chars[pos - 1] = a;
    } else {
      chars[pos] = String((Number(chars[pos]) + rng.int(1, 9)) % 10);
    }
    const n = chars.join('');
    if (n !== e164 && isMobileOf(n, country)) return n;
  }
  return undefined;
}

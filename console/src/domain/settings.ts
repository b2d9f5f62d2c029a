import type { TenantSettings, TestNumber } from '../api/types.js';

/**
 * Client-side checks of tenant settings, with the server's ranges and patterns
 * (src/services/tenant-settings.ts), so the form says what is wrong before saving.
 */

export interface IntRule {
  key: keyof TenantSettings;
  label: string;
  min: number;
  max: number;
  unit?: string;
  help: string;
}

export const intRules: readonly IntRule[] = [
  { key: 'otp_length', label: 'Code length', min: 4, max: 10, unit: 'digits', help: 'Digits in each one-time code.' },
  { key: 'otp_ttl_seconds', label: 'Code lifetime', min: 60, max: 3600, unit: 'seconds', help: 'How long a code can be verified.' },
  { key: 'max_verify_attempts', label: 'Verify attempts', min: 1, max: 10, help: 'Wrong tries before a code is locked.' },
  { key: 'resend_cooldown_seconds', label: 'Resend cooldown', min: 0, max: 3600, unit: 'seconds', help: 'Wait before another code goes to the same phone.' },
  { key: 'max_sends_per_phone_per_hour', label: 'Sends per phone per hour', min: 1, max: 100000, help: 'Rate limit per phone number.' },
  { key: 'max_sends_per_ip_per_hour', label: 'Sends per IP per hour', min: 1, max: 100000, help: 'Applies when the caller passes client_ip.' },
  { key: 'max_segments', label: 'Max segments per message', min: 1, max: 10, help: 'Templates that render longer are refused.' },
];

export function checkInt(rule: IntRule, raw: string): string | null {
  if (raw.trim() === '') return 'required';
  if (!/^-?\d+$/.test(raw.trim())) return 'must be a whole number';
  const n = Number(raw);
  if (n < rule.min || n > rule.max) return `must be between ${rule.min} and ${rule.max}`;
  return null;
}

export const countryPattern = /^[A-Z]{2}$/;
export const webotpPattern = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;
export const appHashPattern = /^[A-Za-z0-9+/]{11}$/;
export const localePattern = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/** Splits "us, GB de" into ["US", "GB", "DE"]. */
export function parseCountries(raw: string): string[] {
  return raw
    .split(/[\s,;]+/)
    .map((s) => s.trim().toUpperCase())
    .filter((s) => s !== '');
}

export function checkCountries(list: string[]): string | null {
  const bad = list.filter((c) => !countryPattern.test(c));
  if (bad.length > 0) return `not ISO 3166-1 alpha-2 codes: ${bad.join(', ')} (use codes such as US, GB, IN)`;
  if (list.length > 250) return 'at most 250 countries';
  return null;
}

export function checkOptionalText(raw: string, max: number): string | null {
  return raw.length > max ? `at most ${max} characters` : null;
}

export function checkWebotp(raw: string): string | null {
  if (raw === '') return null;
  if (/^https?:\/\//i.test(raw)) return 'the host name only, without https://';
  return webotpPattern.test(raw) ? null : 'must be a host name such as example.com';
}

export function checkAppHash(raw: string): string | null {
  if (raw === '') return null;
  return appHashPattern.test(raw) ? null : 'must be the 11-character app hash';
}

export function checkLocale(raw: string): string | null {
  return localePattern.test(raw) ? null : 'must be a locale such as en or pt-BR';
}

/** Loose E.164 check; the server normalises and has the last word. */
export function checkTestNumber(t: TestNumber): { phone_number?: string; code?: string } {
  const out: { phone_number?: string; code?: string } = {};
  const digits = t.phone_number.replace(/[\s().-]/g, '');
  if (digits === '') out.phone_number = 'required';
  else if (!/^\+?\d{6,15}$/.test(digits)) out.phone_number = 'must be a phone number such as +15551234567';
  if (!/^\d{4,10}$/.test(t.code)) out.code = 'must be 4 to 10 digits';
  return out;
}

import { parsePhoneNumberFromString, validatePhoneNumberLength, type NumberType, type PhoneNumber } from 'libphonenumber-js/max';

/**
 * Outcome of normalising a phone number. `e164` is `+` and at most 15 digits; `country` is the
 * ISO 3166-1 alpha-2 code of the number's region, or undefined for non-geographic numbers
 * (e.g. +800 international freephone). `reason` is a short sentence for an API client that
 * never echoes the input back.
 */
export type PhoneResult = { ok: true; e164: string; country: string | undefined } | { ok: false; reason: string };

/** Longest raw input looked at, before stripping separators. */
const maxRawLength = 32;
const internationalFormat = 'phone_number must be in international format, e.g. +14155550123';

/** Spaces (incl. no-break and thin spaces), tabs, dashes, dots and parentheses. */
const separators = /[ \t\u00a0\u2009\u202f\-.()]/g;

function fail(reason: string): PhoneResult {
  return { ok: false, reason };
}

/**
 * Normalises a phone number given in international form to E.164.
 *
 * Accepts a string with a leading `+` (or the `00` international prefix, read as `+`),
 * ASCII digits and the separators space, dash, dot and parentheses. Rejects anything else
 * (non-strings, empty, letters, emoji, more than 32 characters raw), numbers of impossible
 * length, and numbers libphonenumber's full metadata says are not valid (unassigned ranges).
 */
export function normalizePhone(input: unknown): PhoneResult {
  if (typeof input !== 'string') return fail('phone_number must be a string');
  if (input.trim() === '') return fail('phone_number is required');
  if (input.length > maxRawLength) return fail(`phone_number must be at most ${maxRawLength} characters`);

  let compact = input.replace(separators, '');
  if (compact.startsWith('00')) compact = `+${compact.slice(2)}`;
  if (!compact.startsWith('+')) {
    return fail(/^[0-9]+$/.test(compact) ? internationalFormat : 'phone_number may contain only a leading +, digits, spaces, dashes, dots and parentheses');
  }
  const digits = compact.slice(1);
  if (digits === '') return fail('phone_number is too short');
  if (!/^[0-9]+$/.test(digits)) {
    return fail('phone_number may contain only a leading +, digits, spaces, dashes, dots and parentheses');
  }
  if (digits.startsWith('0')) return fail('phone_number must start with a country calling code after the +');
  if (digits.length > 15) return fail('phone_number is too long: E.164 numbers have at most 15 digits');

  // The hot path parses once; the length check only runs to explain a number that is not valid.
  const parsed = parsePhoneNumberFromString(compact);
  if (parsed !== undefined && parsed.isValid()) {
    lastValid = parsed;
    return { ok: true, e164: parsed.number, country: parsed.country };
  }
  const lengthProblem = validatePhoneNumberLength(compact);
  if (lengthProblem === 'TOO_SHORT') return fail('phone_number is too short');
  if (lengthProblem === 'TOO_LONG') return fail('phone_number is too long for its country');
  if (lengthProblem === 'INVALID_COUNTRY') return fail('phone_number does not start with a known country calling code');
  return fail('phone_number is not a valid phone number');
}

/** The number normalizePhone parsed last: the send path asks for its type right after. */
let lastValid: PhoneNumber | undefined;

/**
 * The libphonenumber type of a valid E.164 number (`MOBILE`, `PREMIUM_RATE` …), or undefined
 * when the metadata cannot tell. Reuses the parse of the number normalizePhone just checked
 * (parsing with the full metadata costs several microseconds).
 */
export function phoneTypeOf(e164: string): NumberType | undefined {
  const parsed = lastValid?.number === e164 ? lastValid : parsePhoneNumberFromString(e164);
  return parsed?.getType();
}

/**
 * The ISO 3166-1 alpha-2 country of an E.164 number (e.g. `+14155552671` → `US`), or
 * undefined when it cannot be parsed or belongs to no single country (+800, +882 …).
 */
export function countryOfE164(e164: string): string | undefined {
  if (typeof e164 !== 'string' || !/^\+[1-9][0-9]{1,14}$/.test(e164)) return undefined;
  return parsePhoneNumberFromString(e164)?.country;
}

/**
 * Ranges set aside for fiction, as E.164 prefixes with the count of digits after them:
 * NANP 555-0100 to 555-0199 in every area code, and Ofcom's drama ranges
 * (https://www.ofcom.org.uk/phones-and-broadband/phone-numbers/numbers-for-drama). No one is
 * ever given these numbers, which is what makes them safe as a tenant's test numbers.
 */
const OFCOM_DRAMA: ReadonlyArray<readonly [string, number]> = [
  ...['113', '114', '115', '116', '117', '118', '121', '131', '141', '151', '161'].map((area) => [`+44${area}4960`, 3] as const),
  ['+441914980', 3],
  ['+442079460', 3],
  ['+442896496', 3],
  ['+442920180', 3],
  ['+441632960', 3],
  ['+447700900', 3],
  ['+448081570', 3],
  ['+449098790', 3],
  ['+443069990', 3],
];

/**
 * The E.164 form and country of a number in a range set aside for fiction, or undefined.
 * libphonenumber rejects some of them (Ofcom's 07700 900xxx mobiles, 01632 960xxx), so they are
 * recognised here, for test numbers only.
 */
export function fictionalNumber(input: unknown): { e164: string; country: string } | undefined {
  if (typeof input !== 'string' || input.length > maxRawLength) return undefined;
  let compact = input.replace(separators, '');
  if (compact.startsWith('00')) compact = `+${compact.slice(2)}`;
  if (/^\+1[2-9]\d{2}55501\d{2}$/.test(compact)) return { e164: compact, country: parsePhoneNumberFromString(compact)?.country ?? 'US' };
  for (const [prefix, rest] of OFCOM_DRAMA) {
    if (compact.startsWith(prefix) && compact.length === prefix.length + rest && /^\d+$/.test(compact.slice(1))) return { e164: compact, country: 'GB' };
  }
  return undefined;
}

/**
 * A tenant's test number: any valid number (normalizePhone), or one in a fictional range even
 * where libphonenumber does not list it as valid.
 */
export function normalizeTestNumber(input: unknown): PhoneResult {
  const n = normalizePhone(input);
  if (n.ok) return n;
  const f = fictionalNumber(input);
  return f ? { ok: true, ...f } : n;
}

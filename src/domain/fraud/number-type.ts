import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { NumberType } from './settings.js';

const upperToSnake = (t: string): NumberType => t.toLowerCase() as NumberType;

/**
 * The type of an E.164 number from libphonenumber's full metadata (offline), in snake case
 * (`premium_rate`, `toll_free`, `mobile` …), or undefined when the metadata cannot tell.
 */
export function numberTypeOf(e164: string): NumberType | undefined {
  const t = parsePhoneNumberFromString(e164)?.getType();
  return t === undefined ? undefined : upperToSnake(t);
}

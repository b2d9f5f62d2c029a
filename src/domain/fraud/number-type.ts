import { phoneTypeOf } from '../phone.js';
import type { NumberType } from './settings.js';

/**
 * The type of an E.164 number from libphonenumber's full metadata (offline), in snake case
 * (`premium_rate`, `toll_free`, `mobile` …), or undefined when the metadata cannot tell.
 */
export function numberTypeOf(e164: string): NumberType | undefined {
  const t = phoneTypeOf(e164);
  return t === undefined ? undefined : (t.toLowerCase() as NumberType);
}

/**
 * Twilio-style SIDs for otpgate's own ids (docs/twilio-verify.md "Ids").
 *
 * A Twilio SID is two upper-case letters and 32 hex digits (128 bits). An otpgate id
 * (src/domain/ids.ts) is a prefix and 26 Crockford base32 characters in ULID layout, whose
 * first character is at most 7: exactly 128 bits too. So each id maps to one SID and back,
 * with no table: `ver_…` ↔ `VE…` (verification), `chl_…` ↔ `VL…` (a send attempt), `ten_…` ↔
 * `AC…` (the tenant is the account), `key_…` ↔ `SK…` (the API key). Service SIDs (`VA…`) are
 * made fresh: a service is a row of its own.
 */
import { randomBytes } from 'node:crypto';
import { isId, type IdPrefix } from './ids.js';

const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';

/** The two-letter SID prefix for each otpgate id prefix that has one. */
export const sidPrefixOf = { ver: 'VE', chl: 'VL', ten: 'AC', key: 'SK' } as const satisfies Partial<Record<IdPrefix, string>>;
export type SidMapped = keyof typeof sidPrefixOf;

const sidPattern = /^[A-Z]{2}[0-9a-f]{32}$/;

/** True when `value` is a SID with this two-letter prefix (hex in either case, as Twilio accepts). */
export function isSid(value: unknown, prefix: string): value is string {
  return typeof value === 'string' && value.length === 34 && value.startsWith(prefix) && sidPattern.test(prefix + value.slice(2).toLowerCase());
}

/** The SID of a well-formed otpgate id (`ver_…` → `VE…`). Throws on a malformed id. */
export function sidOf(id: string, prefix: SidMapped): string {
  if (!isId(id, prefix)) throw new RangeError(`not a ${prefix} id`);
  let n = 0n;
  for (const c of id.slice(4)) n = (n << 5n) | BigInt(alphabet.indexOf(c));
  return sidPrefixOf[prefix] + n.toString(16).padStart(32, '0');
}

/** The otpgate id of a SID (`VE…` → `ver_…`), or undefined when it is not such a SID. */
export function idOfSid(sid: string, prefix: SidMapped): string | undefined {
  if (!isSid(sid, sidPrefixOf[prefix])) return undefined;
  let n = BigInt('0x' + sid.slice(2));
  let body = '';
  for (let i = 0; i < 26; i++) {
    body = alphabet.charAt(Number(n & 31n)) + body;
    n >>= 5n;
  }
  return `${prefix}_${body}`;
}

/** A fresh random SID (`VA…` for a service). */
export function newSid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

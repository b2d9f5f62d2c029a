/**
 * SMS encoding and segment counting, ported from the server (src/domain/encoding.ts) so the
 * console counts while the operator types. GSM-7 when every character is in the GSM 03.38
 * basic table or its extension table (extension characters cost 2 septets), else UCS-2
 * (UTF-16 code units; a surrogate pair costs 2). One SMS holds 160 septets / 70 units; longer
 * texts go in parts of 153 / 67, never splitting an escape or surrogate pair across parts.
 */

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsAnalysis {
  encoding: SmsEncoding;
  /** Unicode code points (an emoji counts 1). */
  characters: number;
  /** GSM-7 septets or UCS-2 code units. */
  units: number;
  /** 0 for empty text. */
  segments: number;
  /** 160 / 153 (GSM-7) or 70 / 67 (UCS-2), whichever applies at this length. */
  unitsPerSegment: number;
  /** Characters that forced UCS-2 (first few, de-duplicated), to tell the operator why. */
  nonGsm: string[];
}

const basicTable =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüàç';
const extensionTable = '\f^{}\\[~]|€';

const gsmCost = new Uint8Array(0x20ad);
for (const c of basicTable) gsmCost[c.charCodeAt(0)] = 1;
for (const c of extensionTable) gsmCost[c.charCodeAt(0)] = 2;

const GSM_SINGLE = 160;
const GSM_PART = 153;
const UCS_SINGLE = 70;
const UCS_PART = 67;

function costOf(code: number): number {
  return code < gsmCost.length ? (gsmCost[code] ?? 0) : 0;
}

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

function packParts(costs: Iterable<number>, perPart: number): number {
  let parts = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > perPart) {
      parts++;
      used = 0;
    }
    used += cost;
  }
  return parts;
}

function* gsmCosts(text: string): Generator<number> {
  for (let i = 0; i < text.length; i++) yield costOf(text.charCodeAt(i));
}

function* ucsCosts(text: string): Generator<number> {
  for (let i = 0; i < text.length; i++) {
    if (isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1))) {
      i++;
      yield 2;
    } else yield 1;
  }
}

export function analyzeSms(text: string): SmsAnalysis {
  let septets = 0;
  const nonGsm = new Set<string>();
  for (const ch of text) {
    const cost = ch.length === 1 ? costOf(ch.charCodeAt(0)) : 0;
    if (cost === 0) {
      if (nonGsm.size < 5) nonGsm.add(ch);
    } else septets += cost;
  }
  if (nonGsm.size === 0) {
    if (septets <= GSM_SINGLE) {
      return { encoding: 'GSM-7', characters: text.length, units: septets, segments: septets === 0 ? 0 : 1, unitsPerSegment: GSM_SINGLE, nonGsm: [] };
    }
    return { encoding: 'GSM-7', characters: text.length, units: septets, segments: packParts(gsmCosts(text), GSM_PART), unitsPerSegment: GSM_PART, nonGsm: [] };
  }
  let characters = 0;
  for (let i = 0; i < text.length; i++) {
    if (isHigh(text.charCodeAt(i)) && isLow(text.charCodeAt(i + 1))) i++;
    characters++;
  }
  const units = text.length;
  const segments = units <= UCS_SINGLE ? 1 : packParts(ucsCosts(text), UCS_PART);
  return { encoding: 'UCS-2', characters, units, segments, unitsPerSegment: units <= UCS_SINGLE ? UCS_SINGLE : UCS_PART, nonGsm: [...nonGsm] };
}

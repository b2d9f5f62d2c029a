/**
 * SMS encoding and segment counting (GSM 03.38 / 3GPP TS 23.038).
 * @see PROVIDERS.md §8.1 (alphabet) and §8.2 (segment sizes)
 */

/** GSM-7 when every character is in the GSM default alphabet (basic or extension table), else UCS-2. */
export type SmsEncoding = 'GSM-7' | 'UCS-2';

/** What a text costs as an SMS. */
export interface SmsAnalysis {
  encoding: SmsEncoding;
  /** Unicode code points in the text (an emoji counts 1; a lone surrogate counts 1). */
  characters: number;
  /** GSM-7: septets (extension-table characters cost 2). UCS-2: UTF-16 code units (characters outside the BMP cost 2). */
  units: number;
  /** Parts the text is sent in: 0 for empty text, 1 if it fits one SMS, else the concatenated parts. */
  segments: number;
  /** Units one part holds at this length: 160 or 153 (GSM-7), 70 or 67 (UCS-2). */
  unitsPerSegment: number;
}

// Basic table, code 0x00–0x7F (0x1B, ESC, is not a character). Ç at 0x09 per the 2000 table;
// ç is the 2015 Unicode correction — both are counted as GSM-7 (PROVIDERS.md §8.1).
const basicTable =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüàç';
/** Extension table: ESC + code, 2 septets each. */
const extensionTable = '\f^{}\\[~]|€';

/** Septet cost by UTF-16 code unit: 0 = not GSM-7, 1 = basic, 2 = extension. Highest code is € (U+20AC). */
const gsmCost = new Uint8Array(0x20ad);
for (const c of basicTable) gsmCost[c.charCodeAt(0)] = 1;
for (const c of extensionTable) gsmCost[c.charCodeAt(0)] = 2;

const gsmSingle = 160;
const gsmPart = 153;
const ucsSingle = 70;
const ucsPart = 67;

function costOf(code: number): number {
  return code < gsmCost.length ? (gsmCost[code] ?? 0) : 0;
}

/** True when every character of `text` is in the GSM-7 basic or extension table (empty text is GSM-7). */
export function isGsm7(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (costOf(text.charCodeAt(i)) === 0) return false;
  }
  return true;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Parts of `perPart` septets a GSM-7 text needs, an escape pair (2 septets) never split. */
function gsmParts(text: string, perPart: number): number {
  let parts = 1;
  let used = 0;
  for (let i = 0; i < text.length; i++) {
    const cost = costOf(text.charCodeAt(i));
    if (used + cost > perPart) {
      parts++;
      used = 0;
    }
    used += cost;
  }
  return parts;
}

/** Parts of `perPart` UCS-2 units a text needs, a surrogate pair (2 units) never split. */
function ucsParts(text: string, perPart: number): number {
  let parts = 1;
  let used = 0;
  for (let i = 0; i < text.length; i++) {
    let cost = 1;
    if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) {
      i++;
      cost = 2;
    }
    if (used + cost > perPart) {
      parts++;
      used = 0;
    }
    used += cost;
  }
  return parts;
}

/**
 * Encoding, length and segment count of `text` as providers send it: GSM-7 if every
 * character is in the GSM alphabet, else UCS-2 (one non-GSM character switches the whole
 * message). One SMS holds 160 septets / 70 UCS-2 units; longer texts go in parts of 153 / 67,
 * never splitting an escape pair (GSM-7) or a surrogate pair (UCS-2) across parts, so a part
 * may hold one unit less. Empty text is 0 segments.
 */
export function analyzeSms(text: string): SmsAnalysis {
  let septets = 0;
  let gsm = true;
  for (let i = 0; i < text.length; i++) {
    const cost = costOf(text.charCodeAt(i));
    if (cost === 0) {
      gsm = false;
      break;
    }
    septets += cost;
  }

  if (gsm) {
    // GSM-7 text is all BMP, so characters = code units.
    if (septets <= gsmSingle) {
      return { encoding: 'GSM-7', characters: text.length, units: septets, segments: septets === 0 ? 0 : 1, unitsPerSegment: gsmSingle };
    }
    return { encoding: 'GSM-7', characters: text.length, units: septets, segments: gsmParts(text, gsmPart), unitsPerSegment: gsmPart };
  }

  let characters = 0;
  for (let i = 0; i < text.length; i++) {
    if (isHighSurrogate(text.charCodeAt(i)) && isLowSurrogate(text.charCodeAt(i + 1))) i++;
    characters++;
  }
  const units = text.length;
  if (units <= ucsSingle) {
    return { encoding: 'UCS-2', characters, units, segments: 1, unitsPerSegment: ucsSingle };
  }
  return { encoding: 'UCS-2', characters, units, segments: ucsParts(text, ucsPart), unitsPerSegment: ucsPart };
}

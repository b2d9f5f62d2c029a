import { randomInt } from 'node:crypto';

/** Shortest and longest one-time code, in characters. */
export const minCodeLength = 4;
export const maxCodeLength = 10;

/** Tenant setting `code_alphabet`. */
export const codeAlphabets = ['digits', 'alphanumeric'] as const;
export type CodeAlphabet = (typeof codeAlphabets)[number];

/**
 * The characters of each alphabet. `alphanumeric` is upper case without the look-alikes
 * 0/O and 1/I/L, so a code read off a lock screen is typed right: 31 characters, about
 * 4.95 bits each (a 6-character code has ~887 million values against a million for digits).
 */
export const alphabetChars: Readonly<Record<CodeAlphabet, string>> = Object.freeze({
  digits: '0123456789',
  alphanumeric: '23456789ABCDEFGHJKMNPQRSTUVWXYZ',
});

/**
 * A fresh one-time code of `length` characters of `alphabet`, each drawn with
 * `crypto.randomInt` (uniform, no modulo bias; leading zeros allowed, so it is a string).
 * Throws RangeError unless `length` is an integer in 4–10.
 */
export function generateCode(length: number, alphabet: CodeAlphabet = 'digits'): string {
  if (!Number.isInteger(length) || length < minCodeLength || length > maxCodeLength) {
    throw new RangeError(`code length must be an integer from ${minCodeLength} to ${maxCodeLength}`);
  }
  const chars = alphabetChars[alphabet];
  let code = '';
  for (let i = 0; i < length; i++) code += chars.charAt(randomInt(0, chars.length));
  return code;
}

/**
 * The form a typed code is compared in: alphanumeric codes are case-insensitive (upper
 * case), digits as given.
 */
export function normalizeCode(input: string, alphabet: CodeAlphabet): string {
  return alphabet === 'alphanumeric' ? input.toUpperCase() : input;
}

/**
 * Why `code` (already normalized) is not a code of `alphabet`, or undefined when it is one:
 * 4–10 characters, each of the alphabet.
 */
export function codeProblem(code: string, alphabet: CodeAlphabet): string | undefined {
  const chars = alphabetChars[alphabet];
  const ok = code.length >= minCodeLength && code.length <= maxCodeLength && [...code].every((c) => chars.includes(c));
  if (ok) return undefined;
  return alphabet === 'digits'
    ? `must be ${minCodeLength} to ${maxCodeLength} digits`
    : `must be ${minCodeLength} to ${maxCodeLength} characters of ${chars} (letters in any case)`;
}

import { randomInt } from 'node:crypto';

/** Shortest and longest one-time code, in digits. */
export const minCodeLength = 4;
export const maxCodeLength = 10;

/**
 * A fresh one-time code of `length` decimal digits, each drawn with `crypto.randomInt(0, 10)`
 * (uniform, no modulo bias; leading zeros allowed, so it is a string, not a number).
 * Throws RangeError unless `length` is an integer in 4–10.
 */
export function generateCode(length: number): string {
  if (!Number.isInteger(length) || length < minCodeLength || length > maxCodeLength) {
    throw new RangeError(`code length must be an integer from ${minCodeLength} to ${maxCodeLength}`);
  }
  let code = '';
  for (let i = 0; i < length; i++) code += String(randomInt(0, 10));
  return code;
}

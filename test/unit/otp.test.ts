import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateCode } from '../../src/domain/otp.js';

test('generateCode returns exactly `length` ASCII digits for 4–10', () => {
  for (let length = 4; length <= 10; length++) {
    for (let i = 0; i < 50; i++) assert.match(generateCode(length), new RegExp(`^[0-9]{${length}}$`));
  }
});

test('generateCode refuses lengths outside 4–10', () => {
  for (const length of [-1, 0, 3, 11, 100, 6.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => generateCode(length), RangeError, String(length));
  }
});

test('generateCode digits are uniform, leading zeros included', () => {
  const counts = new Array<number>(10).fill(0);
  const leading = new Array<number>(10).fill(0);
  const n = 4000;
  for (let i = 0; i < n; i++) {
    const code = generateCode(6);
    for (const c of code) counts[Number(c)] = (counts[Number(c)] ?? 0) + 1;
    leading[Number(code[0])] = (leading[Number(code[0])] ?? 0) + 1;
  }
  // 24,000 digits: 2,400 expected per digit, sd ≈ 46
  for (const c of counts) assert.ok(c > 2150 && c < 2650, `digit count ${c}`);
  // 4,000 leading digits: 400 expected each, sd ≈ 19; zero must appear like any other
  for (const c of leading) assert.ok(c > 300 && c < 500, `leading digit count ${c}`);
});

test('generateCode does not repeat itself', () => {
  const codes = new Set(Array.from({ length: 1000 }, () => generateCode(10)));
  assert.ok(codes.size >= 999);
});

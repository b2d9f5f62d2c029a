import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alphabetChars, codeProblem, generateCode, normalizeCode } from '../../src/domain/otp.js';
import { transactionProblems } from '../../src/domain/transaction.js';

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

test('alphanumeric codes: upper case without look-alikes, every character drawn', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 500; i++) {
    const code = generateCode(8, 'alphanumeric');
    assert.match(code, /^[2-9A-HJKMNP-Z]{8}$/);
    for (const c of code) seen.add(c);
  }
  assert.equal(seen.size, alphabetChars.alphanumeric.length);
  for (const c of '01OIL') assert.ok(!alphabetChars.alphanumeric.includes(c), c);
});

test('normalizeCode and codeProblem: alphanumeric ignores case; each alphabet refuses others’ characters and lengths', () => {
  assert.equal(normalizeCode('ab3k', 'alphanumeric'), 'AB3K');
  assert.equal(normalizeCode('ab3k', 'digits'), 'ab3k');
  assert.equal(codeProblem('AB3K', 'alphanumeric'), undefined);
  assert.equal(codeProblem('123456', 'digits'), undefined);
  for (const bad of ['AB0K', 'ABOK', 'AB1K', 'ABIK', 'ABLK', 'ABC', 'ABCDEFGHJKM', 'AB K', 'ÄBCD']) assert.ok(codeProblem(bad, 'alphanumeric'), bad);
  for (const bad of ['12a4', '123', '12345678901', '１２３４']) assert.ok(codeProblem(bad, 'digits'), bad);
});

test('transaction fields: length, emptiness, edges and invisible characters are refused', () => {
  assert.deepEqual(transactionProblems({ amount: 'EUR 12.50', payee: 'Shop Ltd — Café' }), []);
  const bad = ['', ' ', ' EUR 1', 'EUR 1 ', 'a\u0000b', 'a\nb', 'a\tb', 'Shop\u202eLtd', 'a\u200bb', 'a\u2028b', 'x'.repeat(33)];
  for (const amount of bad) assert.equal(transactionProblems({ amount })[0]?.path, 'amount', JSON.stringify(amount));
  assert.equal(transactionProblems({ payee: 'p'.repeat(65) })[0]?.path, 'payee');
  assert.deepEqual(transactionProblems({ payee: 'p'.repeat(64) }), []);
});

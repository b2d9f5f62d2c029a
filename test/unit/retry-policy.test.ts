import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs, defaultBackoff, type BackoffPolicy } from '../../src/domain/retry-policy.js';

const policy: BackoffPolicy = { baseMs: 1000, capMs: 10_000, maxAttempts: 5 };

test('defaultBackoff', () => {
  assert.deepEqual(defaultBackoff, { baseMs: 500, capMs: 30_000, maxAttempts: 8 });
});

test('the ceiling doubles from baseMs per attempt and stops at capMs', () => {
  const top = (attempt: number) => backoffDelayMs(attempt, policy, () => 1);
  assert.equal(top(1), 1000);
  assert.equal(top(2), 2000);
  assert.equal(top(3), 4000);
  assert.equal(top(4), 8000);
  assert.equal(top(5), 10_000);
  assert.equal(top(6), 10_000);
  assert.equal(top(5000), 10_000, 'huge attempts stay at the cap');
});

test('the floor is half of min(base, ceiling), never 0', () => {
  for (const attempt of [1, 2, 3, 10, 100]) assert.equal(backoffDelayMs(attempt, policy, () => 0), 500, String(attempt));
  assert.equal(backoffDelayMs(1, defaultBackoff, () => 0), 250);
  // cap below base: the cap bounds both
  const tight: BackoffPolicy = { baseMs: 1000, capMs: 300, maxAttempts: 3 };
  assert.equal(backoffDelayMs(1, tight, () => 0), 150);
  assert.equal(backoffDelayMs(4, tight, () => 1), 300);
});

test('full jitter: uniform between floor and ceiling', () => {
  assert.equal(backoffDelayMs(3, policy, () => 0.5), 500 + 0.5 * 3500);
  assert.equal(backoffDelayMs(1, policy, () => 0.25), 625);
  const samples = Array.from({ length: 2000 }, () => backoffDelayMs(4, policy));
  for (const s of samples) assert.ok(s >= 500 && s <= 8000 && Number.isInteger(s), String(s));
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  assert.ok(mean > 3900 && mean < 4600, `mean ${mean}`);
  assert.ok(new Set(samples).size > 500, 'jittered, not constant');
});

test('out-of-range random values are clamped', () => {
  assert.equal(backoffDelayMs(2, policy, () => 7), 2000);
  assert.equal(backoffDelayMs(2, policy, () => -3), 500);
});

test('invalid attempts and policies throw RangeError', () => {
  for (const attempt of [0, -1, 1.5, Number.NaN]) assert.throws(() => backoffDelayMs(attempt, policy), RangeError, String(attempt));
  assert.throws(() => backoffDelayMs(1, { ...policy, baseMs: -1 }), RangeError);
  assert.throws(() => backoffDelayMs(1, { ...policy, capMs: Number.POSITIVE_INFINITY }), RangeError);
});

test('zero base gives zero delay (tests that want no waiting)', () => {
  assert.equal(backoffDelayMs(3, { baseMs: 0, capMs: 0, maxAttempts: 3 }), 0);
});

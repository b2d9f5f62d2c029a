import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pooledRandomBytes } from '../../src/domain/random-pool.js';

test('pooled random bytes: right sizes, never the same bytes twice, across many refills of the pool', () => {
  const seen = new Set<string>();
  // 5,000 × 12 bytes is about 15 pool fills.
  for (let i = 0; i < 5000; i++) {
    const b = pooledRandomBytes(12);
    assert.equal(b.length, 12);
    const hex = b.toString('hex');
    assert.notEqual(hex, '00'.repeat(12), 'an all-zero value means a used-up pool was handed out');
    assert.ok(!seen.has(hex), 'a value came out twice');
    seen.add(hex);
  }
});

test('pooled random bytes: each call gets its own buffer; sizes past the pool limit and zero work', () => {
  const a = pooledRandomBytes(16);
  const copy = Buffer.from(a);
  pooledRandomBytes(16);
  assert.deepEqual(a, copy, 'a later call changed an earlier result');
  assert.equal(pooledRandomBytes(0).length, 0);
  const big = pooledRandomBytes(1000);
  assert.equal(big.length, 1000);
  assert.ok(new Set(big).size > 100, 'a large request is random too');
  assert.throws(() => pooledRandomBytes(-1), RangeError);
  assert.throws(() => pooledRandomBytes(1.5), RangeError);
});

test('pooled random bytes: the bytes are uniform enough (every byte value appears; mean near 127.5)', () => {
  const counts = new Array<number>(256).fill(0);
  let sum = 0;
  const n = 64 * 1024;
  for (let i = 0; i < n / 8; i++) for (const v of pooledRandomBytes(8)) {
    counts[v]! += 1;
    sum += v;
  }
  assert.ok(counts.every((c) => c > 0));
  assert.ok(Math.abs(sum / n - 127.5) < 3, `mean ${sum / n}`);
});

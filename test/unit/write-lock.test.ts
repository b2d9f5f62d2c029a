import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWriteLock } from '../../src/store/write-lock.js';

test('write lock: two holders on one shared buffer never overlap, and are served in arrival order', async () => {
  const a = createWriteLock(1);
  const b = createWriteLock(2, a.buffer);
  let inside = 0;
  let overlaps = 0;
  const order: string[] = [];
  const job = (lock: typeof a, name: string) =>
    lock.run(async () => {
      inside += 1;
      if (inside > 1) overlaps += 1;
      order.push(name);
      await sleep(2);
      inside -= 1;
    });
  await Promise.all(['a1', 'b1', 'a2', 'b2', 'a3', 'b3'].map((n) => job(n.startsWith('a') ? a : b, n)));
  assert.equal(overlaps, 0);
  assert.deepEqual(order, ['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
});

test('write lock: a failing holder releases it; run returns what fn returns', async () => {
  const lock = createWriteLock(1);
  await assert.rejects(lock.run(async () => Promise.reject(new Error('boom'))), /boom/);
  assert.equal(await lock.run(async () => 42), 42);
});

test('write lock: disable() lets waiters go when the holder is gone (a dead thread)', async () => {
  const a = createWriteLock(1);
  const b = createWriteLock(2, a.buffer);
  let releaseA: () => void = () => undefined;
  // `a` takes the lock and never gives it back (its thread died).
  void a.run(() => new Promise<void>((r) => (releaseA = r)));
  await sleep(1);
  let ran = false;
  const waiting = b.run(async () => {
    ran = true;
  });
  await sleep(20);
  assert.equal(ran, false, 'b waits while a holds the lock');
  a.disable();
  await waiting;
  assert.equal(ran, true);
  assert.equal(await b.run(async () => 'later'), 'later', 'later calls do not wait');
  releaseA();
});

test('write lock: holder ids are checked', () => {
  assert.throws(() => createWriteLock(0), RangeError);
});

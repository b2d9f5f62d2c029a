import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { attemptSignal } from '../../src/dispatcher/deliver.js';

test('an attempt signal aborts at its deadline with a TimeoutError', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const drain = new AbortController();
  const a = attemptSignal(1_000, drain.signal);
  t.mock.timers.tick(999);
  assert.equal(a.signal.aborted, false);
  t.mock.timers.tick(1);
  assert.equal(a.signal.aborted, true);
  assert.equal((a.signal.reason as DOMException).name, 'TimeoutError');
  a.dispose();
  assert.equal(getEventListeners(drain.signal, 'abort').length, 0);
});

test('an attempt signal aborts when the process drains, and at once if it already has', () => {
  const drain = new AbortController();
  const a = attemptSignal(10_000, drain.signal);
  drain.abort(new Error('draining'));
  assert.equal(a.signal.aborted, true);
  assert.equal((a.signal.reason as Error).message, 'draining');
  a.dispose();
  const b = attemptSignal(10_000, drain.signal);
  assert.equal(b.signal.aborted, true);
  b.dispose();
});

test('a disposed attempt leaves nothing behind on the drain signal and no timer to fire', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const drain = new AbortController();
  const signals: AbortSignal[] = [];
  for (let k = 0; k < 1_000; k++) {
    const a = attemptSignal(1_000, drain.signal);
    a.dispose();
    signals.push(a.signal);
  }
  // The drain signal holds no listener per finished attempt (it lives as long as the process).
  assert.equal(getEventListeners(drain.signal, 'abort').length, 0);
  t.mock.timers.tick(5_000);
  drain.abort();
  assert.equal(signals.filter((s) => s.aborted).length, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners, getMaxListeners } from 'node:events';
import { attemptSignal } from '../../src/dispatcher/deliver.js';
import { drainController } from '../../src/dispatcher/drain.js';

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

/** The MaxListenersExceededWarnings emitted while `run` adds attempts (Node emits them on the next tick). */
async function listenerWarnings(run: () => void): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error) => {
    if (w.name === 'MaxListenersExceededWarning') seen.push(w.message);
  };
  process.on('warning', onWarning);
  try {
    run();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

test('the drain signal takes one listener per attempt in flight without a listener warning', async () => {
  // The check itself: where a plain signal has a listener cap (10 on Node 20; Node 24 sets
  // none), going past it warns.
  const plain = new AbortController();
  const cap = getMaxListeners(plain.signal);
  if (cap > 0) {
    const plainAttempts: Array<{ dispose(): void }> = [];
    const warned = await listenerWarnings(() => {
      for (let i = 0; i <= cap; i++) plainAttempts.push(attemptSignal(60_000, plain.signal));
    });
    for (const a of plainAttempts) a.dispose();
    assert.equal(warned.length, 1, `a plain AbortController warns at ${cap + 1} listeners`);
  }

  const drain = drainController();
  const attempts: Array<{ dispose(): void }> = [];
  const none = await listenerWarnings(() => {
    for (let i = 0; i < 200; i++) attempts.push(attemptSignal(60_000, drain.signal));
  });
  assert.deepEqual(none, []);
  assert.equal(getEventListeners(drain.signal, 'abort').length, 200);
  for (const a of attempts) a.dispose();
  assert.equal(getEventListeners(drain.signal, 'abort').length, 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { createRedisBreaker, SKIPPED } from '../../src/store/redis-breaker.js';
import { captureLogs } from '../helpers/app.js';

const refused = () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }));
const answers = () => Promise.resolve('OK');

test('the pause after a failure starts at 1 s, doubles with each failed try up to 30 s, and a success ends it', async () => {
  const clock = createManualClock();
  const { stream, capture } = captureLogs();
  const changes: boolean[] = [];
  const breaker = createRedisBreaker({ clock, logger: createLogger({ level: 'info', destination: stream }), onChange: (up) => changes.push(up) });

  assert.equal(await breaker.run(answers, 250), 'OK');
  assert.equal(await breaker.run(refused, 250), SKIPPED);
  assert.equal(breaker.up, false);
  const pauses: number[] = [];
  for (let round = 0; round < 8; round++) {
    // Find when the next try goes: every call before it is skipped without calling.
    let waited = 0;
    let called = false;
    while (!called) {
      const before = breaker.stats.attempts;
      await breaker.run(refused, 250);
      called = breaker.stats.attempts > before;
      if (!called) {
        clock.advance(250);
        waited += 250;
      }
    }
    pauses.push(waited);
  }
  assert.deepEqual(pauses, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);

  clock.advance(30_000);
  assert.equal(await breaker.run(answers, 250), 'OK', 'the try after the pause answers');
  assert.equal(breaker.up, true);
  assert.equal(await breaker.run(answers, 250), 'OK');
  // A new outage starts again from 1 s.
  await breaker.run(refused, 250);
  clock.advance(999);
  assert.equal(await breaker.run(answers, 250), SKIPPED);
  clock.advance(1);
  assert.equal(await breaker.run(answers, 250), 'OK');

  assert.deepEqual(changes, [false, true, false, true]);
  assert.equal(capture.lines.filter((l) => l.includes('Redis is not answering')).length, 2, 'once per outage');
  assert.equal(capture.lines.filter((l) => l.includes('Redis answers again')).length, 2);
});

test('calls already in flight when Redis fails do not lengthen the pause; one try at a time after it', async () => {
  const clock = createManualClock();
  const breaker = createRedisBreaker({ clock, logger: createLogger({ level: 'silent' }) });
  let fail!: (err: Error) => void;
  const slow = () => new Promise<string>((_, reject) => (fail = reject));
  const inFlight = breaker.run(slow, 10_000);
  await breaker.run(refused, 250);
  fail(new Error('Connection is closed.'));
  assert.equal(await inFlight, SKIPPED);
  clock.advance(1000);
  // The pause is still 1 s: the try goes now; while it runs, the others skip.
  let answer!: (v: string) => void;
  const trial = breaker.run(() => new Promise<string>((r) => (answer = r)), 250);
  assert.equal(await breaker.run(answers, 250), SKIPPED, 'a second call while the try runs is skipped');
  answer('OK');
  assert.equal(await trial, 'OK');
  assert.equal(breaker.up, true);
});

test('a call past its deadline counts as a failure', async () => {
  const clock = createManualClock();
  const breaker = createRedisBreaker({ clock, logger: createLogger({ level: 'silent' }) });
  assert.equal(await breaker.run(() => new Promise<string>(() => undefined), 5), SKIPPED);
  assert.equal(breaker.up, false);
});

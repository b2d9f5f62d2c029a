import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { blockDuration, ESCALATION_WINDOW_MS, MAX_BLOCK_MINUTES } from '../../src/domain/fraud/escalation.js';
import { bestVerifiedDay, bucketOf, DAY_MS, HOUR_MS, slidingSum, type BucketCounts } from '../../src/domain/fraud/windows.js';

const at = (day: number, hour: number, minute = 0) => Date.UTC(2026, 2, day, hour, minute);
const row = (bucket: number, sent: number, verified = 0): BucketCounts => ({ bucket, sent, verified });

describe('hour buckets', () => {
  test('a time falls in the bucket of the hour it is in', () => {
    assert.equal(bucketOf(at(10, 9, 0)), at(10, 9));
    assert.equal(bucketOf(at(10, 9, 59) + 59_999), at(10, 9));
    assert.equal(bucketOf(at(10, 10, 0)), at(10, 10));
  });
});

describe('slidingSum', () => {
  const rows = [row(at(10, 8), 100, 100), row(at(10, 9), 4, 2), row(at(10, 10), 6, 1), row(at(10, 11), 1000, 1000)];

  test('the oldest bucket counts for the share of it still inside the window', () => {
    const clock = createManualClock(at(10, 10, 15));
    // 1 h ending 10:15 covers 9:15–10:15: three quarters of the 9:00 bucket, all of 10:00.
    assert.deepEqual(slidingSum(rows, clock.now(), 1), { sent: 4 * 0.75 + 6, verified: 2 * 0.75 + 1 });
    clock.advance(30 * 60_000);
    assert.deepEqual(slidingSum(rows, clock.now(), 1), { sent: 4 * 0.25 + 6, verified: 2 * 0.25 + 1 });
  });

  test('at the top of the hour the oldest bucket is wholly inside; it fades out over the hour', () => {
    const clock = createManualClock(at(10, 10));
    assert.deepEqual(slidingSum(rows, clock.now(), 1), { sent: 10, verified: 3 });
    clock.advance(HOUR_MS - 1);
    const late = slidingSum(rows, clock.now(), 1);
    assert.ok(late.sent > 6 && late.sent < 6.001, String(late.sent));
  });

  test('buckets older than the window and newer than now do not count', () => {
    const clock = createManualClock(at(10, 10, 15));
    const s = slidingSum(rows, clock.now(), 1);
    assert.ok(s.sent < 100, 'the 8:00 bucket is outside the hour');
    assert.ok(s.sent < 1000, 'the 11:00 bucket is in the future');
  });

  test('24 h: every bucket of the day, the one 24 h back weighted', () => {
    const day = [row(at(9, 12), 40), row(at(9, 13), 8), row(at(9, 20), 5), row(at(10, 12), 3)];
    const clock = createManualClock(at(10, 12, 30));
    // 12:30 → 12:30 yesterday: half of yesterday's 12:00, all the rest.
    assert.equal(slidingSum(day, clock.now(), 24).sent, 20 + 8 + 5 + 3);
    clock.advance(HOUR_MS);
    assert.equal(slidingSum(day, clock.now(), 24).sent, 4 + 5 + 3, 'yesterday’s 12:00 left, half of its 13:00 remains');
  });

  test('no rows: zero', () => {
    assert.deepEqual(slidingSum([], at(10, 10), 24), { sent: 0, verified: 0 });
  });
});

describe('bestVerifiedDay', () => {
  test('the most verified on one UTC day, summed over its hours, today excluded', () => {
    const clock = createManualClock(at(20, 15));
    const rows = [
      row(at(19, 1), 50, 10),
      row(at(19, 23), 50, 15), // day 19: 25
      row(at(18, 12), 50, 20), // day 18: 20
      row(at(20, 0), 500, 400), // today: never counts
      row(at(20, 14), 500, 400),
    ];
    assert.equal(bestVerifiedDay(rows, clock.now(), 14), 25);
  });

  test('14 days back counts, 15 days back does not', () => {
    const clock = createManualClock(at(20, 15));
    assert.equal(bestVerifiedDay([row(at(6, 23), 90, 90)], clock.now(), 14), 90, 'day 6 is 14 days before day 20');
    assert.equal(bestVerifiedDay([row(at(5, 23), 90, 90)], clock.now(), 14), 0, 'day 5 is 15 days before');
  });

  test('at midnight yesterday joins and the oldest day leaves', () => {
    const clock = createManualClock(at(20, 23, 59));
    const rows = [row(at(6, 10), 0, 30), row(at(20, 10), 0, 12)];
    assert.equal(bestVerifiedDay(rows, clock.now(), 14), 30);
    clock.advance(60_000); // 21 March, 00:00
    assert.equal(clock.now(), at(21, 0));
    assert.equal(bestVerifiedDay(rows, clock.now(), 14), 12, 'day 6 is now 15 days back; day 20 is yesterday');
  });

  test('no verified traffic: 0', () => {
    assert.equal(bestVerifiedDay([row(at(19, 1), 50, 0)], at(20, 1), 14), 0);
    assert.equal(bestVerifiedDay([], at(20, 1), 14), 0);
  });

  test('days are UTC days', () => {
    assert.equal(DAY_MS, 86_400_000);
    // 23:30 and 00:30 are two days, not one.
    const rows = [row(at(18, 23), 0, 6), row(at(19, 0), 0, 7)];
    assert.equal(bestVerifiedDay(rows, at(20, 12), 14), 7);
  });
});

describe('escalation', () => {
  test('15 → 30 → 60 → … minutes, never over 720', () => {
    const lengths: number[] = [];
    let level: number | undefined;
    for (let i = 0; i < 9; i++) {
      const d = blockDuration(15, level);
      assert.equal(d.level, i);
      lengths.push(d.minutes);
      level = d.level;
    }
    assert.deepEqual(lengths, [15, 30, 60, 120, 240, 480, 720, 720, 720]);
    assert.equal(MAX_BLOCK_MINUTES, 720);
  });

  test('a first block lasts block_minutes, even the longest allowed', () => {
    assert.deepEqual(blockDuration(1, undefined), { level: 0, minutes: 1 });
    assert.deepEqual(blockDuration(720, undefined), { level: 0, minutes: 720 });
    assert.deepEqual(blockDuration(720, 0), { level: 1, minutes: 720 });
  });

  test('a very long run of repeats stays at the cap (no overflow)', () => {
    assert.deepEqual(blockDuration(15, 5000), { level: 5001, minutes: 720 });
  });

  test('repeats escalate within 24 h', () => {
    assert.equal(ESCALATION_WINDOW_MS, 24 * HOUR_MS);
  });
});

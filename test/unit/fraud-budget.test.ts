import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crossedWarning, exceeds, limitsOf, MICROS, periodBounds, toMicros, type BudgetUse } from '../../src/domain/fraud/budget.js';
import { segmentPrice } from '../../src/domain/fraud/settings.js';

const utc = (y: number, m: number, d: number, h = 0, min = 0, s = 0, ms = 0) => Date.UTC(y, m - 1, d, h, min, s, ms);
const iso = (b: { start: number; end: number }) => ({ start: new Date(b.start).toISOString(), end: new Date(b.end).toISOString() });
const use = (messages: number, spend = 0): BudgetUse => ({ messages, spendMicros: toMicros(spend) });

describe('periodBounds', () => {
  test('a UTC day, from its first to its last millisecond', () => {
    const day = { start: '2026-03-15T00:00:00.000Z', end: '2026-03-16T00:00:00.000Z' };
    assert.deepEqual(iso(periodBounds('day', utc(2026, 3, 15, 13, 45))), day);
    assert.deepEqual(iso(periodBounds('day', utc(2026, 3, 15))), day);
    assert.deepEqual(iso(periodBounds('day', utc(2026, 3, 15, 23, 59, 59, 999))), day);
    assert.deepEqual(iso(periodBounds('day', utc(2026, 3, 16))), { start: '2026-03-16T00:00:00.000Z', end: '2026-03-17T00:00:00.000Z' });
  });

  test('the last day of a year ends at the next year’s first', () => {
    assert.deepEqual(iso(periodBounds('day', utc(2026, 12, 31, 18))), { start: '2026-12-31T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' });
  });

  test('a UTC month, whatever its length', () => {
    assert.deepEqual(iso(periodBounds('month', utc(2026, 1, 31, 23, 59, 59, 999))), { start: '2026-01-01T00:00:00.000Z', end: '2026-02-01T00:00:00.000Z' });
    assert.deepEqual(iso(periodBounds('month', utc(2026, 2, 1))), { start: '2026-02-01T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' });
    assert.deepEqual(iso(periodBounds('month', utc(2026, 4, 30, 12))), { start: '2026-04-01T00:00:00.000Z', end: '2026-05-01T00:00:00.000Z' });
    assert.deepEqual(iso(periodBounds('month', utc(2026, 12, 31, 23, 59))), { start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' });
  });

  test('February has 29 days in a leap year, 28 otherwise (2100 is not a leap year)', () => {
    const days = (y: number) => {
      const b = periodBounds('month', utc(y, 2, 10));
      return (b.end - b.start) / 86_400_000;
    };
    assert.equal(days(2028), 29);
    assert.equal(days(2027), 28);
    assert.equal(days(2000), 29);
    assert.equal(days(2100), 28);
    assert.deepEqual(iso(periodBounds('day', utc(2028, 2, 29, 10))), { start: '2028-02-29T00:00:00.000Z', end: '2028-03-01T00:00:00.000Z' });
    assert.deepEqual(iso(periodBounds('month', utc(2028, 2, 29, 23, 59))), { start: '2028-02-01T00:00:00.000Z', end: '2028-03-01T00:00:00.000Z' });
  });
});

describe('exceeds', () => {
  test('a message budget: the last message up to the limit passes, the next does not', () => {
    const b = { daily_messages: 10 };
    assert.equal(exceeds(b, 'day', use(9), use(1)), null);
    assert.deepEqual(exceeds(b, 'day', use(10), use(1)), { budget: 'daily_messages', limit: 10, used: 10 });
    assert.equal(exceeds(b, 'month', use(1000), use(1)), null, 'a daily budget says nothing about the month');
  });

  test('monthly budgets apply to the month', () => {
    const b = { monthly_messages: 100, monthly_spend: 5 };
    assert.equal(exceeds(b, 'month', use(99, 4.9), use(1, 0.1)), null);
    assert.deepEqual(exceeds(b, 'month', use(100, 1), use(1, 0.1)), { budget: 'monthly_messages', limit: 100, used: 100 });
    assert.deepEqual(exceeds(b, 'month', use(50, 4.95), use(1, 0.1)), { budget: 'monthly_spend', limit: 5, used: 4.95 });
    assert.equal(exceeds(b, 'day', use(1000, 1000), use(1, 1)), null);
  });

  test('spend is exact in micros: 20 sends at 0.05 fill a budget of 1 exactly', () => {
    const b = { daily_spend: 1 };
    let used = use(0);
    for (let i = 0; i < 20; i++) {
      assert.equal(exceeds(b, 'day', used, use(1, 0.05)), null, `send ${i + 1}`);
      used = { messages: used.messages + 1, spendMicros: used.spendMicros + toMicros(0.05) };
    }
    assert.equal(used.spendMicros, MICROS);
    assert.deepEqual(exceeds(b, 'day', used, use(1, 0.05)), { budget: 'daily_spend', limit: 1, used: 1 });
    // 0.1 + 0.2 in floating point is 0.30000000000000004; in micros it is 300000.
    assert.equal(toMicros(0.1) + toMicros(0.2), toMicros(0.3));
  });

  test('a 2-segment message costs twice and can pass a budget one segment would not', () => {
    const b = { daily_spend: 0.3 };
    const price = toMicros(0.1);
    assert.equal(exceeds(b, 'day', use(2, 0.2), { messages: 1, spendMicros: price }), null);
    assert.ok(exceeds(b, 'day', use(2, 0.2), { messages: 1, spendMicros: price * 2 }));
  });

  test('no budget: nothing is exceeded', () => {
    assert.equal(exceeds({}, 'day', use(1e9, 1e9), use(1, 1)), null);
    assert.deepEqual(limitsOf({}, 'month'), {});
  });
});

describe('crossedWarning', () => {
  test('the send that reaches 80 % crosses it; those before and after do not', () => {
    const b = { daily_messages: 10 };
    assert.deepEqual(crossedWarning(b, 'day', use(6), use(7)), []);
    assert.deepEqual(crossedWarning(b, 'day', use(7), use(8)), ['daily_messages']);
    assert.deepEqual(crossedWarning(b, 'day', use(8), use(9)), []);
  });

  test('a run of sends from 0 to the limit crosses it exactly once, per budget', () => {
    const b = { daily_messages: 25, daily_spend: 2, monthly_messages: 1000 };
    const crossings: string[] = [];
    let before = use(0);
    for (let i = 0; i < 25; i++) {
      const after = { messages: before.messages + 1, spendMicros: before.spendMicros + toMicros(0.08) };
      crossings.push(...crossedWarning(b, 'day', before, after), ...crossedWarning(b, 'month', before, after));
      before = after;
    }
    assert.deepEqual(crossings.sort(), ['daily_messages', 'daily_spend']);
  });

  test('a jump over the mark (a multi-segment message) crosses it', () => {
    assert.deepEqual(crossedWarning({ monthly_spend: 1 }, 'month', use(0, 0.7), use(1, 0.9)), ['monthly_spend']);
    assert.deepEqual(crossedWarning({ monthly_spend: 1 }, 'month', use(0, 0.7), use(1, 0.79)), []);
  });

  test('both budgets of a period can cross with one send', () => {
    assert.deepEqual(crossedWarning({ daily_messages: 5, daily_spend: 1 }, 'day', use(3, 0.7), use(4, 0.8)), ['daily_messages', 'daily_spend']);
  });
});

describe('segmentPrice', () => {
  test('the country’s price, else the default, else 0', () => {
    const prices = { default: 0.05, GB: 0.04 };
    assert.equal(segmentPrice(prices, 'GB'), 0.04);
    assert.equal(segmentPrice(prices, 'DE'), 0.05);
    assert.equal(segmentPrice(prices, undefined), 0.05);
    assert.equal(segmentPrice({ GB: 0.04 }, 'DE'), 0);
    assert.equal(segmentPrice({ GB: 0 }, 'GB'), 0, 'a price of 0 is a price');
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countryDayRule, countryHourRule, type CountryFigures } from '../../src/domain/fraud/country-conversion.js';
import { ipCountriesRule, ipDayRule } from '../../src/domain/fraud/ip.js';
import { numberDayRule, unverifiedSinceLastVerified } from '../../src/domain/fraud/number.js';
import { prefixDayRule, prefixHourRule, prefixOf, prefixVelocityRule, velocityRange } from '../../src/domain/fraud/prefix.js';
import { unverified, type Trip } from '../../src/domain/fraud/types.js';

// Every rule gets thresholds of its own here, never the defaults: those are tuned by the
// simulation (bench/) and would make these tests move with them.

const country = (day: { sent: number; verified: number }, hour: { sent: number; verified: number }, bestDay: number): CountryFigures => ({ country: 'GB', day, hour, bestDay });

/** The trip, asserted present. */
function tripped(t: Trip | null): Trip {
  assert.ok(t, 'the rule should have tripped');
  return t;
}

describe('country_day', () => {
  const t = { floor: 7, ratio: 0.5 };

  test('the floor: 7 unverified before this send trip it (8 > 7), 6 do not', () => {
    assert.equal(countryDayRule(t, country({ sent: 6, verified: 0 }, { sent: 0, verified: 0 }, 0)), null);
    const trip = tripped(countryDayRule(t, country({ sent: 7, verified: 0 }, { sent: 0, verified: 0 }, 0)));
    assert.equal(trip.rule, 'country_day');
    assert.equal(trip.kind, 'country');
    assert.equal(trip.key, 'GB');
    assert.equal(trip.figures.unverified, 8);
    assert.equal(trip.figures.threshold, 7);
    assert.equal(trip.reason, 'unverified in 24 h 8 > max(7, 0.5 × best day 0, 0.5 × verified in 24 h 0)');
  });

  test('the best verified day of the last 14 raises the threshold: ratio × 40 = 20', () => {
    assert.equal(countryDayRule(t, country({ sent: 19, verified: 0 }, { sent: 0, verified: 0 }, 40)), null);
    const trip = tripped(countryDayRule(t, country({ sent: 20, verified: 0 }, { sent: 0, verified: 0 }, 40)));
    assert.equal(trip.figures.threshold, 20);
    assert.equal(trip.figures.best_day_verified, 40);
  });

  test('codes verified in the last 24 h raise it too: 60 verified → 30, and they are not unverified', () => {
    // 60 verified of 89 sent: 29 unverified, +1 = 30, not > 30.
    assert.equal(countryDayRule(t, country({ sent: 89, verified: 60 }, { sent: 0, verified: 0 }, 0)), null);
    // One more unverified: 31 > 30.
    const trip = tripped(countryDayRule(t, country({ sent: 90, verified: 60 }, { sent: 0, verified: 0 }, 0)));
    assert.equal(trip.figures.threshold, 30);
    assert.equal(trip.figures.verified_24h, 60);
  });

  test('fractional counts (the weighted oldest bucket) compare as they are', () => {
    assert.equal(countryDayRule(t, country({ sent: 5.99, verified: 0 }, { sent: 0, verified: 0 }, 0)), null);
    assert.ok(countryDayRule(t, country({ sent: 6.01, verified: 0 }, { sent: 0, verified: 0 }, 0)));
  });
});

describe('country_hour', () => {
  const t = { floor: 4, ratio: 0.3 };

  test('the floor: 4 unverified in the hour trip it, 3 do not', () => {
    assert.equal(countryHourRule(t, country({ sent: 3, verified: 0 }, { sent: 3, verified: 0 }, 0)), null);
    const trip = tripped(countryHourRule(t, country({ sent: 4, verified: 0 }, { sent: 4, verified: 0 }, 0)));
    assert.equal(trip.rule, 'country_hour');
    assert.equal(trip.key, 'GB');
    assert.equal(trip.figures.unverified, 5);
    assert.equal(trip.figures.threshold, 4);
  });

  test('a day of verified traffic spread over 6 hours: 0.3 × 200 ÷ 6 = 10', () => {
    assert.equal(countryHourRule(t, country({ sent: 9, verified: 0 }, { sent: 9, verified: 0 }, 200)), null);
    const trip = tripped(countryHourRule(t, country({ sent: 10, verified: 0 }, { sent: 10, verified: 0 }, 200)));
    assert.equal(trip.figures.threshold, 10);
    assert.equal(trip.figures.daily_verified, 200);
  });

  test('the larger of the best day and the last 24 h is the base', () => {
    // Best day 60, but 200 verified in the last 24 h: base 200, threshold 10.
    assert.equal(countryHourRule(t, country({ sent: 200, verified: 200 }, { sent: 9, verified: 0 }, 60)), null);
    assert.ok(countryHourRule(t, country({ sent: 200, verified: 200 }, { sent: 10, verified: 0 }, 60)));
  });

  test('only the hour’s unverified codes count, not the day’s', () => {
    assert.equal(countryHourRule(t, country({ sent: 500, verified: 0 }, { sent: 3, verified: 0 }, 0)), null);
  });
});

describe('prefix_hour', () => {
  const t = { floor: 6, ratio: 0.25 };

  test('the floor: 6 unverified in the hour trip it, 5 do not', () => {
    assert.equal(prefixHourRule(t, '+447400123', { sent: 5, verified: 0 }, 0), null);
    const trip = tripped(prefixHourRule(t, '+447400123', { sent: 6, verified: 0 }, 0));
    assert.equal(trip.rule, 'prefix_hour');
    assert.equal(trip.kind, 'prefix');
    assert.equal(trip.key, '+447400123');
    assert.equal(trip.figures.unverified, 7);
    assert.equal(trip.figures.threshold, 6);
  });

  test('verified codes to the prefix in 24 h raise it: 0.25 × 40 = 10', () => {
    assert.equal(prefixHourRule(t, '+447400123', { sent: 9, verified: 0 }, 40), null);
    const trip = tripped(prefixHourRule(t, '+447400123', { sent: 10, verified: 0 }, 40));
    assert.equal(trip.figures.threshold, 10);
  });

  test('verified codes of the hour are not unverified', () => {
    assert.equal(prefixHourRule(t, '+447400123', { sent: 20, verified: 15 }, 15), null);
    assert.ok(prefixHourRule(t, '+447400123', { sent: 21, verified: 15 }, 15));
  });
});

describe('prefix_day', () => {
  const t = { floor: 5, ratio: 0.5 };

  test('the floor: 5 unverified in 24 h trip it, 4 do not', () => {
    assert.equal(prefixDayRule(t, '+447400123', { sent: 4, verified: 0 }), null);
    const trip = tripped(prefixDayRule(t, '+447400123', { sent: 5, verified: 0 }));
    assert.equal(trip.rule, 'prefix_day');
    assert.equal(trip.kind, 'prefix');
    assert.equal(trip.key, '+447400123');
    assert.equal(trip.figures.unverified, 6);
    assert.equal(trip.figures.threshold, 5);
    assert.match(trip.reason, /unverified in 24 h 6 > max\(5, 0.5 × verified 0\)/);
  });

  test('verified codes to the prefix raise it: 0.5 × 30 = 15, and they are not unverified', () => {
    assert.equal(prefixDayRule(t, '+447400123', { sent: 44, verified: 30 }), null);
    const trip = tripped(prefixDayRule(t, '+447400123', { sent: 45, verified: 30 }));
    assert.equal(trip.figures.threshold, 15);
    assert.equal(trip.figures.unverified, 16);
  });
});

describe('number_day', () => {
  const t = { max: 6 };

  test('the 7th code since the last verified one trips it; the 6th does not', () => {
    assert.equal(numberDayRule(t, '+447700900123', 6), null);
    const trip = tripped(numberDayRule(t, '+447700900123', 7));
    assert.equal(trip.rule, 'number_day');
    assert.equal(trip.kind, 'number');
    assert.equal(trip.key, '+447700900123');
    assert.deepEqual(trip.figures, { unverified: 7, max: 6 });
  });

  test('a verified code ends the count: only the codes after it are pending', () => {
    const v = (verified_at: number | null) => ({ verified_at });
    assert.equal(unverifiedSinceLastVerified([]), 0);
    assert.equal(unverifiedSinceLastVerified([v(null), v(null), v(null)]), 3);
    assert.equal(unverifiedSinceLastVerified([v(null), v(null), v(1000), v(null), v(null)]), 2);
    assert.equal(unverifiedSinceLastVerified([v(1000), v(null)]), 0);
  });
});

describe('prefix_velocity', () => {
  const t = { numbers: 4, span: 20, window_minutes: 10 };
  const p = '+447400123';
  const one = (s: number) => `${p}${String(s).padStart(3, '0')}`;
  const n = (...suffixes: number[]) => suffixes.map(one);
  // The last suffix is the send's number, the others the numbers read for it.
  const judge = (...suffixes: number[]) => prefixVelocityRule(t, p, one(suffixes.at(-1)!), n(...suffixes.slice(0, -1)));

  test('4 numbers within 20 of each other trip it; within 21 they do not', () => {
    assert.equal(judge(100, 107, 113, 121), null);
    const trip = tripped(judge(100, 107, 113, 120));
    assert.equal(trip.rule, 'prefix_velocity');
    assert.equal(trip.kind, 'prefix');
    assert.equal(trip.key, p);
    assert.equal(trip.figures.closest_span, 20);
    assert.equal(trip.figures.distinct_numbers, 4);
  });

  test('3 numbers are one fewer than the threshold, however close', () => {
    assert.equal(judge(100, 101, 102), null);
    assert.ok(judge(100, 101, 102, 103));
  });

  test('a repeated number counts once, the send’s own number too', () => {
    assert.equal(judge(100, 101, 102, 102, 101), null);
    assert.equal(judge(100, 101, 102, 102), null);
  });

  test('the tightest run that holds the send’s number counts, in any order', () => {
    const trip = tripped(judge(900, 5, 530, 0, 700, 515, 520, 512));
    assert.equal(trip.figures.closest_span, 18);
    // The numbers within 20 of 512: 515, 520, 530 and itself (the others are never read for it).
    assert.equal(trip.figures.distinct_numbers, 4);
  });

  test('a run the send’s number is not part of is the earlier sends’ (each was judged), not this one’s', () => {
    assert.equal(judge(100, 101, 102, 103, 400), null);
    assert.equal(judge(100, 101, 102, 103, 124), null);
    assert.ok(judge(100, 101, 102, 103, 104));
  });

  test('longer numbers that start with the prefix’s digits are of other prefixes, and left out', () => {
    assert.equal(prefixVelocityRule(t, p, one(100), [`${p}1011`, `${p}1022`, `${p}1033`]), null);
    assert.ok(prefixVelocityRule(t, p, one(100), [one(101), one(102), one(103)]));
  });

  test('scattered numbers of one range do not trip it', () => {
    assert.equal(judge(3, 150, 290, 480, 610, 999), null);
  });
});

describe('velocityRange', () => {
  test('the numbers of the prefix within span of this one, as a range of strings', () => {
    assert.deepEqual(velocityRange('+447400123500', '+447400123', 20), { from: '+447400123480', to: '+447400123520:' });
  });

  test('clamped at the prefix’s first and last number', () => {
    assert.deepEqual(velocityRange('+447400123005', '+447400123', 20), { from: '+447400123000', to: '+447400123025:' });
    assert.deepEqual(velocityRange('+447400123990', '+447400123', 20), { from: '+447400123970', to: '+447400123999:' });
    assert.deepEqual(velocityRange('+447400123500', '+447400123', 10_000), { from: '+447400123000', to: '+447400123999:' });
  });

  test('holds exactly the prefix’s numbers within span, whatever their order as strings', () => {
    const prefix = '+1415555';
    const { from, to } = velocityRange('+14155550042', prefix, 20);
    const inside = [];
    for (let s = 0; s < 10_000; s++) {
      const number = `${prefix}${String(s).padStart(4, '0')}`;
      if (number >= from && number < to) inside.push(s);
    }
    assert.deepEqual(inside, Array.from({ length: 41 }, (_, i) => 22 + i));
  });
});

describe('ip_countries', () => {
  test('4 countries pass a max of 4; the 5th trips it', () => {
    assert.equal(ipCountriesRule({ max: 4 }, '203.0.113.9', 4), null);
    const trip = tripped(ipCountriesRule({ max: 4 }, '203.0.113.9', 5));
    assert.equal(trip.rule, 'ip_countries');
    assert.equal(trip.kind, 'ip');
    assert.equal(trip.key, '203.0.113.9');
    assert.deepEqual(trip.figures, { countries: 5, max: 4 });
    assert.equal(trip.reason, '5 destination countries in 24 h > 4');
  });

  test('a max of 1 allows one country only', () => {
    assert.equal(ipCountriesRule({ max: 1 }, '2001:db8::1', 1), null);
    assert.ok(ipCountriesRule({ max: 1 }, '2001:db8::1', 2));
  });
});

describe('ip_day', () => {
  const t = { floor: 5, ratio: 2 };

  test('the floor: 5 unverified from the IP trip it, 4 do not', () => {
    assert.equal(ipDayRule(t, '203.0.113.9', { sent: 4, verified: 0 }), null);
    const trip = tripped(ipDayRule(t, '203.0.113.9', { sent: 5, verified: 0 }));
    assert.equal(trip.rule, 'ip_day');
    assert.equal(trip.kind, 'ip');
    assert.equal(trip.key, '203.0.113.9');
    assert.equal(trip.figures.unverified, 6);
    assert.equal(trip.figures.threshold, 5);
  });

  test('a shared address that verifies keeps itself open: 2 × 10 verified = 20', () => {
    // 29 sent, 10 verified: 19 unverified, +1 = 20, not > 20.
    assert.equal(ipDayRule(t, '203.0.113.9', { sent: 29, verified: 10 }), null);
    const trip = tripped(ipDayRule(t, '203.0.113.9', { sent: 30, verified: 10 }));
    assert.equal(trip.figures.threshold, 20);
    assert.equal(trip.figures.verified_24h, 10);
  });
});

describe('prefixOf', () => {
  test('the number less its last digits', () => {
    assert.equal(prefixOf('+447400123456', 3), '+447400123');
    assert.equal(prefixOf('+447400123456', 2), '+4474001234');
    assert.equal(prefixOf('+447400123456', 5), '+4474001');
    assert.equal(prefixOf('+14155552671', 4), '+1415555');
  });

  test('numbers of one range share it; the next range does not', () => {
    assert.equal(prefixOf('+447400123000', 3), prefixOf('+447400123999', 3));
    assert.notEqual(prefixOf('+447400123999', 3), prefixOf('+447400124000', 3));
  });

  test('a short number keeps at least its + and first digit', () => {
    assert.equal(prefixOf('+448001111', 5), '+4480');
    assert.equal(prefixOf('+12', 5), '+1');
  });
});

test('unverified never goes below 0', () => {
  assert.equal(unverified({ sent: 3, verified: 5 }), 0);
  assert.equal(unverified({ sent: 5, verified: 3 }), 2);
});

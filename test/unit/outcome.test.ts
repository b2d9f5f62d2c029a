import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, failureActions, maxAttemptsPerProvider, type Decision } from '../../src/dispatcher/outcome.js';
import { providerErrorKinds, type ProviderErrorKind } from '../../src/providers/provider-error.js';
import { backoffDelayMs, defaultBackoff } from '../../src/domain/retry-policy.js';

/**
 * The dispatcher's ONE outcome table (issue 3 §6, STYLE.md): transient, rate-limited and
 * unknown failures retry the same provider with backoff (capped, jittered, Retry-After
 * honoured, never past the code's expiry) and then fail over; auth and rejected fail over at
 * once; an invalid recipient stops. `decide()` is called by src/dispatcher/deliver.ts with the
 * backoff of `backoffDelayMs(chainAttempts, defaultBackoff)`; the tests below compose it the
 * same way where jitter and the cap matter.
 */

const NOW = 1_700_000_000_000;
const TTL = 5 * 60_000;
const BACKOFF = 400;

type Input = Parameters<typeof decide>[0];

function input(kind: ProviderErrorKind, over: Partial<Input> = {}): Input {
  return { kind, chainAttempts: 1, chainIndex: 0, chainLength: 2, backoffMs: BACKOFF, now: NOW, expiresAt: NOW + TTL, ...over };
}

/** The situations after a failed attempt, as `decide()` sees them. */
const situations = {
  'attempts left, another provider next': {},
  'attempts left, last provider in the chain': { chainIndex: 1 },
  'attempts left, only provider': { chainLength: 1 },
  'retry cap reached, another provider next': { chainAttempts: maxAttemptsPerProvider },
  'retry cap reached, last provider in the chain': { chainAttempts: maxAttemptsPerProvider, chainIndex: 1 },
  'code expires before the next retry, another provider next': { expiresAt: NOW + BACKOFF },
  'code expires before the next retry, last provider in the chain': { chainIndex: 1, expiresAt: NOW + BACKOFF },
} satisfies Record<string, Partial<Input>>;
type Situation = keyof typeof situations;

const retry: Decision = { action: 'retry', delayMs: BACKOFF };
const failover: Decision = { action: 'failover' };
const exhausted: Decision = { action: 'stop', reason: 'exhausted' };
const expired: Decision = { action: 'stop', reason: 'expired' };
const invalid: Decision = { action: 'stop', reason: 'invalid_recipient' };

/** Retry with backoff, then fail over; at the end of the chain, stop. */
const retryThenFailover: Record<Situation, Decision> = {
  'attempts left, another provider next': retry,
  'attempts left, last provider in the chain': retry,
  'attempts left, only provider': retry,
  'retry cap reached, another provider next': failover,
  'retry cap reached, last provider in the chain': exhausted,
  'code expires before the next retry, another provider next': failover,
  'code expires before the next retry, last provider in the chain': expired,
};
/** Fail over at once whatever the attempts; at the end of the chain, stop. */
const failoverAtOnce: Record<Situation, Decision> = {
  'attempts left, another provider next': failover,
  'attempts left, last provider in the chain': exhausted,
  'attempts left, only provider': exhausted,
  'retry cap reached, another provider next': failover,
  'retry cap reached, last provider in the chain': exhausted,
  'code expires before the next retry, another provider next': failover,
  'code expires before the next retry, last provider in the chain': exhausted,
};
const stopAlways = Object.fromEntries(Object.keys(situations).map((s) => [s, invalid])) as Record<Situation, Decision>;

const expected: Record<ProviderErrorKind, Record<Situation, Decision>> = {
  transient: retryThenFailover,
  rate_limited: retryThenFailover,
  unknown: retryThenFailover,
  auth: failoverAtOnce,
  rejected: failoverAtOnce,
  invalid_recipient: stopAlways,
};

describe('the outcome table', () => {
  test('one action per error kind, as the issue states it, frozen', () => {
    assert.deepEqual({ ...failureActions }, {
      transient: 'retry',
      rate_limited: 'retry',
      unknown: 'retry',
      auth: 'failover',
      rejected: 'failover',
      invalid_recipient: 'stop',
    });
    assert.deepEqual(Object.keys(failureActions).sort(), [...providerErrorKinds].sort(), 'every ProviderError kind has exactly one row');
    assert.ok(Object.isFrozen(failureActions));
  });

  test('three attempts on one provider before a retryable failure fails over', () => {
    assert.equal(maxAttemptsPerProvider, 3);
  });

  for (const kind of providerErrorKinds) {
    describe(kind, () => {
      for (const [situation, over] of Object.entries(situations) as [Situation, Partial<Input>][]) {
        test(situation, () => {
          assert.deepEqual(decide(input(kind, over)), expected[kind][situation]);
        });
      }
    });
  }
});

describe('walking a chain attempt by attempt', () => {
  /** Feeds `decide()` the same failure until it fails over or stops, like the dispatcher does. */
  function walk(kind: ProviderErrorKind, chainLength: number, retryAfterMs?: number): string[] {
    const steps: string[] = [];
    let chainIndex = 0;
    let chainAttempts = 0;
    let now = NOW;
    for (let guard = 0; guard < 50; guard++) {
      chainAttempts += 1;
      const d = decide({
        kind,
        chainAttempts,
        chainIndex,
        chainLength,
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        backoffMs: backoffDelayMs(chainAttempts, defaultBackoff, () => 0.5),
        now,
        expiresAt: NOW + TTL,
      });
      steps.push(`${chainIndex}:${d.action}${d.action === 'stop' ? `:${d.reason}` : ''}`);
      if (d.action === 'stop') return steps;
      if (d.action === 'retry') now += d.delayMs;
      else {
        chainIndex += 1;
        chainAttempts = 0;
      }
    }
    throw new Error(`no end: ${steps.join(' ')}`);
  }

  test('transient, rate_limited and unknown: three attempts per provider, then the next, then stop', () => {
    for (const kind of ['transient', 'rate_limited', 'unknown'] as const) {
      assert.deepEqual(walk(kind, 3), ['0:retry', '0:retry', '0:failover', '1:retry', '1:retry', '1:failover', '2:retry', '2:retry', '2:stop:exhausted'], kind);
    }
  });

  test('rate_limited with a Retry-After the code outlives: waits it out on each provider', () => {
    assert.deepEqual(walk('rate_limited', 2, 20_000), ['0:retry', '0:retry', '0:failover', '1:retry', '1:retry', '1:stop:exhausted']);
  });

  test('rate_limited with a Retry-After longer than the code: straight to the next provider, then stop as expired', () => {
    assert.deepEqual(walk('rate_limited', 2, TTL), ['0:failover', '1:stop:expired']);
  });

  test('auth and rejected: one attempt per provider', () => {
    for (const kind of ['auth', 'rejected'] as const) assert.deepEqual(walk(kind, 3), ['0:failover', '1:failover', '2:stop:exhausted'], kind);
  });

  test('invalid_recipient: one attempt, nobody else', () => {
    assert.deepEqual(walk('invalid_recipient', 3), ['0:stop:invalid_recipient']);
  });
});

describe('retry timing', () => {
  test('without Retry-After the delay is the backoff given', () => {
    for (const backoffMs of [0, 1, 250, 30_000]) assert.deepEqual(decide(input('transient', { backoffMs })), { action: 'retry', delayMs: backoffMs });
  });

  test('the dispatcher backoff is jittered, grows per attempt and never exceeds the cap', () => {
    const delays = (attempt: number) =>
      Array.from({ length: 500 }, () => {
        const d = decide(input('transient', { chainAttempts: attempt, backoffMs: backoffDelayMs(attempt, defaultBackoff) }));
        assert.equal(d.action, 'retry');
        return (d as { delayMs: number }).delayMs;
      });
    const mean = (ds: number[]) => ds.reduce((a, b) => a + b, 0) / ds.length;
    let previousMean = 0;
    for (let attempt = 1; attempt < maxAttemptsPerProvider; attempt++) {
      const ceiling = Math.min(defaultBackoff.capMs, defaultBackoff.baseMs * 2 ** (attempt - 1));
      const floor = Math.min(defaultBackoff.baseMs, ceiling) / 2;
      const ds = delays(attempt);
      for (const d of ds) assert.ok(d >= floor && d <= ceiling && d <= defaultBackoff.capMs, `attempt ${attempt}: ${d}`);
      assert.ok(new Set(ds).size > 50, `attempt ${attempt}: jittered, not constant`);
      assert.ok(mean(ds) > previousMean, `attempt ${attempt}: waits longer than the attempt before`);
      previousMean = mean(ds);
    }
    // Extremes of the jitter, through decide(): attempt 2 spans [250, 1000] with the default policy.
    assert.deepEqual(decide(input('unknown', { chainAttempts: 2, backoffMs: backoffDelayMs(2, defaultBackoff, () => 0) })), { action: 'retry', delayMs: 250 });
    assert.deepEqual(decide(input('unknown', { chainAttempts: 2, backoffMs: backoffDelayMs(2, defaultBackoff, () => 1) })), { action: 'retry', delayMs: 1000 });
    // decide() adds nothing to a capped backoff.
    assert.deepEqual(decide(input('transient', { backoffMs: backoffDelayMs(50, defaultBackoff, () => 1) })), { action: 'retry', delayMs: defaultBackoff.capMs });
  });

  test('a Retry-After longer than the backoff is honoured; a shorter one does not shorten it', () => {
    for (const kind of ['rate_limited', 'transient', 'unknown'] as const) {
      assert.deepEqual(decide(input(kind, { retryAfterMs: 7_000 })), { action: 'retry', delayMs: 7_000 }, kind);
      assert.deepEqual(decide(input(kind, { retryAfterMs: 100 })), { action: 'retry', delayMs: BACKOFF }, kind);
      assert.deepEqual(decide(input(kind, { retryAfterMs: 0 })), { action: 'retry', delayMs: BACKOFF }, kind);
    }
  });

  test('a Retry-After beyond the backoff cap is still honoured while the code is valid', () => {
    assert.deepEqual(decide(input('rate_limited', { retryAfterMs: 120_000, backoffMs: defaultBackoff.capMs })), { action: 'retry', delayMs: 120_000 });
  });

  test('a Retry-After that lands at or past the expiry: fail over now, or stop as expired at the end of the chain', () => {
    const atExpiry = { retryAfterMs: TTL };
    const justBefore = { retryAfterMs: TTL - 1 };
    assert.deepEqual(decide(input('rate_limited', justBefore)), { action: 'retry', delayMs: TTL - 1 });
    assert.deepEqual(decide(input('rate_limited', atExpiry)), failover);
    assert.deepEqual(decide(input('rate_limited', { ...atExpiry, chainIndex: 1 })), expired);
    assert.deepEqual(decide(input('rate_limited', { retryAfterMs: 24 * 3_600_000, chainLength: 1 })), expired);
  });

  test('a backoff that lands exactly at the expiry is not a retry', () => {
    assert.deepEqual(decide(input('transient', { expiresAt: NOW + BACKOFF + 1 })), retry);
    assert.deepEqual(decide(input('transient', { expiresAt: NOW + BACKOFF })), failover);
    assert.deepEqual(decide(input('transient', { expiresAt: NOW })), failover, 'already expired: the next provider checks the expiry again');
  });

  test('a Retry-After does not make auth, rejected or invalid_recipient wait', () => {
    assert.deepEqual(decide(input('auth', { retryAfterMs: 5_000 })), failover);
    assert.deepEqual(decide(input('rejected', { retryAfterMs: 5_000 })), failover);
    assert.deepEqual(decide(input('invalid_recipient', { retryAfterMs: 5_000 })), invalid);
  });

  test('attempts counted past the cap (a chain that changed) still fail over, never retry', () => {
    assert.deepEqual(decide(input('transient', { chainAttempts: maxAttemptsPerProvider + 4 })), failover);
    assert.deepEqual(decide(input('transient', { chainAttempts: maxAttemptsPerProvider + 4, chainLength: 1 })), exhausted);
  });
});

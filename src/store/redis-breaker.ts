import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';

/**
 * `p`, or a rejection once `ms` have passed: a Redis call on a request's path never waits
 * longer (shared by the send caps and the fraud guard's counters).
 */
export async function redisDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves when `redis` (a lazyConnect client) is ready: the first caller connects, the
 * callers meanwhile wait on the same attempt; rejects when the connection is down.
 */
export function readyGate(redis: Redis): () => Promise<void> {
  let connecting: Promise<void> | undefined;
  return async () => {
    if (redis.status === 'ready') return;
    if (redis.status === 'wait') {
      connecting ??= redis.connect().finally(() => {
        connecting = undefined;
      });
    }
    if (connecting) return connecting;
    throw new Error(`Redis connection is ${redis.status}`);
  };
}

/** What `run` answers when Redis was not asked, or did not answer: the caller uses the database. */
export const SKIPPED: unique symbol = Symbol('redis skipped');

export interface RedisBreakerOptions {
  clock: Clock;
  logger: Logger;
  /** The first pause after Redis failed, ms; doubled after each failed trial. */
  minPauseMs?: number;
  /** The longest pause, ms. */
  maxPauseMs?: number;
  /** Told when calls stop (false) or start again (true) going to Redis: the `otpgate_redis_up` gauge. */
  onChange?: (up: boolean) => void;
}

export interface RedisBreakerStats {
  /** Calls that went to Redis (each may have waited up to its deadline). */
  attempts: number;
  /** Calls not made because Redis is paused out: the database answered at once. */
  skipped: number;
}

export interface RedisBreaker {
  /**
   * Runs `call` with a deadline of `ms`, unless Redis is paused out; answers its value, or
   * SKIPPED when it was not made, failed or was late (and then pauses Redis out).
   */
  run<T>(call: () => Promise<T>, ms: number): Promise<T | typeof SKIPPED>;
  /** Reports a failure seen outside `run` (the client's connection `error` event). */
  failed(reason: string): void;
  /** True while calls go to Redis. */
  readonly up: boolean;
  readonly stats: Readonly<RedisBreakerStats>;
}

/**
 * One switch for every Redis call on a request's path (the hourly send caps and the fraud
 * guard's counters, src/store/send-limits.ts and src/store/fraud-counters-redis.ts): after a
 * Redis timeout or refusal, Redis is skipped (the database counts, as without Redis) for a
 * pause of `minPauseMs` (1 s), then one call tries it again (a trial, while the others keep
 * skipping); each failed trial doubles the pause up to `maxPauseMs` (30 s), a successful call
 * ends it. So a Redis outage costs one deadline per pause, not one per send. The switch is
 * logged once each way.
 */
export function createRedisBreaker(options: RedisBreakerOptions): RedisBreaker {
  const minPauseMs = options.minPauseMs ?? 1000;
  const maxPauseMs = options.maxPauseMs ?? 30_000;
  const { clock, logger } = options;
  const stats: RedisBreakerStats = { attempts: 0, skipped: 0 };
  /** Undefined while Redis is used; else when the next trial may go and how long the pause was. */
  let paused: { since: number; until: number; pauseMs: number; trial: boolean } | undefined;

  function fail(reason: string, wasTrial: boolean): void {
    const now = clock.now();
    if (!paused) {
      paused = { since: now, until: now + minPauseMs, pauseMs: minPauseMs, trial: false };
      logger.warn(
        { err_message: reason, retry_in_ms: minPauseMs },
        'Redis is not answering: hourly send caps are counted in the database and fraud guard counters are kept in the database until it is back',
      );
      options.onChange?.(false);
      return;
    }
    // Failures of calls already in flight when the pause began do not lengthen it.
    if (!wasTrial) return;
    const pauseMs = Math.min(paused.pauseMs * 2, maxPauseMs);
    paused = { ...paused, until: now + pauseMs, pauseMs, trial: false };
  }

  function succeed(): void {
    if (!paused) return;
    const seconds = ((clock.now() - paused.since) / 1000).toFixed(1);
    paused = undefined;
    logger.info({ down_s: Number(seconds) }, 'Redis answers again: hourly send caps and fraud guard counters are counted in Redis');
    options.onChange?.(true);
  }

  return {
    async run(call, ms) {
      let trial = false;
      if (paused) {
        if (paused.trial || clock.now() < paused.until) {
          stats.skipped++;
          return SKIPPED;
        }
        paused.trial = trial = true;
      }
      stats.attempts++;
      try {
        const value = await redisDeadline(call(), ms);
        succeed();
        return value;
      } catch (err) {
        fail((err as Error).message, trial);
        return SKIPPED;
      }
    },
    failed: (reason) => fail(reason, false),
    get up() {
      return paused === undefined;
    },
    stats,
  };
}

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { readyGate, SKIPPED, type RedisBreaker } from './redis-breaker.js';

/**
 * One hourly cap a send must fit in: a sliding window keyed by `key` (the tenant with a phone
 * or a client IP), holding at most `limit` sends.
 */
export interface SendWindow {
  key: string;
  limit: number;
}

/** The window of a tenant's sends to one phone number (E.164). */
export const phoneWindowKey = (tenantId: string, e164: string): string => `${tenantId}:phone:${e164}`;

/** The window of a tenant's sends from one client IP. */
export const ipWindowKey = (tenantId: string, ip: string): string => `${tenantId}:ip:${ip}`;

/** What a reservation answers: a slot in every window, or the first window that is full. */
export type Reservation =
  | { ok: true; release(): Promise<void> }
  | { ok: false; window: SendWindow; retryAfterMs: number }
  /** The limiter could not answer (Redis down or slow): the caller counts in the store instead. */
  | { ok: 'unavailable' };

/**
 * Where the hourly send caps are counted when they are not counted in the database. Without
 * `OTPGATE_REDIS_URL` there is none: the send transaction counts the tenant's challenges by
 * phone and IP under a per-phone lock, which holds across nodes.
 */
export interface SendLimiter {
  /**
   * Atomically checks every window and, only if all have room, takes one slot in each
   * (`member` names the send). `release()` gives the slots back when the send fails after all.
   */
  reserve(windows: SendWindow[], member: string, now: number, windowMs: number): Promise<Reservation>;
  /**
   * Drops these windows (an erased number's: its key names the number). False when the
   * limiter could not answer; the window then expires with its hour.
   */
  forget(keys: string[]): Promise<boolean>;
  /** Connects now (at start-up) rather than on the first send; never throws. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * KEYS: one sorted set per window (score = send time, ms). ARGV: now, window length, member,
 * then one limit per key. Drops the entries older than the window, and adds the member to
 * every set only when none is full. Answers {1} or {0, index of the full key, oldest score}.
 */
const RESERVE_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[3 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {0, i, oldest[2] or now}
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
end
return {1}
`;

export interface RedisSendLimiterOptions {
  url: string;
  logger: Logger;
  /** Prefix of every key, so that several deployments (or test files) can share one Redis. */
  keyPrefix?: string;
  /** How long a reservation may take before the store counts instead, ms. */
  timeoutMs?: number;
  /** Skips Redis for a while after it failed; shared with the fraud guard's counters. */
  breaker: RedisBreaker;
  /** Told each time Redis could not answer and the store counted instead. */
  onUnavailable?: () => void;
}

type ReserveReply = [1] | [0, number, string];

/**
 * Hourly send caps in Redis (`OTPGATE_REDIS_URL`): one Lua script per send, so the check and
 * the reservation are one atomic step for every node. When Redis fails or is slower than
 * `timeoutMs`, the answer is `unavailable` and the send counts in the database as it does
 * without Redis: a Redis outage neither blocks sign-ins nor lifts the caps.
 */
export function createRedisSendLimiter(options: RedisSendLimiterOptions): SendLimiter {
  const timeoutMs = options.timeoutMs ?? 250;
  const prefix = options.keyPrefix ?? 'otpgate:';
  // lazyConnect: a process that never sends (the dispatch worker) never connects.
  // No offline queue and no retries per command: a command during an outage fails at once.
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    keyPrefix: prefix,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // A refused or lost connection pauses Redis out at once, before any send waits on it.
  redis.on('error', (err: Error) => options.breaker.failed(err.message));
  const ready = readyGate(redis);
  redis.defineCommand('otpgateReserve', { lua: RESERVE_SCRIPT });
  const reserveCommand = (redis as unknown as { otpgateReserve(...args: (string | number)[]): Promise<ReserveReply> }).otpgateReserve.bind(redis);

  function unavailable(): Reservation {
    options.onUnavailable?.();
    return { ok: 'unavailable' };
  }

  return {
    async reserve(windows, member, now, windowMs) {
      if (windows.length === 0) return { ok: true, release: async () => undefined };
      const reply = await options.breaker.run(async () => {
        await ready();
        return reserveCommand(windows.length, ...windows.map((w) => w.key), now, windowMs, member, ...windows.map((w) => w.limit));
      }, timeoutMs);
      // Logged by the breaker, once when Redis stops answering and once when it is back.
      if (reply === SKIPPED) return unavailable();
      if (reply[0] === 1) {
        return {
          ok: true,
          async release() {
            // Best effort: a slot not given back only makes the cap stricter until it ages out.
            await options.breaker.run(() => Promise.all(windows.map((w) => redis.zrem(w.key, member))), timeoutMs);
          },
        };
      }
      const window = windows[reply[1] - 1] ?? windows[0]!;
      return { ok: false, window, retryAfterMs: Math.max(1000, Number(reply[2]) + windowMs - now) };
    },
    async forget(keys) {
      if (keys.length === 0) return true;
      const reply = await options.breaker.run(async () => {
        await ready();
        return redis.del(...keys);
      }, timeoutMs);
      return reply !== SKIPPED;
    },
    async start() {
      await ready().catch(() => undefined);
    },
    async close() {
      if (redis.status === 'wait' || redis.status === 'end') {
        redis.disconnect();
        return;
      }
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

import { Redis, type ChainableCommander } from 'ioredis';
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import { bucketOf, DAY_MS, HOUR_MS } from '../domain/fraud/windows.js';
import type { CounterEntry, CounterTotal, FraudCounters } from '../services/fraud-counters.js';
import type { CounterRow } from './queries/fraud.js';
import { readyGate, SKIPPED, type RedisBreaker } from './redis-breaker.js';

/**
 * How long a bucket of a country (`c:`) or prefix (`p:`) key is kept: the 30-day window of
 * GET /v1/fraud-guard/stats, and the country's best verified day of the last 14 days, read
 * from the same buckets. The database's housekeeping keeps its rows as long (31 days).
 */
const STATS_RETENTION_MS = 31 * DAY_MS;
/** Buckets of the other keys (client IPs, an IP's countries) are read for 24 h only. */
const SHORT_RETENTION_MS = DAY_MS + 2 * HOUR_MS;
/** At most this many keys answer keysInRange, as in the database (src/store/queries/fraud.ts). */
const KEYS_IN_RANGE_LIMIT = 300;

/** The counts of a bucket, one hash field each: `<letter>:<key>`. */
const FIELDS = [
  ['s', 'sent'],
  ['v', 'verified'],
  ['g', 'segments'],
  ['m', 'costMicros'],
] as const;

export interface RedisFraudCountersOptions {
  url: string;
  logger: Logger;
  clock: Clock;
  /** Where every operation is done when Redis does not answer: the database's counters. */
  fallback: FraudCounters;
  /** Prefix of every key, so that several deployments (or test files) can share one Redis. */
  keyPrefix?: string;
  /** How long an operation of the send and verify paths may take before the database answers instead, ms. */
  timeoutMs?: number;
  /**
   * The same for the stats' totals, ms: an operator's request that reads up to 720 hour
   * hashes (about 140 ms for 16 busy days on a loaded 2-core machine), not a send waiting.
   */
  statsTimeoutMs?: number;
  /** Skips Redis for a while after it failed; shared with the hourly send caps. */
  breaker: RedisBreaker;
  /** Told each time Redis could not answer (or was skipped) and the database did the operation. */
  onFallback?: (op: 'read' | 'keys' | 'add' | 'totals') => void;
}

export interface RedisFraudCounters extends FraudCounters {
  /** Connects now (at start-up) rather than on the first send; never throws. */
  start(): Promise<void>;
  close(): Promise<void>;
}

type Kind = 'stats' | 'short' | 'group';

/**
 * Which structure holds a key: countries and prefixes in the tenant's hour hash kept for the
 * stats; keys holding a '|' (`x:<ip>|<country>`) in a sorted set of their group, since only
 * their presence and newest bucket are read; the rest (client IPs) in a short-lived hour hash.
 */
function kindOf(key: string): Kind {
  if (key.startsWith('c:') || key.startsWith('p:')) return 'stats';
  return key.includes('|') ? 'group' : 'short';
}

/**
 * The fraud guard's rolling counters in Redis (`OTPGATE_REDIS_URL`), shared by every node.
 * Layout, under the key prefix (default `otpgate:`), with `<hour>` = the bucket's start ÷ 1 h:
 *
 * - `<tenant>:fraud:<hour>`: a hash of the hour's country and prefix counts, fields
 *   `s:<key>` sent, `v:<key>` verified, `g:<key>` segments, `m:<key>` cost in micro-units;
 *   expires 31 days after its hour.
 * - `<tenant>:fraud-ip:<hour>`: the same for client IP keys (`i:<ip>`); expires after 26 h.
 * - `<tenant>:fraud-keys:x:<ip>|`: a sorted set of the IP's destination-country keys scored by
 *   their newest bucket (the ip_countries rule); older members are trimmed on each add, and
 *   the set expires 26 h after its last add.
 *
 * So a tripwire read (three keys over 25 hours), the best-day read (one key over 15 days), an
 * IP's countries, an add and the stats are one round trip each (a pipeline, or MULTI for add).
 * Expiry is computed with the node's clock, like the buckets themselves, not Redis time.
 *
 * Adds run inside the send and verify transactions but are not part of them: a send rolled
 * back after its counters were added (an idempotency race, a failed commit) leaves them
 * counted in Redis, so the tripwires over-count by one, which only makes them stricter.
 *
 * When Redis is down, or slower than `timeoutMs`, the operation is done by `fallback` (the
 * database, in the caller's transaction) instead, and Redis is skipped for a while (the
 * breaker shared with the send caps, src/store/redis-breaker.ts, which logs the switch). During the outage the tripwires see only what the database holds; an add that timed
 * out but still reached Redis is counted in both.
 */
export function createRedisFraudCounters(options: RedisFraudCountersOptions): RedisFraudCounters {
  const timeoutMs = options.timeoutMs ?? 250;
  const statsTimeoutMs = options.statsTimeoutMs ?? 5000;
  const { clock, fallback } = options;
  // The connection options of the send caps (src/store/send-limits.ts): lazy (a process that
  // never sends never connects), no offline queue and no retries, so an outage fails at once.
  const redis = new Redis(options.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    keyPrefix: options.keyPrefix ?? 'otpgate:',
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
  // A refused or lost connection pauses Redis out at once, before any send waits on it.
  redis.on('error', (err: Error) => options.breaker.failed(err.message));
  const ready = readyGate(redis);

  /** Runs `run` in Redis, or `inDatabase` when Redis is skipped or cannot answer in time. */
  async function attempt<T>(op: 'read' | 'keys' | 'add' | 'totals', run: () => Promise<T>, inDatabase: () => Promise<T>): Promise<T> {
    const value = await options.breaker.run(async () => {
      await ready();
      return run();
    }, op === 'totals' ? statsTimeoutMs : timeoutMs);
    if (value !== SKIPPED) return value;
    options.onFallback?.(op);
    return inDatabase();
  }

  /** Executes a pipeline (or MULTI) and answers each command's reply; throws on any error. */
  async function replies(batch: ChainableCommander): Promise<unknown[]> {
    const out = await batch.exec();
    if (!out) throw new Error('Redis discarded the transaction');
    return out.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  const hashOf = (tenantId: string, kind: 'stats' | 'short', bucket: number) => `${tenantId}:${kind === 'stats' ? 'fraud' : 'fraud-ip'}:${bucket / HOUR_MS}`;
  const groupOf = (tenantId: string, group: string) => `${tenantId}:fraud-keys:${group}`;
  const retention = (kind: Kind) => (kind === 'stats' ? STATS_RETENTION_MS : SHORT_RETENTION_MS);

  /** The buckets since `since` up to the current hour that are still kept. */
  function bucketsSince(since: number, kind: 'stats' | 'short'): number[] {
    const last = bucketOf(clock.now());
    const first = Math.max(Math.ceil(since / HOUR_MS) * HOUR_MS, last - retention(kind));
    const out: number[] = [];
    for (let b = first; b <= last; b += HOUR_MS) out.push(b);
    return out;
  }

  return {
    read(db, tenantId, keys, since) {
      return attempt(
        'read',
        async () => {
          const wanted = keys.filter((k) => k !== '' && kindOf(k) !== 'group');
          const plan: Array<{ bucket: number; keys: string[] }> = [];
          const batch = redis.pipeline();
          for (const kind of ['stats', 'short'] as const) {
            const ofKind = wanted.filter((k) => kindOf(k) === kind);
            if (ofKind.length === 0) continue;
            for (const bucket of bucketsSince(since, kind)) {
              plan.push({ bucket, keys: ofKind });
              batch.hmget(hashOf(tenantId, kind, bucket), ...ofKind.flatMap((k) => [`s:${k}`, `v:${k}`]));
            }
          }
          if (plan.length === 0) return [];
          const rows: CounterRow[] = [];
          (await replies(batch)).forEach((reply, i) => {
            const { bucket, keys: ofKind } = plan[i]!;
            const values = reply as Array<string | null>;
            ofKind.forEach((key, j) => {
              const sent = values[2 * j];
              const verified = values[2 * j + 1];
              if (sent === null && verified === null) return;
              rows.push({ key, bucket, sent: Number(sent ?? 0), verified: Number(verified ?? 0) });
            });
          });
          return rows;
        },
        () => fallback.read(db, tenantId, keys, since),
      );
    },

    keysInRange(db, tenantId, from, to, since) {
      // Only a group's range is kept in Redis: [`x:<ip>|`, `x:<ip>}`), every key of the group.
      if (!from.endsWith('|') || to !== `${from.slice(0, -1)}}`) return Promise.reject(new Error(`keysInRange answers a key group ("…|" to "…}"), not [${from}, ${to})`));
      return attempt(
        'keys',
        async () => {
          const reply = await redis.zrangebyscore(groupOf(tenantId, from), since, '+inf', 'WITHSCORES', 'LIMIT', 0, KEYS_IN_RANGE_LIMIT);
          const out: Array<{ key: string; bucket: number }> = [];
          for (let i = 0; i + 1 < reply.length; i += 2) out.push({ key: reply[i]!, bucket: Number(reply[i + 1]) });
          return out;
        },
        () => fallback.keysInRange(db, tenantId, from, to, since),
      );
    },

    add(db, tenantId, entries) {
      if (entries.length === 0) return Promise.resolve();
      return attempt(
        'add',
        async () => {
          const now = clock.now();
          const batch = redis.multi();
          let commands = 0;
          for (const e of entries) {
            const kind = kindOf(e.key);
            // A verification reported for a send older than what is kept changes nothing read.
            const ttl = e.bucket + retention(kind) - now;
            if (ttl <= 0) continue;
            if (kind === 'group') {
              const group = groupOf(tenantId, e.key.slice(0, e.key.lastIndexOf('|') + 1));
              batch.zadd(group, 'GT', e.bucket, e.key);
              batch.zremrangebyscore(group, '-inf', `(${e.bucket - DAY_MS}`);
              batch.pexpire(group, ttl);
              commands += 3;
              continue;
            }
            const hash = hashOf(tenantId, kind, e.bucket);
            for (const [letter, name] of FIELDS) {
              const n = e.delta[name];
              if (n === 0) continue;
              batch.hincrby(hash, `${letter}:${e.key}`, n);
              commands++;
            }
            batch.pexpire(hash, ttl);
            commands++;
          }
          // Nothing is sent before exec: a batch with no command is simply dropped.
          if (commands > 0) await replies(batch);
        },
        () => fallback.add(db, tenantId, entries),
      );
    },

    totals(db, tenantId, since, limits) {
      return attempt(
        'totals',
        async () => {
          const batch = redis.pipeline();
          for (const bucket of bucketsSince(since, 'stats')) batch.hgetall(hashOf(tenantId, 'stats', bucket));
          const sums = new Map<string, CounterTotal>();
          for (const reply of await replies(batch)) {
            for (const [field, value] of Object.entries(reply as Record<string, string>)) {
              const key = field.slice(2);
              let t = sums.get(key);
              if (!t) sums.set(key, (t = { key, sent: 0, verified: 0, segments: 0, cost_micros: 0 }));
              const n = Number(value);
              if (field.startsWith('s:')) t.sent += n;
              else if (field.startsWith('v:')) t.verified += n;
              else if (field.startsWith('g:')) t.segments += n;
              else if (field.startsWith('m:')) t.cost_micros += n;
            }
          }
          const top = (kind: 'c:' | 'p:', limit: number) =>
            [...sums.values()]
              .filter((t) => t.key.startsWith(kind))
              .sort((a, b) => b.sent - a.sent || (a.key < b.key ? -1 : 1))
              .slice(0, limit);
          return { countries: top('c:', limits.countries), prefixes: top('p:', limits.prefixes) };
        },
        () => fallback.totals(db, tenantId, since, limits),
      );
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

import type { Executor } from '../store/db.js';
import { addToCounters, counterTotals, keysInRange, readCounters, type CounterDelta, type CounterRow } from '../store/queries/fraud.js';

export interface CounterEntry {
  key: string;
  bucket: number;
  delta: CounterDelta;
}

/** One key's sums over a window (GET /v1/fraud-guard/stats). */
export interface CounterTotal {
  key: string;
  sent: number;
  verified: number;
  segments: number;
  cost_micros: number;
}

/**
 * Where the fraud guard's rolling counters live: the database by default (written in the send
 * and verify transactions, through `db`), or Redis when `OTPGATE_REDIS_URL` is set
 * (src/store/fraud-counters-redis.ts; it falls back to `db` when Redis does not answer).
 */
export interface FraudCounters {
  /** Buckets since `since` of up to three keys ('' for none). */
  read(db: Executor, tenantId: string, keys: readonly [string, string, string], since: number): Promise<CounterRow[]>;
  /** Distinct keys in [from, to) with a bucket since `since`, each with its newest bucket. */
  keysInRange(db: Executor, tenantId: string, from: string, to: string, since: number): Promise<Array<{ key: string; bucket: number }>>;
  add(db: Executor, tenantId: string, entries: readonly CounterEntry[]): Promise<void>;
  /**
   * Sums per country key (`c:`) and per prefix key (`p:`) of the buckets since `since`, most
   * sent first, at most `limits` of each.
   */
  totals(db: Executor, tenantId: string, since: number, limits: { countries: number; prefixes: number }): Promise<{ countries: CounterTotal[]; prefixes: CounterTotal[] }>;
}

export function createDbFraudCounters(): FraudCounters {
  return {
    read: readCounters,
    keysInRange,
    add: addToCounters,
    async totals(db, tenantId, since, limits) {
      return {
        countries: await counterTotals(db, tenantId, 'c:', since, limits.countries),
        prefixes: await counterTotals(db, tenantId, 'p:', since, limits.prefixes),
      };
    },
  };
}

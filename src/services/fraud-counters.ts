import type { Executor } from '../store/db.js';
import { addToCounters, keysInRange, readCounters, type CounterDelta, type CounterRow } from '../store/queries/fraud.js';

export interface CounterEntry {
  key: string;
  bucket: number;
  delta: CounterDelta;
}

/**
 * Where the fraud guard's rolling counters live: the database by default (written in the send
 * and verify transactions, through `db`), or Redis when `OTPGATE_REDIS_URL` is set.
 */
export interface FraudCounters {
  /** Buckets since `since` of up to three keys ('' for none). */
  read(db: Executor, tenantId: string, keys: readonly [string, string, string], since: number): Promise<CounterRow[]>;
  /** Distinct keys in [from, to) with a bucket since `since`, each with its newest bucket. */
  keysInRange(db: Executor, tenantId: string, from: string, to: string, since: number): Promise<Array<{ key: string; bucket: number }>>;
  add(db: Executor, tenantId: string, entries: readonly CounterEntry[]): Promise<void>;
}

export function createDbFraudCounters(): FraudCounters {
  return {
    read: readCounters,
    keysInRange,
    add: addToCounters,
  };
}

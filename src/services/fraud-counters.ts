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

/** How far back a cached country's buckets are kept: the 14 days before today and today. */
const KEEP_MS = 15 * 86_400_000;

/** Keys kept in memory at most; past it the cache starts again empty (reads fill it back). */
const MAX_CACHED_KEYS = 50_000;

type CachedKey = { from: number; rows: Map<number, CounterRow> };

/**
 * The counters in the database. With `cache` (one node on the store, so every write goes
 * through this process) each key's buckets are kept in memory once read, and this process's
 * adds keep them current: a send then judges its country, prefix and IP without reading the
 * table, and writes its counts only. A key with no rows is cached too (a new prefix or IP is
 * read once). An add made in a write unit that later rolls back stays counted in memory; the
 * send path counts last in its unit, so only a failed commit can do that, and it errs toward
 * blocking.
 */
export function createDbFraudCounters(options: { cache?: boolean; chunk?: number } = {}): FraudCounters {
  const cache = options.cache ? new Map<string, CachedKey>() : undefined;
  return {
    async read(db, tenantId, keys, since) {
      if (!cache) return readCounters(db, tenantId, keys, since);
      const out: CounterRow[] = [];
      const missing: [string, string, string] = ['', '', ''];
      let misses = 0;
      keys.forEach((key, i) => {
        if (key === '' || keys.indexOf(key) < i) return;
        const cached = cache.get(`${tenantId}|${key}`);
        if (!cached || cached.from > since) {
          missing[i] = key;
          misses += 1;
          return;
        }
        for (const r of cached.rows.values()) if (r.bucket >= since) out.push(r);
      });
      if (misses === 0) return out;
      const rows = await readCounters(db, tenantId, missing, since);
      if (cache.size + misses > MAX_CACHED_KEYS) cache.clear();
      for (const key of missing) {
        if (key === '') continue;
        const entry: CachedKey = { from: since, rows: new Map() };
        for (const r of rows) if (r.key === key) entry.rows.set(Number(r.bucket), { ...r, bucket: Number(r.bucket) });
        cache.set(`${tenantId}|${key}`, entry);
        for (const r of entry.rows.values()) out.push(r);
      }
      return out;
    },
    keysInRange,
    async add(db, tenantId, entries) {
      await addToCounters(db, tenantId, entries);
      if (!cache) return;
      for (const e of entries) {
        const cached = cache.get(`${tenantId}|${e.key}`);
        if (!cached || e.bucket < cached.from) continue;
        const row = cached.rows.get(e.bucket);
        if (row) {
          row.sent += e.delta.sent;
          row.verified += e.delta.verified;
        } else {
          cached.rows.set(e.bucket, { key: e.key, bucket: e.bucket, sent: e.delta.sent, verified: e.delta.verified });
          // A new hour: drop what no read looks at any more (the longest is the best day of 14).
          const keepFrom = e.bucket - KEEP_MS;
          if (cached.from < keepFrom) {
            cached.from = keepFrom;
            for (const b of cached.rows.keys()) if (b < keepFrom) cached.rows.delete(b);
          }
        }
      }
    },
    async totals(db, tenantId, since, limits) {
      return {
        countries: await counterTotals(db, tenantId, 'c:', since, limits.countries, options.chunk),
        prefixes: await counterTotals(db, tenantId, 'p:', since, limits.prefixes, options.chunk),
      };
    },
  };
}

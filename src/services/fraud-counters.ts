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

/**
 * The counters in the database. With `cacheCountries` (one node on the store, so every write
 * goes through this process) a country key's buckets are kept in memory once read, and this
 * process's adds keep them current: every send reads its country's last 24 hours (and once in
 * a while its 14 days), the same rows for every send to that country.
 */
export function createDbFraudCounters(options: { cacheCountries?: boolean } = {}): FraudCounters {
  const countries = options.cacheCountries ? new Map<string, { from: number; rows: Map<number, CounterRow> }>() : undefined;
  return {
    async read(db, tenantId, keys, since) {
      if (!countries || !keys[0].startsWith('c:')) return readCounters(db, tenantId, keys, since);
      const id = `${tenantId}|${keys[0]}`;
      let cached = countries.get(id);
      if (!cached || cached.from > since) {
        const rows = await readCounters(db, tenantId, [keys[0], '', ''], since);
        if (countries.size > 10_000) countries.clear();
        cached = { from: since, rows: new Map(rows.map((r) => [Number(r.bucket), { ...r, bucket: Number(r.bucket) }])) };
        countries.set(id, cached);
      }
      const out: CounterRow[] = [];
      for (const r of cached.rows.values()) if (r.bucket >= since) out.push(r);
      if (keys[1] !== '' || keys[2] !== '') out.push(...(await readCounters(db, tenantId, ['', keys[1], keys[2]], since)));
      return out;
    },
    keysInRange,
    async add(db, tenantId, entries) {
      await addToCounters(db, tenantId, entries);
      if (!countries) return;
      for (const e of entries) {
        const cached = countries.get(`${tenantId}|${e.key}`);
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
        countries: await counterTotals(db, tenantId, 'c:', since, limits.countries),
        prefixes: await counterTotals(db, tenantId, 'p:', since, limits.prefixes),
      };
    },
  };
}

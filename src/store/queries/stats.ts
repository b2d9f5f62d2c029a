import { sql } from 'kysely';
import type { Executor } from '../db.js';
import { letRequestsIn } from '../let-requests-in.js';

export interface BucketRow {
  bucket: number;
  n: number;
}

/**
 * The window's rows are found by id, which starts with the creation time (src/domain/ids.ts):
 * `fromId` bounds the scan to ids made since the window began (through messages_tenant, and
 * the primary key of challenges), so a count costs the window's rows, not the table's. The
 * time column still decides which rows count.
 */

/**
 * How many rows one statement counts where a read holds the request thread (SQLite,
 * `blockingReads`): a 7-day window of a busy store is millions of rows, at about 0.4 µs each.
 * Elsewhere (`chunk` undefined) a window is one statement.
 */
export const STATS_CHUNK_ROWS = 2_000;

/**
 * `part` over consecutive ranges from `from` on, each of at most `chunk` rows: `edge(lo)` is the
 * key `chunk` rows past `lo`, undefined when fewer are left. The parts' rows are returned as
 * they are (the caller adds up a group that two parts both hold).
 */
async function inChunks<K extends string | number, R>(
  from: K,
  chunk: number | undefined,
  edge: (lo: K, chunk: number) => Promise<K | undefined>,
  part: (lo: K, hi: K | undefined) => Promise<R[]>,
): Promise<R[]> {
  if (chunk === undefined) return part(from, undefined);
  const out: R[] = [];
  let lo = from;
  for (;;) {
    let hi = await edge(lo, chunk);
    // More than `chunk` rows at one time (a key that is not unique): they go in one part.
    if (hi !== undefined && hi <= lo) hi = (Number(lo) + 1) as K;
    out.push(...(await part(lo, hi)));
    if (hi === undefined) return out;
    lo = hi;
    await letRequestsIn();
  }
}

/** Messages created per bucket (integer division of the ms timestamp), by status and provider. */
export async function messageCountsByBucket(db: Executor, tenantId: string, since: number, bucketMs: number, fromId: string, chunk?: number) {
  const edge = async (lo: string, n: number) =>
    (await db.selectFrom('messages').select('id').where('tenant_id', '=', tenantId).where('id', '>=', lo).orderBy('id').limit(1).offset(n).executeTakeFirst())?.id;
  return inChunks(fromId, chunk, edge, (lo, hi) => {
    let q = db
      .selectFrom('messages')
      .select([sql<number>`cast(created_at / ${sql.lit(bucketMs)} as integer)`.as('bucket'), 'status', 'provider', (eb) => eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('id', '>=', lo);
    if (hi !== undefined) q = q.where('id', '<', hi);
    return q
      .where('created_at', '>=', since)
      .where('kind', '!=', 'test')
      .groupBy([sql`cast(created_at / ${sql.lit(bucketMs)} as integer)`, 'status', 'provider'])
      .execute();
  });
}

/** Codes created per bucket, and how many of them were verified. */
export async function challengeCountsByBucket(db: Executor, tenantId: string, since: number, bucketMs: number, fromId: string, chunk?: number) {
  // Every tenant's codes in the window are walked by the primary key (see below), so chunks
  // are counted on it too.
  const edge = async (lo: string, n: number) => (await db.selectFrom('challenges').select('id').where('id', '>=', lo).orderBy('id').limit(1).offset(n).executeTakeFirst())?.id;
  return inChunks(fromId, chunk, edge, (lo, hi) => {
    let q = db
      .selectFrom('challenges')
      .select([
        sql<number>`cast(created_at / ${sql.lit(bucketMs)} as integer)`.as('bucket'),
        (eb) => eb.fn.countAll<number>().as('n'),
        sql<number>`sum(case when status = 'verified' then 1 else 0 end)`.as('verified'),
      ])
      // Written so that no index on tenant_id can serve it: challenges has none on (tenant_id,
      // time), and one on tenant_id alone would walk every code the tenant ever had; the primary
      // key's range on `fromId` walks only the window's.
      .where(sql<string>`tenant_id || ''`, '=', tenantId)
      .where('id', '>=', lo);
    if (hi !== undefined) q = q.where('id', '<', hi);
    return q
      .where('created_at', '>=', since)
      .groupBy(sql`cast(created_at / ${sql.lit(bucketMs)} as integer)`)
      .execute();
  });
}

/** Delivery attempts started per bucket and provider: how many, how many failed, their total latency. */
export async function attemptLatencyByBucket(db: Executor, tenantId: string, since: number, bucketMs: number, chunk?: number) {
  const edge = async (lo: number, n: number) => {
    const row = await db.selectFrom('message_attempts').select('started_at').where('tenant_id', '=', tenantId).where('started_at', '>=', lo).orderBy('started_at').limit(1).offset(n).executeTakeFirst();
    return row ? Number(row.started_at) : undefined;
  };
  return inChunks(since, chunk, edge, (lo, hi) => {
    let q = db
      .selectFrom('message_attempts')
      .select([
        sql<number>`cast(started_at / ${sql.lit(bucketMs)} as integer)`.as('bucket'),
        'provider',
        (eb) => eb.fn.countAll<number>().as('n'),
        (eb) => eb.fn.sum<number>('latency_ms').as('total_ms'),
        sql<number>`sum(case when outcome = 'failed' then 1 else 0 end)`.as('failed'),
      ])
      .where('tenant_id', '=', tenantId)
      .where('started_at', '>=', lo);
    if (hi !== undefined) q = q.where('started_at', '<', hi);
    return q.groupBy([sql`cast(started_at / ${sql.lit(bucketMs)} as integer)`, 'provider']).execute();
  });
}

import { sql } from 'kysely';
import type { Executor } from '../db.js';

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

/** Messages created per bucket (integer division of the ms timestamp), by status. */
export async function messageCountsByBucket(db: Executor, tenantId: string, since: number, bucketMs: number, fromId: string) {
  return db
    .selectFrom('messages')
    .select([sql<number>`cast(created_at / ${sql.lit(bucketMs)} as integer)`.as('bucket'), 'status', 'provider', (eb) => eb.fn.countAll<number>().as('n')])
    .where('tenant_id', '=', tenantId)
    .where('id', '>=', fromId)
    .where('created_at', '>=', since)
    .where('kind', '!=', 'test')
    .groupBy([sql`cast(created_at / ${sql.lit(bucketMs)} as integer)`, 'status', 'provider'])
    .execute();
}

export async function challengeCountsByBucket(db: Executor, tenantId: string, since: number, bucketMs: number, fromId: string) {
  return db
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
    .where('id', '>=', fromId)
    .where('created_at', '>=', since)
    .groupBy(sql`cast(created_at / ${sql.lit(bucketMs)} as integer)`)
    .execute();
}

export async function attemptLatencyByBucket(db: Executor, tenantId: string, since: number, bucketMs: number) {
  return db
    .selectFrom('message_attempts')
    .select([
      sql<number>`cast(started_at / ${sql.lit(bucketMs)} as integer)`.as('bucket'),
      'provider',
      (eb) => eb.fn.countAll<number>().as('n'),
      (eb) => eb.fn.avg<number>('latency_ms').as('avg_ms'),
      sql<number>`sum(case when outcome = 'failed' then 1 else 0 end)`.as('failed'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('started_at', '>=', since)
    .groupBy([sql`cast(started_at / ${sql.lit(bucketMs)} as integer)`, 'provider'])
    .execute();
}

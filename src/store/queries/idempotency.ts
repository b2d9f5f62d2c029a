import type { Executor } from '../db.js';
import type { IdempotencyKeysTable, IdempotencyRow } from '../schema.js';
import { p, prepared } from '../prepared.js';

const findQuery = prepared((db) =>
  db.selectFrom('idempotency_keys').selectAll().where('tenant_id', '=', p('tenant')).where('key', '=', p('key')).where('expires_at', '>', p<number>('now')),
);

export async function findIdempotencyKey(db: Executor, tenantId: string, key: string, now: number): Promise<IdempotencyRow | undefined> {
  return (await findQuery.execute(db, { tenant: tenantId, key, now })).rows[0];
}

/** Inserts the key; returns false when another request holds it already (unexpired). */
export async function insertIdempotencyKey(db: Executor, row: IdempotencyKeysTable): Promise<boolean> {
  // An expired row may still be there: it gives way to the new request.
  await db.deleteFrom('idempotency_keys').where('tenant_id', '=', row.tenant_id).where('key', '=', row.key).where('expires_at', '<=', row.created_at).execute();
  const r = await db.insertInto('idempotency_keys').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/**
 * Deletes up to `limit` keys that expired at or before `now`; returns how many went. Bounded so
 * a purge never holds the writer for long: callers repeat it while a full batch comes back.
 * `DELETE … LIMIT` is not portable (SQLite builds without it, PostgreSQL has none), so the
 * batch is chosen by a limited subquery on the primary key, which both engines run.
 */
export async function purgeExpiredIdempotencyKeys(db: Executor, now: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('idempotency_keys')
    .where((eb) =>
      eb(
        eb.refTuple('tenant_id', 'key'),
        'in',
        eb.selectFrom('idempotency_keys as expired').select(['expired.tenant_id', 'expired.key']).where('expired.expires_at', '<=', now).limit(limit).$asTuple('tenant_id', 'key'),
      ),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

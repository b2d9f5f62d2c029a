import { sql } from 'kysely';
import type { Executor } from '../db.js';
import type { Tenant, TenantsTable } from '../schema.js';

export async function insertTenant(db: Executor, row: TenantsTable): Promise<void> {
  await db.insertInto('tenants').values(row).execute();
}

/** A tenant not deleted. */
export async function findTenant(db: Executor, id: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
}

/**
 * Tenants in id (creation) order, after `afterId` when given; with `search`, only those whose name
 * contains it or whose id starts with it, ignoring case (SQLite's lower() is Unicode-aware here:
 * src/store/db.ts replaces it; PostgreSQL's follows the database's locale, so the text as typed
 * is also tried).
 */
export async function listTenants(db: Executor, limit: number, afterId?: string, search?: string): Promise<Tenant[]> {
  let q = db.selectFrom('tenants').selectAll().where('deleted_at', 'is', null).orderBy('id').limit(limit);
  if (afterId) q = q.where('id', '>', afterId);
  if (search) {
    const escape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
    const lower = escape(search.toLowerCase());
    const typed = escape(search);
    q = q.where(sql<boolean>`(lower(name) like ${`%${lower}%`} escape '\\' or name like ${`%${typed}%`} escape '\\' or lower(id) like ${`${lower}%`} escape '\\')`);
  }
  return q.execute();
}

export async function updateTenant(
  db: Executor,
  id: string,
  patch: { name?: string; settings?: string; updated_at: number },
): Promise<Tenant | undefined> {
  return db.updateTable('tenants').set(patch).where('id', '=', id).where('deleted_at', 'is', null).returningAll().executeTakeFirst();
}

/**
 * Deletes a tenant as far as anyone can see: it is gone from every read (`deleted_at`), and what
 * would let it act goes at once: its API keys, its operators' access, the messages still
 * waiting to be sent and the events still waiting to be delivered (both through their queue's
 * index: a handful of rows, not the tenant's history); its event endpoints are turned off. The
 * rest goes in batches (purgeDeletedTenant), the tenant's row last. False when there is no such
 * tenant.
 */
export async function markTenantDeleted(db: Executor, id: string, now: number): Promise<boolean> {
  const r = await db.updateTable('tenants').set({ deleted_at: now }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return false;
  await db.deleteFrom('api_keys').where('tenant_id', '=', id).execute();
  await db.deleteFrom('operator_tenants').where('tenant_id', '=', id).execute();
  // `tenant_id || ''` keeps the planner off the tenant's indexes (its whole log) and on the
  // queues' partial and status indexes.
  await db.deleteFrom('messages').where('status', '=', 'queued').where(sql<string>`tenant_id || ''`, '=', id).execute();
  await db.deleteFrom('event_deliveries').where('status', '=', 'queued').where(sql<string>`tenant_id || ''`, '=', id).execute();
  // A delivery in flight when it was deleted emits no event: events go to enabled endpoints only.
  await db.updateTable('event_endpoints').set({ enabled: 0, disabled_reason: 'the tenant was deleted' }).where('tenant_id', '=', id).execute();
  return true;
}

/** Deleted tenants whose rows are still being removed. */
export async function deletedTenantIds(db: Executor): Promise<string[]> {
  return (await db.selectFrom('tenants').select('id').where('deleted_at', 'is not', null).orderBy('id').execute()).map((r) => r.id);
}

/**
 * The tables whose rows of one tenant can be many, in the order they are emptied (each read
 * through an index that starts with the tenant). The others (settings, keys, configurations,
 * idempotency keys) are small and go with the tenant's row, by cascade.
 */
const tenantTables = ['message_attempts', 'messages', 'inbox_messages', 'challenges', 'verifications', 'audit_log', 'fraud_decisions'] as const;

/**
 * Removes up to `limit` rows of a deleted tenant, table after table; answers how many went.
 * Fewer than `limit`: none are left but the small tables'.
 */
export async function purgeDeletedTenant(db: Executor, tenantId: string, limit: number): Promise<number> {
  let left = limit;
  for (const table of tenantTables) {
    // Every table in the list has `id` and `tenant_id`; Kysely cannot type a table picked at run time.
    const ids = db
      .selectFrom(table as 'messages')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .limit(left);
    const r = await db
      .deleteFrom(table as 'messages')
      .where('id', 'in', ids)
      .executeTakeFirst();
    left -= Number(r.numDeletedRows);
    if (left === 0) return limit;
  }
  // Events, through their endpoints (deliveries have no index on the tenant).
  const endpoints = db.selectFrom('event_endpoints').select('id').where('tenant_id', '=', tenantId);
  const deliveries = await db
    .deleteFrom('event_deliveries')
    .where('id', 'in', db.selectFrom('event_deliveries').select('id').where('endpoint_id', 'in', endpoints).limit(left))
    .executeTakeFirst();
  left -= Number(deliveries.numDeletedRows);
  if (left === 0) return limit;
  // The fraud guard's counters: whole keys, about `left` rows (no id to pick rows by).
  const edge = await db.selectFrom('fraud_counters').select('key').where('tenant_id', '=', tenantId).orderBy('key').orderBy('bucket').limit(1).offset(left).executeTakeFirst();
  if (!edge) {
    const all = await db.deleteFrom('fraud_counters').where('tenant_id', '=', tenantId).executeTakeFirst();
    return limit - left + Number(all.numDeletedRows);
  }
  const before = await db.deleteFrom('fraud_counters').where('tenant_id', '=', tenantId).where('key', '<', edge.key).executeTakeFirst();
  // One key of more rows than are left to this batch: that key alone.
  if (Number(before.numDeletedRows) === 0) await db.deleteFrom('fraud_counters').where('tenant_id', '=', tenantId).where('key', '=', edge.key).execute();
  // More remain: a full batch, so the caller goes on.
  return limit;
}

/** The tenant's row, once purgeDeletedTenant left nothing but the small tables (gone with it, by cascade). */
export async function deleteTenantRow(db: Executor, tenantId: string): Promise<boolean> {
  const r = await db.deleteFrom('tenants').where('id', '=', tenantId).where('deleted_at', 'is not', null).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

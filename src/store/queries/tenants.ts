import type { Executor } from '../db.js';
import type { Tenant, TenantsTable } from '../schema.js';

export async function insertTenant(db: Executor, row: TenantsTable): Promise<void> {
  await db.insertInto('tenants').values(row).execute();
}

export async function findTenant(db: Executor, id: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Tenants in id (creation) order, after `afterId` when given. */
export async function listTenants(db: Executor, limit: number, afterId?: string): Promise<Tenant[]> {
  let q = db.selectFrom('tenants').selectAll().orderBy('id').limit(limit);
  if (afterId) q = q.where('id', '>', afterId);
  return q.execute();
}

export async function updateTenant(
  db: Executor,
  id: string,
  patch: { name?: string; settings?: string; updated_at: number },
): Promise<Tenant | undefined> {
  return db.updateTable('tenants').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}

/** Deletes the tenant and, by cascade, everything it owns. */
export async function deleteTenant(db: Executor, id: string): Promise<boolean> {
  const r = await db.deleteFrom('tenants').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

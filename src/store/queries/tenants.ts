import { sql } from 'kysely';
import type { Executor } from '../db.js';
import type { Tenant, TenantsTable } from '../schema.js';

export async function insertTenant(db: Executor, row: TenantsTable): Promise<void> {
  await db.insertInto('tenants').values(row).execute();
}

export async function findTenant(db: Executor, id: string): Promise<Tenant | undefined> {
  return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Tenants in id (creation) order, after `afterId` when given; with `search`, only those whose name
 * contains it or whose id starts with it, ignoring case (SQLite's lower() is Unicode-aware here:
 * src/store/db.ts replaces it; PostgreSQL's follows the database's locale, so the text as typed
 * is also tried).
 */
export async function listTenants(db: Executor, limit: number, afterId?: string, search?: string): Promise<Tenant[]> {
  let q = db.selectFrom('tenants').selectAll().orderBy('id').limit(limit);
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
  return db.updateTable('tenants').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}

/** Deletes the tenant and, by cascade, everything it owns. */
export async function deleteTenant(db: Executor, id: string): Promise<boolean> {
  const r = await db.deleteFrom('tenants').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

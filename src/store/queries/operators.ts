import type { Executor } from '../db.js';
import type { OperatorRow, OperatorSessionRow, OperatorsTable } from '../schema.js';

export async function insertOperator(db: Executor, row: OperatorsTable, tenantIds: readonly string[]): Promise<void> {
  await db.insertInto('operators').values(row).execute();
  if (tenantIds.length > 0) await db.insertInto('operator_tenants').values(tenantIds.map((tenant_id) => ({ operator_id: row.id, tenant_id }))).execute();
}

export async function findOperator(db: Executor, id: string): Promise<OperatorRow | undefined> {
  return db.selectFrom('operators').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findOperatorByEmail(db: Executor, email: string): Promise<OperatorRow | undefined> {
  return db.selectFrom('operators').selectAll().where('email', '=', email).executeTakeFirst();
}

export async function listOperators(db: Executor, limit: number, afterId?: string): Promise<OperatorRow[]> {
  let q = db.selectFrom('operators').selectAll().orderBy('id').limit(limit);
  if (afterId) q = q.where('id', '>', afterId);
  return q.execute();
}

export async function countOperators(db: Executor): Promise<number> {
  const r = await db.selectFrom('operators').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** Owners that can still sign in, leaving out `exceptId`. */
export async function countActiveOwners(db: Executor, exceptId?: string): Promise<number> {
  let q = db.selectFrom('operators').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'owner').where('disabled', '=', 0);
  if (exceptId) q = q.where('id', '!=', exceptId);
  const r = await q.executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function tenantIdsOf(db: Executor, operatorIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(operatorIds.map((id) => [id, []]));
  if (operatorIds.length === 0) return out;
  const rows = await db.selectFrom('operator_tenants').select(['operator_id', 'tenant_id']).where('operator_id', 'in', operatorIds).orderBy('tenant_id').execute();
  for (const r of rows) out.get(r.operator_id)?.push(r.tenant_id);
  return out;
}

export async function setOperatorTenants(db: Executor, operatorId: string, tenantIds: readonly string[]): Promise<void> {
  await db.deleteFrom('operator_tenants').where('operator_id', '=', operatorId).execute();
  if (tenantIds.length > 0) await db.insertInto('operator_tenants').values(tenantIds.map((tenant_id) => ({ operator_id: operatorId, tenant_id }))).execute();
}

export async function updateOperator(db: Executor, id: string, patch: Partial<Omit<OperatorsTable, 'id' | 'created_at'>>): Promise<OperatorRow | undefined> {
  await db.updateTable('operators').set(patch).where('id', '=', id).execute();
  return findOperator(db, id);
}

/** Accepts a TOTP step only when it is later than the last one used (one statement, so two racing sign-ins cannot both use it). */
export async function advanceTotpStep(db: Executor, id: string, step: number, at: number): Promise<boolean> {
  const r = await db
    .updateTable('operators')
    .set({ totp_last_step: step, updated_at: at })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteOperator(db: Executor, id: string): Promise<boolean> {
  const r = await db.deleteFrom('operators').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function insertSession(db: Executor, row: OperatorSessionRow): Promise<void> {
  await db.insertInto('operator_sessions').values(row).execute();
}

export async function findSession(db: Executor, id: string): Promise<OperatorSessionRow | undefined> {
  return db.selectFrom('operator_sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function touchSession(db: Executor, id: string, at: number): Promise<void> {
  await db.updateTable('operator_sessions').set({ last_seen_at: at }).where('id', '=', id).where('last_seen_at', '<', at).execute();
}

export async function deleteSession(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('operator_sessions').where('id', '=', id).execute();
}

export async function deleteSessionsOf(db: Executor, operatorId: string): Promise<number> {
  const r = await db.deleteFrom('operator_sessions').where('operator_id', '=', operatorId).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Sessions past their absolute or idle expiry. */
export async function purgeSessions(db: Executor, now: number, idleMs: number): Promise<number> {
  const r = await db
    .deleteFrom('operator_sessions')
    .where((eb) => eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<=', now - idleMs)]))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function findThrottle(db: Executor, key: string) {
  return db.selectFrom('sign_in_throttle').selectAll().where('key', '=', key).executeTakeFirst();
}

export async function putThrottle(db: Executor, row: { key: string; failures: number; window_start: number; locked_until: number | null }): Promise<void> {
  await db
    .insertInto('sign_in_throttle')
    .values(row)
    .onConflict((oc) => oc.column('key').doUpdateSet({ failures: row.failures, window_start: row.window_start, locked_until: row.locked_until }))
    .execute();
}

export async function clearThrottle(db: Executor, key: string): Promise<void> {
  await db.deleteFrom('sign_in_throttle').where('key', '=', key).execute();
}

/** Throttle rows whose window and lock are both over (they count nothing any more). */
export async function purgeThrottle(db: Executor, now: number, windowMs: number): Promise<number> {
  const r = await db
    .deleteFrom('sign_in_throttle')
    .where('window_start', '<=', now - windowMs)
    .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

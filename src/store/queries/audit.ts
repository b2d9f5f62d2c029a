import type { Executor } from '../db.js';
import type { AuditEntry, AuditLogTable } from '../schema.js';

export async function insertAudit(db: Executor, row: AuditLogTable): Promise<void> {
  await db.insertInto('audit_log').values(row).execute();
}

/** Newest first. A null tenant lists the platform's entries (operators, deleted tenants). */
export async function listAudit(db: Executor, tenantId: string | null, limit: number, beforeId?: string): Promise<AuditEntry[]> {
  let q = db
    .selectFrom('audit_log')
    .selectAll()
    .where('tenant_id', tenantId === null ? 'is' : '=', tenantId)
    .orderBy('id', 'desc')
    .limit(limit);
  if (beforeId) q = q.where('id', '<', beforeId);
  return q.execute();
}

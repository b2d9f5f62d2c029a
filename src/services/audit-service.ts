import { newId } from '../domain/ids.js';
import { insertAudit, listAudit } from '../store/queries/audit.js';
import type { Executor } from '../store/db.js';
import type { Actor, ServiceContext } from './context.js';
import { toPage, type Page } from './pagination.js';

export interface AuditRecord {
  id: string;
  tenant_id: string | null;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  created_at: string;
}

/** Every configuration change is written here: who, what, when — never a secret. */
export function createAuditService(ctx: ServiceContext) {
  return {
    async record(
      db: Executor,
      entry: { tenantId: string | null; actor: Actor; action: string; target?: string | null; details?: Record<string, unknown> },
    ): Promise<void> {
      await insertAudit(db, {
        id: newId('aud'),
        tenant_id: entry.tenantId,
        actor: entry.actor,
        action: entry.action,
        target: entry.target ?? null,
        details: JSON.stringify(entry.details ?? {}),
        created_at: ctx.clock.now(),
      });
    },

    async list(tenantId: string, limit: number, cursor?: string): Promise<Page<AuditRecord>> {
      return toPage(await listAudit(ctx.store.db, tenantId, limit + 1, cursor), limit, (r) => ({
        id: r.id,
        tenant_id: r.tenant_id,
        actor: r.actor,
        action: r.action,
        target: r.target,
        details: JSON.parse(r.details) as Record<string, unknown>,
        created_at: new Date(r.created_at).toISOString(),
      }));
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;

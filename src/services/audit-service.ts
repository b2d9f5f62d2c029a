import { newId } from '../domain/ids.js';
import { insertAudit, listAudit } from '../store/queries/audit.js';
import type { Executor } from '../store/db.js';
import { actorId, type Actor, type ServiceContext } from './context.js';
import { toPage, type Page } from './pagination.js';

export interface AuditRecord {
  id: string;
  tenant_id: string | null;
  /** The operator id, the API key id, `admin` (the admin key) or a part of the system. */
  actor: string;
  /** `operator`, `api_key`, `admin_key` or `system`; null on entries older than operators. */
  actor_type: ActorType | null;
  /** The operator's email at the time, when an operator acted. */
  actor_email: string | null;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  created_at: string;
}

export type ActorType = 'operator' | 'api_key' | 'admin_key' | 'system';

export function actorTypeOf(actor: Actor): ActorType {
  if (typeof actor !== 'string') return 'operator';
  if (actor === 'admin') return 'admin_key';
  return actor.startsWith('key_') ? 'api_key' : 'system';
}

/** What a test number's fixed code looks like in the audit log. */
export const AUDIT_CODE_MASK = '******';

/**
 * The details with every `test_numbers[].code` masked, wherever it sits (a tenant's settings
 * on create and update, and any later record that carries them): a test number's fixed code
 * verifies for real, so the log keeps the number and never the code.
 */
export function maskAuditDetails(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskAuditDetails);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === 'test_numbers' && Array.isArray(v)
        ? v.map((n: unknown) => (typeof n === 'object' && n !== null && !Array.isArray(n) && 'code' in n ? { ...n, code: AUDIT_CODE_MASK } : maskAuditDetails(n)))
        : maskAuditDetails(v),
    ]),
  );
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
        actor: actorId(entry.actor),
        actor_type: actorTypeOf(entry.actor),
        actor_email: typeof entry.actor === 'string' ? null : entry.actor.email,
        action: entry.action,
        target: entry.target ?? null,
        details: JSON.stringify(maskAuditDetails(entry.details ?? {})),
        created_at: ctx.clock.now(),
      });
    },

    /** One tenant's entries, or the platform's (`null`): operators and deleted tenants. */
    async list(tenantId: string | null, limit: number, cursor?: string): Promise<Page<AuditRecord>> {
      return toPage(await listAudit(ctx.store.db, tenantId, limit + 1, cursor), limit, (r) => ({
        id: r.id,
        tenant_id: r.tenant_id,
        actor: r.actor,
        actor_type: (r.actor_type as ActorType | null) ?? null,
        actor_email: r.actor_email,
        action: r.action,
        target: r.target,
        // Masked on the way out too: entries written before the mask existed hold codes.
        details: maskAuditDetails(JSON.parse(r.details)) as Record<string, unknown>,
        created_at: new Date(r.created_at).toISOString(),
      }));
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;

import { newId } from '../domain/ids.js';
import { normalizeTestNumber } from '../domain/phone.js';
import { AppError, type FieldIssue } from '../errors/app-error.js';
import { findTenant, insertTenant, listTenants, markTenantDeleted, updateTenant } from '../store/queries/tenants.js';
import type { Tenant } from '../store/schema.js';
import type { AuditService } from './audit-service.js';
import type { Actor, ServiceContext } from './context.js';
import { resolveSettings, tenantSettingsPatchSchema, type TenantSettings, type TenantSettingsPatch } from './tenant-settings.js';
import { toPage, type Page } from './pagination.js';

export interface TenantView {
  id: string;
  name: string;
  settings: TenantSettings;
  created_at: string;
  updated_at: string;
}

/** A tenant as the hot paths need it: resolved settings, cached briefly. */
export interface ActiveTenant {
  id: string;
  name: string;
  settings: TenantSettings;
}

/** How long a node trusts its cached copy of a tenant changed on another node, ms. */
const TENANT_CACHE_MS = 5_000;

function toView(row: Tenant): TenantView {
  return {
    id: row.id,
    name: row.name,
    settings: resolveSettings(JSON.parse(row.settings) as TenantSettingsPatch),
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}

/** Validates a settings patch; test numbers are normalised to E.164. Throws tenant.invalid_settings. */
export function parseSettingsPatch(input: unknown): TenantSettingsPatch {
  const parsed = tenantSettingsPatchSchema.safeParse(input ?? {});
  if (!parsed.success) {
    throw new AppError('tenant.invalid_settings', 'Some settings are not valid.', {
      issues: parsed.error.issues.map((i) => ({ path: ['settings', ...i.path].join('.'), message: i.message })),
    });
  }
  const patch = parsed.data;
  if (patch.test_numbers) {
    const issues: FieldIssue[] = [];
    patch.test_numbers = patch.test_numbers.map((t, i) => {
      const n = normalizeTestNumber(t.phone_number);
      if (!n.ok) {
        issues.push({ path: `settings.test_numbers.${i}.phone_number`, message: n.reason });
        return t;
      }
      return { phone_number: n.e164, code: t.code };
    });
    if (issues.length > 0) throw new AppError('tenant.invalid_settings', 'Some test numbers are not valid.', { issues });
  }
  return patch;
}

export function createTenantService(ctx: ServiceContext, audit: AuditService) {
  const cache = new Map<string, { tenant: ActiveTenant; until: number }>();

  return {
    async create(input: { name: string; settings?: unknown }, actor: Actor): Promise<TenantView> {
      const settings = parseSettingsPatch(input.settings);
      const now = ctx.clock.now();
      const row: Tenant = { id: newId('ten'), name: input.name, settings: JSON.stringify(settings), created_at: now, updated_at: now, deleted_at: null };
      await ctx.store.db.transaction().execute(async (trx) => {
        await insertTenant(trx, row);
        await audit.record(trx, { tenantId: row.id, actor, action: 'tenant.created', target: row.id, details: { name: row.name, settings } });
      });
      return toView(row);
    },

    async get(id: string): Promise<TenantView> {
      const row = await findTenant(ctx.store.db, id);
      if (!row) throw new AppError('tenant.not_found', `There is no tenant ${id}.`);
      return toView(row);
    },

    /** The tenant for a hot path (send, verify): cached for a few seconds. */
    async getActive(id: string): Promise<ActiveTenant> {
      const now = ctx.clock.now();
      const hit = cache.get(id);
      if (hit && hit.until > now) return hit.tenant;
      const row = await findTenant(ctx.store.db, id);
      if (!row) {
        cache.delete(id);
        throw new AppError('tenant.not_found', `There is no tenant ${id}.`);
      }
      const tenant: ActiveTenant = { id: row.id, name: row.name, settings: resolveSettings(JSON.parse(row.settings) as TenantSettingsPatch) };
      cache.set(id, { tenant, until: now + TENANT_CACHE_MS });
      return tenant;
    },

    async list(limit: number, cursor?: string, search?: string): Promise<Page<TenantView>> {
      return toPage(await listTenants(ctx.store.db, limit + 1, cursor, search), limit, toView);
    },

    /** Changes the name and/or merges the settings patch (a `null` value resets a setting to its default). */
    async update(id: string, input: { name?: string; settings?: Record<string, unknown> }, actor: Actor): Promise<TenantView> {
      const resets = Object.entries(input.settings ?? {}).filter(([, v]) => v === null).map(([k]) => k);
      const nullable = new Set(['sender_id', 'webotp_domain', 'android_app_hash']);
      const toValidate = Object.fromEntries(Object.entries(input.settings ?? {}).filter(([k, v]) => v !== null || nullable.has(k)));
      const patch = parseSettingsPatch(toValidate);
      const result = await ctx.store.db.transaction().execute(async (trx) => {
        const row = await findTenant(trx, id);
        if (!row) throw new AppError('tenant.not_found', `There is no tenant ${id}.`);
        const merged: Record<string, unknown> = { ...(JSON.parse(row.settings) as Record<string, unknown>), ...patch };
        for (const k of resets) if (!nullable.has(k)) delete merged[k];
        const updated = await updateTenant(trx, id, {
          ...(input.name !== undefined ? { name: input.name } : {}),
          settings: JSON.stringify(merged),
          updated_at: ctx.clock.now(),
        });
        await audit.record(trx, {
          tenantId: id,
          actor,
          action: 'tenant.updated',
          target: id,
          details: { ...(input.name !== undefined ? { name: input.name } : {}), settings: input.settings ?? {} },
        });
        return updated!;
      });
      cache.delete(id);
      return toView(result);
    },

    /**
     * Gone from every read at once; its keys, its operators' access and what it still had
     * waiting to be sent go with it; its data follows in bounded batches (housekeeping), so that
     * deleting a large tenant never holds the store (docs/data-lifecycle.md).
     */
    async remove(id: string, actor: Actor): Promise<void> {
      const deleted = await ctx.store.db.transaction().execute(async (trx) => {
        const ok = await markTenantDeleted(trx, id, ctx.clock.now());
        if (ok) await audit.record(trx, { tenantId: null, actor, action: 'tenant.deleted', target: id });
        return ok;
      });
      cache.delete(id);
      if (!deleted) throw new AppError('tenant.not_found', `There is no tenant ${id}.`);
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;

import { analyzeSms, type SmsAnalysis } from '../domain/encoding.js';
import {
  builtInPurposes,
  composeOtpMessage,
  defaultTemplates,
  genericTemplate,
  resolveLocale,
  validateTemplate,
} from '../domain/template.js';
import { AppError } from '../errors/app-error.js';
import { listTemplates, upsertTemplate, deleteTemplate } from '../store/queries/templates.js';
import type { TemplateRow } from '../store/schema.js';
import type { AuditService } from './audit-service.js';
import type { Actor, ServiceContext } from './context.js';
import type { TenantSettings } from './tenant-settings.js';

export interface TemplateView {
  purpose: string;
  /** The locale asked for. */
  locale: string;
  /** The locale whose template is used (after falling back `pt-BR` → `pt` → `en`); null for the built-in default. */
  resolved_locale: string | null;
  body: string;
  /** True when no tenant template applies and the built-in default is used. */
  is_default: boolean;
  encoding: SmsAnalysis['encoding'];
  segments: number;
  characters: number;
  /** The message as a user would receive it, with a sample code. */
  preview: string;
  updated_at: string | null;
}

const TEMPLATE_CACHE_MS = 5_000;

export function builtInTemplate(purpose: string): string {
  return (defaultTemplates as Record<string, string>)[purpose] ?? genericTemplate;
}

/** Renders a template the way a send would, with a sample code of the tenant's length (and alphabet). */
export function renderSample(body: string, purpose: string, settings: TenantSettings, appName: string): { text: string; analysis: SmsAnalysis } {
  const code = (settings.code_alphabet === 'alphanumeric' ? 'A2B3C4D5E6' : '1234567890').slice(0, settings.otp_length);
  const text = composeOtpMessage({
    template: body,
    // Sample transaction details, so a template naming them counts a typical length.
    vars: { code, app_name: settings.app_name ?? appName, ttl_minutes: Math.ceil(settings.otp_ttl_seconds / 60), purpose, amount: 'EUR 125.00', payee: 'Example Shop' },
    webotpDomain: settings.webotp_domain,
    androidAppHash: settings.android_app_hash,
  });
  return { text, analysis: analyzeSms(text) };
}

export function createTemplateService(ctx: ServiceContext, audit: AuditService) {
  const cache = new Map<string, { rows: TemplateRow[]; until: number }>();

  async function tenantTemplates(tenantId: string): Promise<TemplateRow[]> {
    const now = ctx.clock.now();
    const hit = cache.get(tenantId);
    if (hit && hit.until > now) return hit.rows;
    const rows = await listTemplates(ctx.store.db, tenantId);
    cache.set(tenantId, { rows, until: now + TEMPLATE_CACHE_MS });
    return rows;
  }

  function pick(rows: TemplateRow[], purpose: string, locale: string | undefined, fallbackLocale: string): TemplateRow | undefined {
    const forPurpose = rows.filter((r) => r.purpose === purpose);
    if (forPurpose.length === 0) return undefined;
    const available = forPurpose.map((r) => r.locale);
    const chosen = resolveLocale(locale ?? fallbackLocale, available) ?? resolveLocale(fallbackLocale, available);
    return chosen === undefined ? undefined : forPurpose.find((r) => r.locale === chosen);
  }

  return {
    /** The template body a send uses for this purpose and locale (hot path: cached). */
    async resolve(tenantId: string, purpose: string, locale: string | undefined, settings: TenantSettings): Promise<string> {
      const row = pick(await tenantTemplates(tenantId), purpose, locale, settings.default_locale);
      return row?.body ?? builtInTemplate(purpose);
    },

    async get(tenantId: string, purpose: string, locale: string, settings: TenantSettings, appName: string): Promise<TemplateView> {
      const rows = await listTemplates(ctx.store.db, tenantId, purpose);
      const row = pick(rows, purpose, locale, settings.default_locale);
      const body = row?.body ?? builtInTemplate(purpose);
      const { text, analysis } = renderSample(body, purpose, settings, appName);
      return {
        purpose,
        locale,
        resolved_locale: row?.locale ?? null,
        body,
        is_default: row === undefined,
        encoding: analysis.encoding,
        segments: analysis.segments,
        characters: analysis.characters,
        preview: text,
        updated_at: row ? new Date(row.updated_at).toISOString() : null,
      };
    },

    async list(tenantId: string): Promise<Array<{ purpose: string; locale: string; body: string; encoding: string; segments: number; updated_at: string }>> {
      const rows = await listTemplates(ctx.store.db, tenantId);
      return rows.map((r) => ({ purpose: r.purpose, locale: r.locale, body: r.body, encoding: r.encoding, segments: r.segments, updated_at: new Date(r.updated_at).toISOString() }));
    },

    builtIns(): Array<{ purpose: string; body: string }> {
      return builtInPurposes.map((p) => ({ purpose: p, body: defaultTemplates[p] }));
    },

    async put(tenantId: string, purpose: string, locale: string, body: string, settings: TenantSettings, appName: string, actor: Actor): Promise<TemplateView> {
      const problems = validateTemplate(body);
      if (problems.length > 0) {
        throw new AppError('template.invalid', problems.join(' '), { issues: problems.map((message) => ({ path: 'body', message })) });
      }
      const { analysis } = renderSample(body, purpose, settings, appName);
      if (analysis.segments > settings.max_segments) {
        throw new AppError(
          'template.too_long',
          `The template renders to ${analysis.segments} ${analysis.encoding} segments; this tenant allows ${settings.max_segments}.`,
          { extra: { encoding: analysis.encoding, segments: analysis.segments, max_segments: settings.max_segments } },
        );
      }
      const now = ctx.clock.now();
      await ctx.store.db.transaction().execute(async (trx) => {
        await upsertTemplate(trx, { tenant_id: tenantId, purpose, locale, body, encoding: analysis.encoding, segments: analysis.segments, updated_at: now });
        await audit.record(trx, { tenantId, actor, action: 'template.updated', target: `${purpose}/${locale}`, details: { encoding: analysis.encoding, segments: analysis.segments } });
      });
      cache.delete(tenantId);
      return this.get(tenantId, purpose, locale, settings, appName);
    },

    async remove(tenantId: string, purpose: string, locale: string, actor: Actor): Promise<void> {
      const ok = await ctx.store.db.transaction().execute(async (trx) => {
        const done = await deleteTemplate(trx, tenantId, purpose, locale);
        if (done) await audit.record(trx, { tenantId, actor, action: 'template.deleted', target: `${purpose}/${locale}` });
        return done;
      });
      cache.delete(tenantId);
      if (!ok) throw new AppError('template.not_found', `This tenant has no ${purpose} template for ${locale}.`);
    },
  };
}

export type TemplateService = ReturnType<typeof createTemplateService>;

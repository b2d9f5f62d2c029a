import { createHmac, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { receiptCallbackUrl } from '../domain/callback-url.js';
import { newId } from '../domain/ids.js';
import { normalizePhone } from '../domain/phone.js';
import { analyzeSms } from '../domain/encoding.js';
import { AppError, type FieldIssue } from '../errors/app-error.js';
import { checkOutboundTarget, checkOutboundUrl, type OutboundPolicy } from '../providers/http.js';
import { isProviderError, ProviderError } from '../providers/provider-error.js';
import { getProviderDescriptor, providerRegistry } from '../providers/registry.js';
import type { ProviderContext, ProviderDescriptor, SmsProvider } from '../providers/types.js';
import { listProviderConfigs, upsertProviderConfig, deleteProviderConfig } from '../store/queries/provider-configs.js';
import { insertMessage, completeAttempt } from '../store/queries/messages.js';
import type { ProviderSlot } from '../store/schema.js';
import type { AuditService } from './audit-service.js';
import { actorId, type Actor, type ServiceContext } from './context.js';
import type { ActiveTenant } from './tenant-service.js';
import type { MessageService } from './message-service.js';

/** The API name of the platform-provider indirection. */
export const DEFAULT_KIND = 'Default';
/** What a secret looks like in every answer. Sending it back on PUT keeps the stored value. */
export const SECRET_MASK = '********';
const CHAIN_CACHE_MS = 5_000;

/** The operator's platform provider (the `Default` kind), from the environment. */
export interface PlatformProvider {
  kind: string;
  config: unknown;
  /** True when the operator set it explicitly (then it also ends every tenant's chain). */
  explicit: boolean;
}

/** One provider in a tenant's chain, ready to send. */
export interface ChainEntry {
  slot: ProviderSlot | 'default';
  kind: string;
  provider: SmsProvider;
  /** Identifies this provider account for the circuit breaker (kind + non-secret identity). */
  breakerKey: string;
}

export interface ProviderSelection {
  provider: string;
  config: Record<string, unknown>;
}

type Sealed = { kind: string; config: Record<string, unknown> };

function secretFields(d: ProviderDescriptor<unknown>): string[] {
  return d.fields.filter((f) => f.type === 'secret').map((f) => f.name);
}


/**
 * Alternative sets of credentials of a kind. A configuration that gives a field of one set has
 * chosen that mode: the stored secrets of the other sets are not merged back into it.
 */
const AUTH_MODES: Readonly<Record<string, readonly (readonly string[])[]>> = {
  Textlocal: [['api_key'], ['username', 'hash']],
};

/** The settings that decide where a kind's secrets are sent: `endpoint`, URL fields and those marked `destination`. */
export function destinationFields(d: Pick<ProviderDescriptor<unknown>, 'fields'>): string[] {
  return [...new Set(['endpoint', ...d.fields.filter((f) => f.type === 'url' || f.destination).map((f) => f.name)])];
}

/** Replaces every secret with the mask; non-secret values are returned as stored. */
export function maskConfig(d: ProviderDescriptor<unknown> | undefined, config: Record<string, unknown>): Record<string, unknown> {
  if (!d) return {};
  const secrets = new Set(secretFields(d));
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, secrets.has(k) && v !== undefined && v !== null && v !== '' ? SECRET_MASK : v]));
}

export function createProviderConfigService(
  ctx: ServiceContext,
  deps: {
    audit: AuditService;
    platform: PlatformProvider | null;
    providerContext: ProviderContext;
    outboundPolicy: OutboundPolicy;
    messages: MessageService;
    providerTimeoutMs: number;
    /** `OTPGATE_PUBLIC_URL`: a test SMS through the saved configuration asks for a delivery receipt there. */
    publicUrl?: string | undefined;
    /** Called after a tenant's providers changed (the dispatch worker drops its cached chain). */
    onChanged?: (tenantId: string) => void;
  },
) {
  const { store, clock, secretBox } = ctx;
  const chains = new Map<string, { chain: ChainEntry[]; until: number }>();

  function describe(kind: string): ProviderDescriptor<unknown> {
    const d = getProviderDescriptor(kind);
    if (!d) throw new AppError('provider.unknown_kind', `There is no provider kind "${kind}". Known kinds: ${[DEFAULT_KIND, ...providerRegistry.keys()].join(', ')}.`);
    return d;
  }

  // Keys the credentials' digest in breaker keys; per process, so the digest means nothing elsewhere.
  const breakerSalt = randomBytes(32);

  /**
   * The circuit-breaker identity of a provider account: its kind, its non-secret settings and a
   * keyed digest of its secrets. The credentials belong in it: otherwise a tenant that saves
   * someone else's (public) account SID with a wrong token would open the circuit, by its own
   * auth failures, for every tenant holding the right token.
   */
  function breakerKey(kind: string, d: ProviderDescriptor<unknown>, config: Record<string, unknown>): string {
    const secrets = new Set(secretFields(d));
    const sorted = Object.entries(config).sort(([a], [b]) => a.localeCompare(b));
    const identity = sorted.filter(([k]) => !secrets.has(k));
    const credentials = createHmac('sha256', breakerSalt)
      .update(JSON.stringify(sorted.filter(([k]) => secrets.has(k))))
      .digest('base64url')
      .slice(0, 22);
    return `${kind}:${JSON.stringify(identity)}:${credentials}`;
  }

  function build(slot: ChainEntry['slot'], kind: string, config: Record<string, unknown>): ChainEntry {
    const d = describe(kind);
    const parsed = d.configSchema.parse(config);
    return { slot, kind, provider: d.create(parsed, deps.providerContext), breakerKey: breakerKey(kind, d, config) };
  }

  function platformEntry(slot: ChainEntry['slot']): ChainEntry | null {
    if (!deps.platform) return null;
    return { ...build(slot, deps.platform.kind, deps.platform.config as Record<string, unknown>), slot };
  }

  async function stored(tenantId: string): Promise<Map<ProviderSlot, Sealed & { updated_at: number; updated_by: string }>> {
    const rows = await listProviderConfigs(store.db, tenantId);
    const out = new Map<ProviderSlot, Sealed & { updated_at: number; updated_by: string }>();
    for (const r of rows) {
      const open = JSON.parse(secretBox.open(r.config_sealed, `${tenantId}:${r.slot}`)) as Record<string, unknown>;
      out.set(r.slot, { kind: r.kind, config: open, updated_at: r.updated_at, updated_by: r.updated_by });
    }
    return out;
  }

  /**
   * Validates one `{provider, <kind key>: {...}}` selection, filling in secrets the caller left
   * out (or sent back masked) from `previous` when it is the same kind, only while every setting
   * that decides where the secret goes (`endpoint`, `uri`, SFMC `subdomain`, Textlocal `region`)
   * is unchanged, and only when the new configuration does not choose another auth mode (Textlocal
   * `username` + `hash` instead of `api_key`). An explicit `null` removes a stored secret.
   */
  function parseSelection(raw: unknown, path: string, previous: Sealed | undefined): Sealed {
    const issues: FieldIssue[] = [];
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new AppError('provider.invalid_config', `${path ? path.replace(/\.$/, '') : 'The body'} must be an object with a "provider" field.`, {
        issues: [{ path: path.replace(/\.$/, '') || 'body', message: 'must be an object' }],
      });
    }
    const obj = raw as Record<string, unknown>;
    const kind = obj.provider;
    if (typeof kind !== 'string') throw new AppError('provider.invalid_config', 'The "provider" field is required.', { issues: [{ path: `${path}provider`, message: 'required' }] });
    if (kind === DEFAULT_KIND) {
      const extra = Object.keys(obj).filter((k) => k !== 'provider' && k !== 'fallback');
      if (extra.length > 0) throw new AppError('provider.invalid_config', `The Default provider takes no settings (got ${extra.join(', ')}).`);
      if (!deps.platform) throw new AppError('provider.not_configured', 'The operator has not configured a platform Default provider.');
      return { kind, config: {} };
    }
    const d = describe(kind);
    const extra = Object.keys(obj).filter((k) => k !== 'provider' && k !== 'fallback' && k !== d.configKey);
    if (extra.length > 0) {
      throw new AppError('provider.invalid_config', `Unexpected field${extra.length > 1 ? 's' : ''} ${extra.join(', ')}: the ${kind} settings go under "${d.configKey}".`, {
        issues: extra.map((k) => ({ path: `${path}${k}`, message: 'unknown field' })),
      });
    }
    const given = obj[d.configKey] ?? {};
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      throw new AppError('provider.invalid_config', `"${d.configKey}" must be an object.`, { issues: [{ path: `${path}${d.configKey}`, message: 'must be an object' }] });
    }
    const input = given as Record<string, unknown>;
    const merged: Record<string, unknown> = { ...input };
    const same = previous?.kind === kind ? previous : undefined;
    // A field left out means its default (the stored config holds the parsed values, defaults included).
    const valueOf = (cfg: Record<string, unknown>, field: string) => cfg[field] ?? d.fields.find((f) => f.name === field)?.default;
    const moved = same ? destinationFields(d).filter((f) => valueOf(input, f) !== valueOf(same.config, f)) : [];
    const modes = AUTH_MODES[kind] ?? [];
    // A field given a value chooses its mode; a mask only asks to keep what is stored.
    const chosen = (field: string) => input[field] !== undefined && input[field] !== null && input[field] !== '' && input[field] !== SECRET_MASK;
    const otherModeChosen = (name: string) => {
      const mine = modes.find((m) => m.includes(name));
      return mine !== undefined && modes.some((m) => m !== mine && m.some(chosen));
    };
    const resend: string[] = [];
    for (const name of secretFields(d)) {
      const v = input[name];
      if (v !== undefined && v !== null && v !== SECRET_MASK) continue;
      // Left out, sent back masked, or null (removes it): never stored as given.
      delete merged[name];
      const keep = same?.config[name];
      if (v === null || keep === undefined || keep === null || keep === '' || otherModeChosen(name)) continue;
      // Where a secret goes is decided by the settings next to it: a caller must not be able to
      // point them at their own server and receive the stored secret.
      if (moved.length > 0 && !d.fields.some((f) => f.name === name && f.unsent)) resend.push(name);
      else merged[name] = keep;
    }
    const issuePath = (field: string) => `${path}${d.configKey}.${field}`;
    for (const name of resend) {
      issues.push({ path: issuePath(name), message: `must be given again because the destination changed (${moved.join(', ')}): a stored secret is only sent where it was saved for` });
    }
    const parsed = d.configSchema.safeParse(merged);
    if (!parsed.success) {
      for (const i of parsed.error.issues) {
        const at = [`${path}${d.configKey}`, ...i.path.map(String)].join('.');
        if (issues.some((x) => x.path === at)) continue;
        // zod says "Invalid input: expected string, received undefined" for a field left out.
        const missing = i.code === 'invalid_type' && i.path.length === 1 && merged[String(i.path[0])] === undefined;
        issues.push({ path: at, message: missing ? 'required' : i.message });
      }
    }
    if (!parsed.success || resend.length > 0) {
      const why = resend.length > 0 ? `: ${resend.join(', ')} must be given again because ${moved.join(', ')} changed` : '';
      throw new AppError('provider.invalid_config', `The ${kind} configuration is not valid${why}.`, { issues });
    }
    const config = parsed.data as Record<string, unknown>;
    for (const key of ['endpoint', 'uri']) {
      const url = config[key];
      if (typeof url === 'string') {
        const reason = checkOutboundUrl(url, deps.outboundPolicy);
        if (reason) throw new AppError('provider.endpoint_forbidden', `${key} is not allowed: ${reason}.`, { issues: [{ path: `${path}${d.configKey}.${key}`, message: reason }] });
      }
    }
    return { kind, config };
  }

  /**
   * Resolves the host names of a parsed selection's URLs and refuses those that resolve to
   * addresses the HTTP client would not connect to (same rules, same code), before anything is
   * saved or sent. The client checks again on every connection.
   */
  async function checkResolvedTargets(sel: Sealed, path: string): Promise<void> {
    if (sel.kind === DEFAULT_KIND) return;
    const d = describe(sel.kind);
    for (const key of ['endpoint', 'uri']) {
      const url = sel.config[key];
      if (typeof url !== 'string') continue;
      const reason = await checkOutboundTarget(url, deps.outboundPolicy);
      if (reason) throw new AppError('provider.endpoint_forbidden', `${key} is not allowed: ${reason}.`, { issues: [{ path: `${path}${d.configKey}.${key}`, message: reason }] });
    }
  }

  async function runValidation(sel: Sealed, label: string): Promise<void> {
    if (sel.kind === DEFAULT_KIND) return;
    const d = describe(sel.kind);
    if (!d.validate) return;
    try {
      await d.validate(d.configSchema.parse(sel.config), deps.providerContext);
    } catch (err) {
      const why = isProviderError(err) ? err.message : 'the check could not be completed';
      throw new AppError('provider.validation_failed', `The ${label} ${sel.kind} did not pass validation: ${why}`, {
        extra: isProviderError(err) ? { provider_error: { kind: err.kind, provider_code: err.providerCode ?? null, http_status: err.httpStatus ?? null } } : {},
      });
    }
  }

  function view(entry: (Sealed & { updated_at?: number; updated_by?: string }) | undefined) {
    if (!entry) return null;
    if (entry.kind === DEFAULT_KIND) return { provider: DEFAULT_KIND };
    const d = getProviderDescriptor(entry.kind);
    return { provider: entry.kind, [d?.configKey ?? 'config']: maskConfig(d, entry.config) };
  }

  return {
    /** Drops the cached chain of a tenant whose providers were changed elsewhere (another thread). */
    forgetChain(tenantId: string): void {
      chains.delete(tenantId);
    },

    /** The tenant's provider chain: primary (or Default), fallback, then the explicit platform Default. */
    async chainFor(tenantId: string): Promise<ChainEntry[]> {
      const now = clock.now();
      const hit = chains.get(tenantId);
      if (hit && hit.until > now) return hit.chain;
      const s = await stored(tenantId);
      const chain: ChainEntry[] = [];
      const add = (slot: ProviderSlot, e: Sealed | undefined) => {
        if (!e) return;
        const entry = e.kind === DEFAULT_KIND ? platformEntry(slot) : build(slot, e.kind, e.config);
        if (entry) chain.push(entry);
      };
      const primary = s.get('primary');
      if (primary) add('primary', primary);
      else {
        const p = platformEntry('default');
        if (p) chain.push(p);
      }
      add('fallback', s.get('fallback'));
      if (deps.platform?.explicit && !chain.some((c) => c.slot === 'default' || s.get(c.slot as ProviderSlot)?.kind === DEFAULT_KIND)) {
        const p = platformEntry('default');
        if (p) chain.push(p);
      }
      chains.set(tenantId, { chain, until: now + CHAIN_CACHE_MS });
      return chain;
    },

    async get(tenantId: string) {
      const s = await stored(tenantId);
      const primary = s.get('primary');
      return {
        ...(view(primary) ?? { provider: DEFAULT_KIND }),
        fallback: view(s.get('fallback')),
        updated_at: primary ? new Date(primary.updated_at).toISOString() : null,
        platform_default: deps.platform ? deps.platform.kind : null,
      };
    },

    /** Validates, runs the provider's own check (e.g. the gateway challenge), then saves; nothing changes on failure. */
    async put(tenantId: string, body: unknown, actor: Actor) {
      const s = await stored(tenantId);
      const primary = parseSelection(body, '', s.get('primary'));
      const rawFallback = (body as Record<string, unknown>).fallback;
      if (typeof rawFallback === 'object' && rawFallback !== null && (rawFallback as Record<string, unknown>).fallback !== undefined) {
        throw new AppError('provider.invalid_config', 'A fallback cannot have its own fallback.', { issues: [{ path: 'fallback.fallback', message: 'not allowed' }] });
      }
      const fallback = rawFallback === undefined || rawFallback === null ? undefined : parseSelection(rawFallback, 'fallback.', s.get('fallback'));
      await checkResolvedTargets(primary, '');
      if (fallback) await checkResolvedTargets(fallback, 'fallback.');
      await runValidation(primary, 'provider');
      if (fallback) await runValidation(fallback, 'fallback provider');
      const now = clock.now();
      const changedSecrets = (slot: ProviderSlot, sel: Sealed) => {
        const prev = s.get(slot);
        const d = getProviderDescriptor(sel.kind);
        // Set or replaced, or removed (an explicit null, another auth mode).
        return d ? secretFields(d).filter((n) => (prev?.kind !== sel.kind ? sel.config[n] !== undefined : prev.config[n] !== sel.config[n])) : [];
      };
      await store.db.transaction().execute(async (trx) => {
        for (const [slot, sel] of [['primary', primary], ['fallback', fallback]] as const) {
          if (!sel) {
            await deleteProviderConfig(trx, tenantId, slot);
            continue;
          }
          await upsertProviderConfig(trx, {
            tenant_id: tenantId,
            slot,
            kind: sel.kind,
            config_sealed: secretBox.seal(JSON.stringify(sel.config), `${tenantId}:${slot}`),
            updated_at: now,
            updated_by: actorId(actor),
          });
        }
        await deps.audit.record(trx, {
          tenantId,
          actor,
          action: 'provider.updated',
          target: primary.kind,
          details: {
            primary: view(primary),
            fallback: view(fallback),
            secrets_changed: { primary: changedSecrets('primary', primary), fallback: fallback ? changedSecrets('fallback', fallback) : [] },
          },
        });
      });
      chains.delete(tenantId);
      deps.onChanged?.(tenantId);
      return this.get(tenantId);
    },

    /**
     * Refuses a send that could go nowhere (409 provider.not_configured): the tenant has no
     * provider saved and the operator no platform Default. The same chain the dispatcher and the
     * test SMS use decides, so the Inbox Default of a development install still sends.
     */
    async requireUsable(tenantId: string): Promise<void> {
      if ((await this.chainFor(tenantId)).length > 0) return;
      // An empty chain is read again rather than trusted from the cache: another node may
      // have saved a provider within the cache's few seconds.
      chains.delete(tenantId);
      if ((await this.chainFor(tenantId)).length === 0) {
        throw new AppError('provider.not_configured', 'No provider is configured for this tenant and there is no platform Default: configure one (PUT /cis/v1/tenantsmsproviders) before sending.');
      }
    },

    /**
     * Sends a test SMS now, through the given (unsaved) or the saved configuration, and answers
     * what the provider said. The message is also written to the message log.
     */
    async sendTest(tenant: ActiveTenant, input: { phone_number: string; config?: unknown }) {
      const phone = normalizePhone(input.phone_number);
      if (!phone.ok) throw new AppError('phone.invalid', phone.reason, { issues: [{ path: 'phone_number', message: phone.reason }] });
      let entry: ChainEntry | undefined;
      // Receipts are checked with the saved configuration's secrets: only a test SMS through
      // it asks for one.
      const saved = input.config === undefined;
      if (input.config !== undefined) {
        const s = await stored(tenant.id);
        const sel = parseSelection(input.config, 'config.', s.get('primary'));
        await checkResolvedTargets(sel, 'config.');
        entry = sel.kind === DEFAULT_KIND ? (platformEntry('primary') ?? undefined) : build('primary', sel.kind, sel.config);
      } else {
        entry = (await this.chainFor(tenant.id))[0];
      }
      if (!entry) throw new AppError('provider.not_configured', 'No provider is configured for this tenant and there is no platform Default.');
      const text = `${tenant.settings.app_name ?? tenant.name}: this is a test message from otpgate. Your SMS provider works.`;
      const row = deps.messages.outboxRow(tenant, 'test', phone.e164, text, 60_000);
      const owner = `test:${row.id}`;
      const callbackUrl = receiptCallbackUrl(deps.publicUrl, entry.kind, tenant.id);
      await insertMessage(store.db, { ...row, status: 'sending', lease_owner: owner, lease_until: row.expires_at, attempts: 1, body_sealed: null });
      const started = clock.now();
      const t0 = performance.now();
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), deps.providerTimeoutMs);
      let result: { accepted: boolean; provider_message_id: string | null; segments: number; error: null | { kind: string; provider_code: string | null; http_status: number | null; message: string } };
      try {
        const r = await entry.provider.send({
          messageId: row.id,
          tenantId: tenant.id,
          to: phone.e164,
          body: text,
          ...(tenant.settings.sender_id ? { from: tenant.settings.sender_id } : {}),
          ...(saved && callbackUrl ? { statusCallbackUrl: callbackUrl } : {}),
          signal: controller.signal,
        });
        result = { accepted: true, provider_message_id: r.providerMessageId, segments: r.segments ?? analyzeSms(text).segments, error: null };
      } catch (err) {
        const e = isProviderError(err) ? err : new ProviderError('unknown', 'The provider call failed unexpectedly.');
        if (!isProviderError(err)) ctx.logger.error({ err: { name: (err as Error).name } }, 'test SMS: adapter threw a non-ProviderError');
        result = { accepted: false, provider_message_id: null, segments: analyzeSms(text).segments, error: { kind: e.kind, provider_code: e.providerCode ?? null, http_status: e.httpStatus ?? null, message: e.message } };
      } finally {
        clearTimeout(timer);
      }
      const latency = Math.round(performance.now() - t0);
      const done = clock.now();
      await store.db.transaction().execute(async (trx) => {
        await completeAttempt(
          trx,
          row.id,
          owner,
          {
            status: result.accepted ? 'sent' : 'failed',
            lease_owner: null,
            lease_until: null,
            provider: entry.kind,
            provider_message_id: result.provider_message_id,
            error_kind: result.error?.kind ?? null,
            error_code: result.error?.provider_code ?? null,
            error_message: result.error?.message ?? null,
            updated_at: done,
            sent_at: result.accepted ? done : null,
          },
          {
            id: newId('att'),
            message_id: row.id,
            tenant_id: tenant.id,
            attempt_no: 1,
            provider: entry.kind,
            slot: entry.slot,
            started_at: started,
            latency_ms: latency,
            outcome: result.accepted ? 'accepted' : 'failed',
            error_kind: result.error?.kind ?? null,
            provider_code: result.error?.provider_code ?? null,
            http_status: result.error?.http_status ?? null,
            error_message: result.error?.message ?? null,
            provider_message_id: result.provider_message_id,
          },
        );
      });
      return {
        status: result.accepted ? ('accepted' as const) : ('failed' as const),
        provider: entry.kind,
        message_id: row.id,
        provider_message_id: result.provider_message_id,
        latency_ms: latency,
        segments: result.segments,
        error: result.error,
        // Whether a delivery receipt can follow, and if not why, so that no one waits for one.
        receipt: !getProviderDescriptor(entry.kind)?.receipts
          ? ('not_supported' as const)
          : !callbackUrl
            ? ('no_public_url' as const)
            : !saved
              ? ('unsaved_config' as const)
              : result.accepted
                ? ('requested' as const)
                : ('not_sent' as const),
      };
    },


    /**
     * Every configuration of one kind in a tenant's chain, opened, primary first (for callback
     * signature checks: a primary and a fallback may be two accounts of the same provider, and
     * the callback URL does not say which one sent the message).
     */
    async configsFor(tenantId: string, kind: string): Promise<Record<string, unknown>[]> {
      const s = await stored(tenantId);
      const out: Record<string, unknown>[] = [];
      for (const slot of ['primary', 'fallback'] as const) {
        const e = s.get(slot);
        if (e?.kind === kind) out.push(e.config);
      }
      if (deps.platform?.kind === kind) out.push(deps.platform.config as Record<string, unknown>);
      return out;
    },
  };
}

export type ProviderConfigService = ReturnType<typeof createProviderConfigService>;

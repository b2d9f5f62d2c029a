import { newId } from '../domain/ids.js';
import { normalizePhone } from '../domain/phone.js';
import { composeOtpMessage, isValidLocale, maskCode } from '../domain/template.js';
import { AppError, isAppError } from '../errors/app-error.js';
import { receiverFor } from '../receivers/registry.js';
import { maskWholeText, REPLAY_MEMORY_MS } from '../receivers/support.js';
import { platforms, type InboundSms, type Platform, type PlatformAnswer, type ReceiverDescriptor, type ReceiverRequest } from '../receivers/types.js';
import { insertMessage } from '../store/queries/messages.js';
import { deleteReceiverConfig, findReceiverConfig, listReceiverConfigs, rememberReplayKey, upsertReceiverConfig } from '../store/queries/receivers.js';
import type { ReceiverConfigRow } from '../store/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { AuditService } from './audit-service.js';
import type { Actor, ServiceContext } from './context.js';
import { refusalError, type FraudGuard, type FraudRefusal } from './fraud-guard.js';
import { newOutboxRow } from './message-service.js';
import type { TemplateService } from './template-service.js';
import type { ActiveTenant } from './tenant-service.js';

/** A receiver as `GET /v1/receivers` shows it: never its secrets. */
export interface ReceiverView {
  platform: Platform;
  enabled: boolean;
  url: string;
  /** How many secrets are active (1, or 2 during a rotation). */
  secrets: number;
  created_at: string;
  updated_at: string;
}

/** `PUT /v1/receivers/{platform}`: `secret` only when otpgate made it (shown this once). */
export interface ReceiverSaved {
  platform: Platform;
  enabled: boolean;
  url: string;
  secret?: string;
}

/** A request the replay memory already holds: answered 401, nothing sent. */
class Replayed extends Error {}

const sealAad = (tenantId: string, platform: string) => `receiver:${tenantId}:${platform}`;

export function receiverUrl(base: string, platform: string, tenantId: string): string {
  return `${base.replace(/\/$/, '')}/v1/receivers/${encodeURIComponent(platform)}/${encodeURIComponent(tenantId)}`;
}

function descriptorOrThrow(platform: string): ReceiverDescriptor {
  const d = receiverFor(platform);
  if (!d) throw new AppError('receiver.not_found', `There is no receiver for "${platform.slice(0, 40)}"; platforms: ${platforms.join(', ')}.`);
  return d;
}

/**
 * Platform receivers (DESIGN.md "Platform receivers and events"; docs/integrations.md): the
 * tenant's configuration (secrets sealed, never returned after the save) and the handling of a
 * platform's call: authenticate (401), refuse replays (401), parse (400), then send through the
 * tenant's providers like any passcode: the fraud guard's checks, the budgets and the stats.
 */
export function createReceiverService(
  ctx: ServiceContext,
  deps: {
    audit: AuditService;
    templates: TemplateService;
    fraud: FraudGuard;
    getTenant: (id: string) => Promise<ActiveTenant>;
    metrics: Metrics;
    /** Throws `provider.not_configured` when the tenant's SMS could go nowhere. */
    requireUsableProvider: (tenantId: string) => Promise<void>;
    onEnqueued: () => void;
  },
) {
  const { store, clock, secretBox, logger } = ctx;
  const log = logger.child({ component: 'receivers' });

  function secretsOf(row: ReceiverConfigRow): string[] {
    return JSON.parse(secretBox.open(row.secrets_sealed, sealAad(row.tenant_id, row.platform))) as string[];
  }

  /** The text to send and the text to log (its code masked). */
  async function compose(tenant: ActiveTenant, sms: InboundSms): Promise<{ text: string; masked: string; purpose: string | null }> {
    const c = sms.content;
    if (c.kind === 'text') return { text: c.text, masked: maskWholeText(c.text, c.code), purpose: null };
    const s = tenant.settings;
    const locale = c.locale !== undefined && isValidLocale(c.locale) ? c.locale : undefined;
    const template = await deps.templates.resolve(tenant.id, c.purpose, locale, s);
    const text = composeOtpMessage({
      template,
      vars: { code: c.code, app_name: s.app_name ?? tenant.name, ttl_minutes: Math.ceil(s.otp_ttl_seconds / 60), purpose: c.purpose },
      webotpDomain: s.webotp_domain,
      androidAppHash: s.android_app_hash,
    });
    return { text, masked: maskCode(text, c.code), purpose: c.purpose };
  }

  /** Accepts the SMS into the outbox; throws AppError (refusals) or Replayed. */
  async function accept(tenant: ActiveTenant, platform: Platform, replayKey: string, sms: InboundSms): Promise<string> {
    const phone = normalizePhone(sms.to);
    if (!phone.ok) throw new AppError('phone.invalid', phone.reason);
    const s = tenant.settings;
    if (s.allowed_countries.length > 0 && (!phone.country || !s.allowed_countries.includes(phone.country))) {
      throw new AppError('phone.country_blocked', `This tenant does not send to ${phone.country ?? 'this country'}.`);
    }
    await deps.requireUsableProvider(tenant.id);
    const { text, masked, purpose } = await compose(tenant, sms);
    await deps.fraud.precheck(tenant, phone);
    const keys = deps.fraud.keysFor(tenant, phone.e164, phone.country, sms.clientIp);
    const now = clock.now();
    const row = newOutboxRow(secretBox, {
      id: newId('msg'),
      tenantId: tenant.id,
      // A platform's passcode is a passcode (stats, budgets, tripwires), with no challenge here: the platform verifies it.
      kind: 'otp',
      challengeId: null,
      purpose,
      to: phone.e164,
      text,
      masked,
      senderId: s.sender_id,
      now,
      // The platform's code validity is not known: retries stop after the tenant's own code
      // lifetime, as for its passcodes, since a code delivered later is of no use.
      expiresAt: now + s.otp_ttl_seconds * 1000,
    });
    const refusal = await store.writes.write(async (trx): Promise<FraudRefusal | null> => {
      const fresh = await rememberReplayKey(trx, { tenant_id: tenant.id, platform, replay_key: replayKey, expires_at: now + REPLAY_MEMORY_MS }, now);
      if (!fresh) throw new Replayed();
      // Answered, not thrown, so that a block the guard made commits (as in the OTP send path).
      // Relayed: the platform verifies the code, so the conversion tripwires do not judge it (docs/fraud-guard.md).
      const refused = await deps.fraud.evaluate(trx, tenant, phone.e164, keys, undefined, false, true);
      if (refused) return refused;
      await insertMessage(trx, row);
      await deps.fraud.count(trx, tenant, keys, row.segments ?? 1, false, true);
      return null;
    });
    if (refusal) throw refusalError(refusal);
    deps.onEnqueued();
    return row.id;
  }

  return {
    /** `PUT /v1/receivers/{platform}`. */
    async configure(tenant: ActiveTenant, platform: string, input: { enabled: boolean; secrets?: string[] | undefined }, actor: Actor, base: string): Promise<ReceiverSaved> {
      const d = descriptorOrThrow(platform);
      let secrets = input.secrets;
      let generated: string | undefined;
      if (secrets === undefined) {
        if (!d.canGenerateSecret) {
          throw new AppError('request.invalid', `${d.displayName} makes the secret itself: pass it in secrets.`, { issues: [{ path: 'secrets', message: 'required for this platform' }] });
        }
        generated = d.generateSecret();
        secrets = [generated];
      }
      const issues = secrets.flatMap((s, i) => {
        const problem = d.secretProblem(s);
        return problem ? [{ path: `secrets.${i}`, message: problem }] : [];
      });
      if (new Set(secrets).size !== secrets.length) issues.push({ path: 'secrets', message: 'the two secrets must differ' });
      if (issues.length > 0) throw new AppError('request.invalid', 'A secret is not usable for this platform.', { issues });
      const now = clock.now();
      await store.writes.write(async (trx) => {
        const existing = await findReceiverConfig(trx, tenant.id, d.platform);
        await upsertReceiverConfig(trx, {
          tenant_id: tenant.id,
          platform: d.platform,
          enabled: input.enabled ? 1 : 0,
          secrets_sealed: secretBox.seal(JSON.stringify(secrets), sealAad(tenant.id, d.platform)),
          created_at: existing?.created_at ?? now,
          updated_at: now,
        });
        await deps.audit.record(trx, {
          tenantId: tenant.id,
          actor,
          action: 'receiver.configured',
          target: d.platform,
          details: { enabled: input.enabled, secrets: secrets.length, generated: generated !== undefined },
        });
      });
      return { platform: d.platform, enabled: input.enabled, url: receiverUrl(base, d.platform, tenant.id), ...(generated !== undefined ? { secret: generated } : {}) };
    },

    async list(tenant: ActiveTenant, base: string): Promise<{ items: ReceiverView[]; next_cursor: null }> {
      const rows = await listReceiverConfigs(store.db, tenant.id);
      return {
        items: rows.map((r) => ({
          platform: r.platform as Platform,
          enabled: r.enabled === 1,
          url: receiverUrl(base, r.platform, tenant.id),
          secrets: secretsOf(r).length,
          created_at: new Date(r.created_at).toISOString(),
          updated_at: new Date(r.updated_at).toISOString(),
        })),
        next_cursor: null,
      };
    },

    async remove(tenant: ActiveTenant, platform: string, actor: Actor): Promise<void> {
      const d = descriptorOrThrow(platform);
      const gone = await store.writes.write(async (trx) => {
        const deleted = await deleteReceiverConfig(trx, tenant.id, d.platform);
        if (deleted) await deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'receiver.deleted', target: d.platform });
        return deleted;
      });
      if (!gone) throw new AppError('receiver.not_found', `This tenant has no ${d.platform} receiver.`);
    },

    /**
     * A platform's call. Always answers in the platform's form; never throws for a refusal.
     * The log says which receiver refused what and why, never a secret, a code or the body.
     */
    async handle(platform: string, request: ReceiverRequest, method: 'POST' | 'GET'): Promise<PlatformAnswer> {
      const d = receiverFor(platform);
      if (!d) return { status: 404, body: { error: 'not_found', message: `There is no receiver for this platform; platforms: ${platforms.join(', ')}.` } };
      const count = (outcome: 'accepted' | 'not_enabled' | 'unauthenticated' | 'replayed' | 'bad_request' | 'refused') => deps.metrics.receiverCalls.inc({ platform: d.platform, outcome });
      const notFound = () => {
        count('not_enabled');
        return d.error(404, 'This receiver is not enabled for this tenant.');
      };
      let tenant: ActiveTenant;
      try {
        tenant = await deps.getTenant(request.tenantId);
      } catch (err) {
        if (isAppError(err) && err.code === 'tenant.not_found') return notFound();
        throw err;
      }
      const config = await findReceiverConfig(store.db, tenant.id, d.platform);
      if (!config || config.enabled !== 1) return notFound();
      const secrets = secretsOf(config);
      const refuse = (status: number, reason: string, message: string, retryAfter?: number, refused = false) => {
        log.warn({ tenant_id: tenant.id, platform: d.platform, status, reason }, 'receiver refused a call');
        return d.error(status, message, retryAfter, refused);
      };

      if (method === 'GET') return d.challenge ? d.challenge(request, secrets) : notFound();

      const auth = d.authenticate(request, secrets);
      if (!auth.ok) {
        count('unauthenticated');
        return refuse(401, auth.reason, `Not authenticated: ${auth.reason}.`);
      }
      const parsed = d.parse(request);
      if (!parsed.ok) {
        count('bad_request');
        return refuse(400, parsed.reason, `The request does not match the ${d.displayName} contract: ${parsed.reason}.`);
      }
      try {
        const messageId = await accept(tenant, d.platform, auth.replayKey, parsed.sms);
        log.info({ tenant_id: tenant.id, platform: d.platform, message_id: messageId }, 'receiver accepted a message');
        count('accepted');
        return d.accepted(messageId);
      } catch (err) {
        if (err instanceof Replayed) {
          count('replayed');
          return refuse(401, 'replayed', 'Not authenticated: this request was already received (replay).');
        }
        if (isAppError(err)) {
          count('refused');
          return refuse(err.status, err.code, err.detail ?? err.message, err.retryAfter, true);
        }
        throw err;
      }
    },
  };
}

export type ReceiverService = ReturnType<typeof createReceiverService>;

/**
 * The Twilio Verify v2–compatible API's business side (docs/twilio-verify.md): services as
 * named settings profiles of a tenant, and verifications that are otpgate verifications
 * (src/services/otp-service.ts) under the service's purpose. Sending, failover, templates,
 * the fraud guard and receipts stay otpgate's: this file only translates.
 */
import { normalizePhone } from '../domain/phone.js';
import { genericTemplate } from '../domain/template.js';
import { idOfSid, newSid, sidOf } from '../domain/twilio-sids.js';
import { isAppError, type AppError } from '../errors/app-error.js';
import { invalidParameter, TwilioError } from '../errors/twilio-error.js';
import { findLatestCode } from '../store/queries/challenges.js';
import {
  countTwilioServices,
  deleteTwilioService,
  findTwilioService,
  insertTwilioService,
  listTwilioServices,
  updateTwilioService,
  type TwilioServiceRow,
} from '../store/queries/twilio-services.js';
import type { Store } from '../store/db.js';
import type { Clock } from '../domain/clock.js';
import type { AuditService } from './audit-service.js';
import type { Actor } from './context.js';
import type { OtpService, VerificationView } from './otp-service.js';
import type { TemplateService } from './template-service.js';
import type { ActiveTenant } from './tenant-service.js';

/** At most this many services per tenant (each is a settings profile, not a workload). */
export const MAX_SERVICES_PER_TENANT = 100;

export interface ServiceSettings {
  friendly_name: string;
  code_length: number;
  psd2_enabled: boolean;
  custom_code_enabled: boolean;
}

export interface StartVerificationInput {
  to: string;
  locale?: string | undefined;
  custom_code?: string | undefined;
  amount?: string | undefined;
  payee?: string | undefined;
  app_hash?: string | undefined;
  custom_friendly_name?: string | undefined;
  device_ip?: string | undefined;
}

export interface CheckInput {
  code: string;
  to?: string | undefined;
  verification_sid?: string | undefined;
  amount?: string | undefined;
  payee?: string | undefined;
}

/** A verification seen through a service: otpgate's view plus what Twilio's shape needs. */
export interface ServiceVerification {
  service: TwilioServiceRow;
  tenantId: string;
  view: VerificationView;
}

export interface CheckOutcome extends ServiceVerification {
  /** Twilio's check status: `approved`, `pending` (a wrong code) or `max_attempts_reached` (this wrong code was the last). */
  status: 'approved' | 'pending' | 'max_attempts_reached';
}

const notFound = (what: string) => new TwilioError(20404, `The requested resource ${what} was not found`);

/**
 * Twilio's answer for an otpgate error on the send path. Codes with no Twilio counterpart
 * keep their meaning in the message.
 */
function sendError(err: AppError, field: (path: string) => string): TwilioError {
  switch (err.code) {
    case 'request.invalid':
    case 'otp.transaction_details_required': {
      const path = err.issues?.[0]?.path ?? '';
      return invalidParameter(field(path), err.issues?.[0]?.message ?? err.detail ?? 'is not valid');
    }
    case 'phone.invalid':
      return invalidParameter('To', 'is not a valid phone number in E.164 format');
    case 'phone.country_blocked':
      return new TwilioError(60605, 'Verification delivery to this country is not allowed for this account');
    case 'phone.number_type_blocked':
    case 'fraud.blocked':
      return new TwilioError(60410, 'Verification delivery attempt blocked by the fraud guard', err.retryAfter);
    case 'otp.rate_limited':
      return new TwilioError(60203, 'Max send attempts reached', err.retryAfter);
    case 'otp.resend_cooldown':
      return new TwilioError(60212, 'Too many concurrent requests for phone number: a code was sent moments ago', err.retryAfter);
    case 'budget.exhausted':
      return new TwilioError(20429, 'Too many requests: the account’s SMS budget is used up for now', err.retryAfter);
    case 'store.unavailable':
      return new TwilioError(20503, 'Service unavailable: retry shortly', err.retryAfter);
    default:
      return err.status >= 500 ? new TwilioError(20500, 'Internal server error') : invalidParameter(field(err.issues?.[0]?.path ?? ''), err.detail ?? err.code);
  }
}

/** otpgate field names as Twilio's parameter names. */
const twilioField: Record<string, string> = {
  phone_number: 'To',
  locale: 'Locale',
  custom_code: 'CustomCode',
  amount: 'Amount',
  payee: 'Payee',
  client_ip: 'DeviceIp',
  code: 'Code',
  challenge_id: 'VerificationSid',
};
const fieldName = (path: string) => twilioField[path] ?? (path || 'request');

export function createTwilioVerifyService(deps: { store: Store; clock: Clock; audit: AuditService; otp: OtpService; templates: TemplateService }) {
  const { store, clock } = deps;

  async function getService(tenant: ActiveTenant, sid: string): Promise<TwilioServiceRow> {
    const row = await findTwilioService(store.db, tenant.id, sid);
    if (!row) throw notFound(`/Services/${sid}`);
    return row;
  }

  /** The tenant as a send through this service sees it: the service's name and code length. */
  function profiled(tenant: ActiveTenant, service: TwilioServiceRow, input: StartVerificationInput): ActiveTenant {
    return {
      ...tenant,
      settings: {
        ...tenant.settings,
        app_name: input.custom_friendly_name ?? service.friendly_name,
        otp_length: service.code_length,
        android_app_hash: input.app_hash ?? tenant.settings.android_app_hash,
      },
    };
  }

  /** The verification a path `Sid` names: a `VE…` SID, or the phone number it was sent to. */
  async function resolveVerification(tenant: ActiveTenant, service: TwilioServiceRow, sidOrTo: string, path: string): Promise<VerificationView> {
    let id: string | undefined;
    if (sidOrTo.startsWith('VE')) {
      id = idOfSid(sidOrTo, 'ver');
    } else {
      const phone = normalizePhone(sidOrTo);
      if (phone.ok) id = (await findLatestCode(store.db, tenant.id, phone.e164, service.purpose))?.verification_id ?? undefined;
    }
    if (!id) throw notFound(path);
    let view: VerificationView;
    try {
      view = await deps.otp.getVerification(tenant, id);
    } catch (err) {
      if (isAppError(err) && err.code === 'otp.verification_not_found') throw notFound(path);
      throw err;
    }
    // Another service's (or /v1's) verification is not this service's resource.
    if (view.purpose !== service.purpose) throw notFound(path);
    return view;
  }

  return {
    getService,

    async createService(tenant: ActiveTenant, settings: ServiceSettings, actor: Actor): Promise<TwilioServiceRow> {
      const now = clock.now();
      const sid = newSid('VA');
      const row: TwilioServiceRow = {
        sid,
        tenant_id: tenant.id,
        // A purpose of its own (`va_` + 29 hex, within the 32 characters a purpose may have).
        purpose: `va_${sid.slice(2, 31)}`,
        friendly_name: settings.friendly_name,
        code_length: settings.code_length,
        psd2_enabled: settings.psd2_enabled ? 1 : 0,
        custom_code_enabled: settings.custom_code_enabled ? 1 : 0,
        created_at: now,
        updated_at: now,
      };
      await store.writes.write(async (trx) => {
        if ((await countTwilioServices(trx, tenant.id)) >= MAX_SERVICES_PER_TENANT) {
          throw invalidParameter('FriendlyName', `this account already has ${MAX_SERVICES_PER_TENANT} services; delete one first`);
        }
        await insertTwilioService(trx, row);
        await deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'twilio_service.created', target: sid, details: { ...settings } });
      });
      return row;
    },

    /** A page of services in creation order; `more` when another page follows. */
    async listServices(tenant: ActiveTenant, pageSize: number, page: number): Promise<{ rows: TwilioServiceRow[]; more: boolean }> {
      const rows = await listTwilioServices(store.db, tenant.id, pageSize + 1, page * pageSize);
      return { rows: rows.slice(0, pageSize), more: rows.length > pageSize };
    },

    async updateService(tenant: ActiveTenant, sid: string, patch: Partial<ServiceSettings>, actor: Actor): Promise<TwilioServiceRow> {
      const now = clock.now();
      const changes = {
        ...(patch.friendly_name !== undefined ? { friendly_name: patch.friendly_name } : {}),
        ...(patch.code_length !== undefined ? { code_length: patch.code_length } : {}),
        ...(patch.psd2_enabled !== undefined ? { psd2_enabled: patch.psd2_enabled ? 1 : 0 } : {}),
        ...(patch.custom_code_enabled !== undefined ? { custom_code_enabled: patch.custom_code_enabled ? 1 : 0 } : {}),
        updated_at: now,
      };
      const ok = await store.writes.write(async (trx) => {
        const done = await updateTwilioService(trx, tenant.id, sid, changes);
        if (done) await deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'twilio_service.updated', target: sid, details: { ...patch } });
        return done;
      });
      if (!ok) throw notFound(`/Services/${sid}`);
      return getService(tenant, sid);
    },

    async deleteService(tenant: ActiveTenant, sid: string, actor: Actor): Promise<void> {
      const ok = await store.writes.write(async (trx) => {
        const done = await deleteTwilioService(trx, tenant.id, sid);
        if (done) await deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'twilio_service.deleted', target: sid });
        return done;
      });
      if (!ok) throw notFound(`/Services/${sid}`);
    },

    async startVerification(tenant: ActiveTenant, service: TwilioServiceRow, input: StartVerificationInput): Promise<ServiceVerification> {
      if (!service.psd2_enabled) {
        if (input.amount !== undefined) throw invalidParameter('Amount', 'PSD2 is not enabled on this service (Psd2Enabled)');
        if (input.payee !== undefined) throw invalidParameter('Payee', 'PSD2 is not enabled on this service (Psd2Enabled)');
      }
      if (input.custom_code !== undefined && !service.custom_code_enabled) throw invalidParameter('CustomCode', 'custom codes are not enabled on this service (CustomCodeEnabled)');
      const tenantView = profiled(tenant, service, input);
      // The service's own templates (purpose va_…) word its messages when the tenant wrote
      // some; otherwise the tenant's `verification` templates do, or `transaction` for a
      // PSD2 code, so the amount and payee are shown.
      const own = await deps.templates.resolve(tenant.id, service.purpose, input.locale, tenantView.settings);
      const templatePurpose = own !== genericTemplate ? service.purpose : input.amount !== undefined || input.payee !== undefined ? 'transaction' : 'verification';
      let sent;
      try {
        sent = await deps.otp.send(tenantView, {
          phone_number: input.to,
          purpose: service.purpose,
          template_purpose: templatePurpose,
          ...(input.locale !== undefined ? { locale: input.locale } : {}),
          ...(input.device_ip !== undefined ? { client_ip: input.device_ip } : {}),
          ...(input.amount !== undefined ? { amount: input.amount } : {}),
          ...(input.payee !== undefined ? { payee: input.payee } : {}),
          ...(input.custom_code !== undefined ? { custom_code: input.custom_code } : {}),
        });
      } catch (err) {
        if (isAppError(err)) throw sendError(err, fieldName);
        throw err;
      }
      return { service, tenantId: tenant.id, view: await deps.otp.getVerification(tenant, sent.body.verification_id) };
    },

    async fetchVerification(tenant: ActiveTenant, service: TwilioServiceRow, sidOrTo: string): Promise<ServiceVerification> {
      const view = await resolveVerification(tenant, service, sidOrTo, `/Services/${service.sid}/Verifications/${sidOrTo}`);
      return { service, tenantId: tenant.id, view };
    },

    /** `Status=canceled|approved`; a verification that has ended is not found, as on Twilio. */
    async updateVerification(tenant: ActiveTenant, service: TwilioServiceRow, sidOrTo: string, status: 'canceled' | 'approved'): Promise<ServiceVerification> {
      const path = `/Services/${service.sid}/Verifications/${sidOrTo}`;
      const view = await resolveVerification(tenant, service, sidOrTo, path);
      try {
        return { service, tenantId: tenant.id, view: await deps.otp.updateVerification(tenant, view.id, status) };
      } catch (err) {
        if (isAppError(err) && err.status < 500 && err.code !== 'store.unavailable') throw notFound(path);
        throw err;
      }
    },

    async check(tenant: ActiveTenant, service: TwilioServiceRow, input: CheckInput): Promise<CheckOutcome> {
      const path = `/Services/${service.sid}/VerificationCheck`;
      if (!service.psd2_enabled) {
        if (input.amount !== undefined) throw invalidParameter('Amount', 'PSD2 is not enabled on this service (Psd2Enabled)');
        if (input.payee !== undefined) throw invalidParameter('Payee', 'PSD2 is not enabled on this service (Psd2Enabled)');
      }
      let before: VerificationView;
      if (input.verification_sid !== undefined) {
        before = await resolveVerification(tenant, service, input.verification_sid, path);
      } else {
        const phone = normalizePhone(input.to);
        if (!phone.ok) throw invalidParameter('To', 'is not a valid phone number in E.164 format');
        before = await resolveVerification(tenant, service, phone.e164, path);
      }
      if (before.status === 'max_attempts_reached') throw new TwilioError(60202, 'Max check attempts reached');
      const send = before.sends.at(-1);
      if (before.status !== 'pending' || !send) throw notFound(path);
      try {
        await deps.otp.verify(tenant, {
          challenge_id: send.challenge_id,
          code: input.code,
          ...(input.amount !== undefined ? { amount: input.amount } : {}),
          ...(input.payee !== undefined ? { payee: input.payee } : {}),
        });
      } catch (err) {
        if (!isAppError(err)) throw err;
        switch (err.code) {
          case 'otp.invalid':
            return { service, tenantId: tenant.id, view: await deps.otp.getVerification(tenant, before.id), status: 'pending' };
          case 'otp.attempts_exhausted':
            return { service, tenantId: tenant.id, view: await deps.otp.getVerification(tenant, before.id), status: 'max_attempts_reached' };
          case 'request.invalid':
            throw sendError(err, fieldName);
          case 'store.unavailable':
            throw sendError(err, fieldName);
          default:
            // Expired, canceled, approved meanwhile: Twilio no longer has the resource.
            if (err.status < 500) throw notFound(path);
            throw err;
        }
      }
      return { service, tenantId: tenant.id, view: await deps.otp.getVerification(tenant, before.id), status: 'approved' };
    },

    /** Twilio's SIDs for otpgate ids (docs/twilio-verify.md "Ids"). */
    sids: {
      account: (tenantId: string) => sidOf(tenantId, 'ten'),
      verification: (id: string) => sidOf(id, 'ver'),
      attempt: (id: string) => sidOf(id, 'chl'),
    },
  };
}

export type TwilioVerifyService = ReturnType<typeof createTwilioVerifyService>;

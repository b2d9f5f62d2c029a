/**
 * The Twilio Verify v2–compatible API under `/v2/Services…` (docs/twilio-verify.md): form
 * bodies, HTTP Basic auth with an otpgate API key, Twilio's JSON shapes and error bodies, so
 * the official SDKs work with only the host changed. Translation only: the work is done by
 * src/services/twilio-verify-service.ts on top of the OTP service.
 */
import { isIP } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../../deps.js';
import { constantTimeEqual } from '../../crypto/hmac.js';
import { isValidLocale } from '../../domain/template.js';
import { transactionFieldProblem } from '../../domain/transaction.js';
import { sidOf } from '../../domain/twilio-sids.js';
import { isAppError } from '../../errors/app-error.js';
import { invalidParameter, isTwilioError, TwilioError } from '../../errors/twilio-error.js';
import { API_KEY_PREFIX } from '../../services/api-key-service.js';
import type { TwilioServiceRow } from '../../store/queries/twilio-services.js';
import { createTwilioVerifyService, type ServiceSettings, type ServiceVerification } from '../../services/twilio-verify-service.js';
import { requireTenant } from '../plugins/auth.js';

/** A form body as Twilio sends it: one value per name. */
type Form = Map<string, string>;

function parseForm(body: unknown): Form {
  const form: Form = new Map();
  if (body === undefined || body === null || body === '') return form;
  if (typeof body !== 'string') throw new TwilioError(60200, 'Invalid parameter: send the parameters form-encoded (application/x-www-form-urlencoded)');
  for (const [name, value] of new URLSearchParams(body)) {
    if (form.has(name)) throw invalidParameter(name, 'is given more than once');
    form.set(name, value);
  }
  return form;
}

/** How each parameter a route knows is read; anything else in the form is refused. */
type Rule =
  | { kind: 'string'; max: number; min?: number }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'bool' }
  /** A feature otpgate does not have: `false` describes otpgate and is accepted, `true` is refused. */
  | { kind: 'false_only'; why: string }
  /** A parameter of a feature otpgate does not have: refused whenever it is given. */
  | { kind: 'unsupported'; why: string };

type Parsed = Record<string, string | number | boolean | undefined>;

function readForm(form: Form, rules: Record<string, Rule>): Parsed {
  const out: Parsed = {};
  for (const [name, raw] of form) {
    const rule = rules[name];
    if (!rule) throw invalidParameter(name, 'is not a parameter of this resource');
    switch (rule.kind) {
      case 'string':
        if (raw.length > rule.max || raw.length < (rule.min ?? 1)) throw invalidParameter(name, `must be ${rule.min ?? 1} to ${rule.max} characters`);
        out[name] = raw;
        break;
      case 'int': {
        const n = /^\d{1,6}$/.test(raw) ? Number(raw) : NaN;
        if (!(n >= rule.min && n <= rule.max)) throw invalidParameter(name, `must be an integer from ${rule.min} to ${rule.max}`);
        out[name] = n;
        break;
      }
      case 'bool':
      case 'false_only': {
        const v = raw.toLowerCase();
        if (v !== 'true' && v !== 'false') throw invalidParameter(name, 'must be true or false');
        if (rule.kind === 'false_only' && v === 'true') throw invalidParameter(name, `is not supported by otpgate: ${rule.why}`);
        out[name] = v === 'true';
        break;
      }
      case 'unsupported':
        throw invalidParameter(name, `is not supported by otpgate: ${rule.why}`);
    }
  }
  return out;
}

const smsOnly = 'otpgate delivers codes by SMS only';
const serviceRules: Record<string, Rule> = {
  FriendlyName: { kind: 'string', max: 32 },
  CodeLength: { kind: 'int', min: 4, max: 10 },
  Psd2Enabled: { kind: 'bool' },
  CustomCodeEnabled: { kind: 'bool' },
  LookupEnabled: { kind: 'false_only', why: 'there is no carrier lookup; the fraud guard judges number types' },
  SkipSmsToLandlines: { kind: 'false_only', why: 'the fraud guard’s number type rules decide which numbers get an SMS' },
  DoNotShareWarningEnabled: { kind: 'false_only', why: 'word the warning in the tenant’s templates (the login and mfa defaults have one)' },
  DtmfInputRequired: { kind: 'false_only', why: smsOnly },
  VerifyEventSubscriptionEnabled: { kind: 'false_only', why: 'otpgate sends its own events (event endpoints)' },
  'Push.IncludeDate': { kind: 'false_only', why: smsOnly },
  TtsName: { kind: 'unsupported', why: smsOnly },
  'Push.ApnCredentialSid': { kind: 'unsupported', why: smsOnly },
  'Push.FcmCredentialSid': { kind: 'unsupported', why: smsOnly },
  'Totp.Issuer': { kind: 'unsupported', why: smsOnly },
  'Totp.TimeStep': { kind: 'unsupported', why: smsOnly },
  'Totp.CodeLength': { kind: 'unsupported', why: smsOnly },
  'Totp.Skew': { kind: 'unsupported', why: smsOnly },
  DefaultTemplateSid: { kind: 'unsupported', why: 'messages use the tenant’s templates (PUT /v1/templates/{purpose}/{locale})' },
  'Whatsapp.MsgServiceSid': { kind: 'unsupported', why: smsOnly },
  'Whatsapp.From': { kind: 'unsupported', why: smsOnly },
  'Passkeys.RelyingParty.Id': { kind: 'unsupported', why: smsOnly },
  'Passkeys.RelyingParty.Name': { kind: 'unsupported', why: smsOnly },
  'Passkeys.RelyingParty.Origins': { kind: 'unsupported', why: smsOnly },
  'Passkeys.AuthenticatorAttachment': { kind: 'unsupported', why: smsOnly },
  'Passkeys.DiscoverableCredentials': { kind: 'unsupported', why: smsOnly },
  'Passkeys.UserVerification': { kind: 'unsupported', why: smsOnly },
};

const verificationRules: Record<string, Rule> = {
  To: { kind: 'string', max: 64 },
  Channel: { kind: 'string', max: 20 },
  CustomFriendlyName: { kind: 'string', max: 40 },
  Locale: { kind: 'string', max: 35 },
  CustomCode: { kind: 'string', max: 10, min: 4 },
  Amount: { kind: 'string', max: 100 },
  Payee: { kind: 'string', max: 100 },
  AppHash: { kind: 'string', max: 11, min: 11 },
  DeviceIp: { kind: 'string', max: 45 },
  RiskCheck: { kind: 'string', max: 10 },
  EnableSnaClientToken: { kind: 'false_only', why: smsOnly },
  CustomMessage: { kind: 'unsupported', why: 'messages use the tenant’s templates' },
  SendDigits: { kind: 'unsupported', why: smsOnly },
  RateLimits: { kind: 'unsupported', why: 'the tenant’s hourly caps and the fraud guard apply instead' },
  ChannelConfiguration: { kind: 'unsupported', why: smsOnly },
  TemplateSid: { kind: 'unsupported', why: 'messages use the tenant’s templates' },
  TemplateCustomSubstitutions: { kind: 'unsupported', why: 'messages use the tenant’s templates' },
  Templates: { kind: 'unsupported', why: 'messages use the tenant’s templates' },
  Tags: { kind: 'unsupported', why: 'otpgate keeps no tags on a verification' },
};

const checkRules: Record<string, Rule> = {
  Code: { kind: 'string', max: 10, min: 4 },
  To: { kind: 'string', max: 64 },
  VerificationSid: { kind: 'string', max: 34 },
  Amount: { kind: 'string', max: 100 },
  Payee: { kind: 'string', max: 100 },
  SnaClientToken: { kind: 'unsupported', why: smsOnly },
};

const otherChannels = new Set(['call', 'email', 'whatsapp', 'sna', 'auto', 'rbm']);

const str = (p: Parsed, name: string): string | undefined => (typeof p[name] === 'string' ? (p[name] as string) : undefined);
const required = (p: Parsed, name: string): string => {
  const v = str(p, name);
  if (v === undefined) throw new TwilioError(60200, `Invalid parameter \`${name}\`: it is required`);
  return v;
};

/** Twilio's timestamps: ISO 8601 in UTC to the second. */
const twilioDate = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');

function baseUrl(deps: Deps, request: FastifyRequest): string {
  return (deps.config.publicUrl ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}

export function twilioVerifyRoutes(app: FastifyInstance, deps: Deps): Promise<void> {
  const service = createTwilioVerifyService({ store: deps.store, clock: deps.clock, audit: deps.audit, otp: deps.otp, templates: deps.templates });
  const sids = service.sids;

  function serviceJson(base: string, row: TwilioServiceRow) {
    const url = `${base}/v2/Services/${row.sid}`;
    return {
      sid: row.sid,
      account_sid: sids.account(row.tenant_id),
      friendly_name: row.friendly_name,
      code_length: row.code_length,
      lookup_enabled: false,
      psd2_enabled: row.psd2_enabled === 1,
      skip_sms_to_landlines: false,
      dtmf_input_required: false,
      tts_name: null,
      do_not_share_warning_enabled: false,
      custom_code_enabled: row.custom_code_enabled === 1,
      push: { include_date: false, apn_credential_sid: null, fcm_credential_sid: null },
      totp: { issuer: null, time_step: null, code_length: null, skew: null },
      default_template_sid: null,
      whatsapp: { msg_service_sid: null, from: null },
      passkeys: null,
      verify_event_subscription_enabled: false,
      date_created: twilioDate(new Date(row.created_at).toISOString()),
      date_updated: twilioDate(new Date(row.updated_at).toISOString()),
      url,
      links: { verifications: `${url}/Verifications`, verification_checks: `${url}/VerificationCheck` },
    };
  }

  function verificationJson(base: string, v: ServiceVerification) {
    const sid = sids.verification(v.view.id);
    return {
      sid,
      service_sid: v.service.sid,
      account_sid: sids.account(v.tenantId),
      to: v.view.phone_number,
      channel: 'sms',
      status: v.view.status,
      valid: v.view.status === 'approved',
      lookup: {},
      amount: v.view.amount,
      payee: v.view.payee,
      send_code_attempts: v.view.sends.map((s) => ({ attempt_sid: sids.attempt(s.challenge_id), channel: 'sms', time: twilioDate(s.created_at) })),
      date_created: twilioDate(v.view.created_at),
      date_updated: twilioDate(v.view.updated_at),
      sna: null,
      url: `${base}/v2/Services/${v.service.sid}/Verifications/${sid}`,
    };
  }

  function sendTwilioError(reply: FastifyReply, err: TwilioError): FastifyReply {
    if (err.code === 20003) reply.header('www-authenticate', 'Basic realm="otpgate"');
    if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
    return reply.code(err.status).type('application/json').send(err.body());
  }

  /** Fastify's own errors (body parsing, limits) as Twilio errors. */
  function fromFastify(err: FastifyError): TwilioError | undefined {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413) return new TwilioError(60200, 'Invalid parameter: the request body is too large');
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || err.statusCode === 415)
      return new TwilioError(60200, 'Invalid parameter: send the parameters form-encoded (application/x-www-form-urlencoded)');
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return new TwilioError(60200, 'Invalid parameter: the request could not be read');
    return undefined;
  }

  return app.register(
    async (v2) => {
      // Twilio's SDKs send form bodies; nothing else is read here.
      v2.removeAllContentTypeParsers();
      v2.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, body));

      v2.setErrorHandler((err: FastifyError, request, reply) => {
        if (isTwilioError(err)) return sendTwilioError(reply, err);
        if (isAppError(err)) {
          if (err.code === 'store.unavailable') return sendTwilioError(reply, new TwilioError(20503, 'Service unavailable: retry shortly', err.retryAfter ?? 2));
          if (err.code === 'tenant.not_found') return sendTwilioError(reply, new TwilioError(20003, 'Authenticate'));
          if (err.code === 'provider.not_configured') return sendTwilioError(reply, new TwilioError(60223, 'Delivery channel disabled: SMS (no SMS provider is configured for this account)'));
          if (err.status < 500) return sendTwilioError(reply, new TwilioError(60200, `Invalid parameter: ${err.detail ?? err.message}`));
        }
        const mapped = fromFastify(err);
        if (mapped) return sendTwilioError(reply, mapped);
        // A database error (not an AppError) that means the store is away: 503, as elsewhere.
        const away = request.server.storeUnavailable(err);
        if (away) return sendTwilioError(reply, new TwilioError(20503, 'Service unavailable: retry shortly', away.retryAfter ?? 2));
        // The name and message only: never a request body, which may hold a code.
        request.log.error({ err_name: err.name, err_message: err.message, err_code: err.code, stack: err.stack }, 'unhandled error on the Twilio-compatible API');
        return sendTwilioError(reply, new TwilioError(20500, 'Internal server error'));
      });
      v2.setNotFoundHandler((request, reply) =>
        sendTwilioError(reply, new TwilioError(20404, `The requested resource ${request.url.split('?')[0] ?? ''} was not found`)),
      );

      // HTTP Basic with an API key: user = the key id (`key_…` or its `SK…` SID) or the
      // tenant's account SID (`AC…`), password = the key. The routes are `public` to the
      // bearer check of src/http/plugins/auth.ts; this hook is theirs.
      v2.addHook('onRequest', async (request) => {
        const header = request.headers.authorization;
        const match = header ? /^Basic\s+([A-Za-z0-9+/=]{1,1000})\s*$/i.exec(header) : null;
        if (!match?.[1]) throw new TwilioError(20003, 'Authenticate');
        const decoded = Buffer.from(match[1], 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        const user = colon < 0 ? '' : decoded.slice(0, colon);
        const password = colon < 0 ? '' : decoded.slice(colon + 1);
        const principal = password.startsWith(API_KEY_PREFIX) ? await deps.apiKeys.authenticate(password) : null;
        if (!principal) throw new TwilioError(20003, 'Authenticate');
        const names = [principal.keyId, sidOf(principal.keyId, 'key'), sidOf(principal.tenantId, 'ten')];
        let known = false;
        for (const name of names) if (constantTimeEqual(name, user)) known = true;
        if (!known) throw new TwilioError(20003, 'Authenticate');
        request.caller = { kind: 'tenant', tenantId: principal.tenantId, keyId: principal.keyId, scopes: principal.scopes };
        // Every /v2 call sends or checks codes (or shapes how they are sent): the `otp` scope.
        if (!principal.scopes.includes('otp')) throw new TwilioError(20403, 'Forbidden: this API key lacks the otp scope');
        request.tenant = await deps.tenants.getActive(principal.tenantId);
      });

      const route = () => ({ config: { access: 'public' as const, scope: 'otp' as const }, schema: { hide: true } });
      const actor = (request: FastifyRequest) => (request.caller?.kind === 'tenant' ? request.caller.keyId : 'anonymous');
      const serviceSid = (request: FastifyRequest) => (request.params as { sid: string }).sid;
      const serviceOf = (request: FastifyRequest) => service.getService(requireTenant(request), serviceSid(request));

      function serviceSettings(p: Parsed): Partial<ServiceSettings> {
        return {
          ...(str(p, 'FriendlyName') !== undefined ? { friendly_name: transactionText(p, 'FriendlyName', 32) } : {}),
          ...(p.CodeLength !== undefined ? { code_length: p.CodeLength as number } : {}),
          ...(p.Psd2Enabled !== undefined ? { psd2_enabled: p.Psd2Enabled as boolean } : {}),
          ...(p.CustomCodeEnabled !== undefined ? { custom_code_enabled: p.CustomCodeEnabled as boolean } : {}),
        };
      }

      v2.post('/Services', route(), async (request, reply) => {
        const p = readForm(parseForm(request.body), serviceRules);
        required(p, 'FriendlyName');
        const s = serviceSettings(p);
        const row = await service.createService(
          requireTenant(request),
          {
            friendly_name: s.friendly_name!,
            code_length: s.code_length ?? 6,
            psd2_enabled: s.psd2_enabled ?? false,
            custom_code_enabled: s.custom_code_enabled ?? false,
          },
          actor(request),
        );
        return reply.code(201).type('application/json').send(serviceJson(baseUrl(deps, request), row));
      });

      v2.get('/Services', route(), async (request, reply) => {
        const q = new Map(Object.entries(request.query as Record<string, unknown>).map(([k, v]) => [k, Array.isArray(v) ? '\u0000' : String(v)]));
        for (const [k, v] of q) if (v === '\u0000') throw invalidParameter(k, 'is given more than once');
        const p = readForm(q, { PageSize: { kind: 'int', min: 1, max: 1000 }, Page: { kind: 'int', min: 0, max: 100000 }, PageToken: { kind: 'string', max: 200 } });
        const pageSize = (p.PageSize as number | undefined) ?? 50;
        const page = (p.Page as number | undefined) ?? 0;
        const { rows, more } = await service.listServices(requireTenant(request), pageSize, page);
        const base = baseUrl(deps, request);
        const pageUrl = (n: number) => `${base}/v2/Services?PageSize=${pageSize}&Page=${n}`;
        return reply.type('application/json').send({
          services: rows.map((r) => serviceJson(base, r)),
          meta: {
            page,
            page_size: pageSize,
            first_page_url: pageUrl(0),
            previous_page_url: page > 0 ? pageUrl(page - 1) : null,
            url: pageUrl(page),
            next_page_url: more ? pageUrl(page + 1) : null,
            key: 'services',
          },
        });
      });

      v2.get('/Services/:sid', route(), async (request, reply) => reply.type('application/json').send(serviceJson(baseUrl(deps, request), await serviceOf(request))));

      v2.post('/Services/:sid', route(), async (request, reply) => {
        const p = readForm(parseForm(request.body), serviceRules);
        const row = await service.updateService(requireTenant(request), serviceSid(request), serviceSettings(p), actor(request));
        return reply.type('application/json').send(serviceJson(baseUrl(deps, request), row));
      });

      v2.delete('/Services/:sid', route(), async (request, reply) => {
        await service.deleteService(requireTenant(request), serviceSid(request), actor(request));
        return reply.code(204).send();
      });

      v2.post('/Services/:sid/Verifications', route(), async (request, reply) => {
        const p = readForm(parseForm(request.body), verificationRules);
        const to = required(p, 'To');
        const channel = required(p, 'Channel');
        if (channel !== 'sms') {
          if (otherChannels.has(channel)) throw new TwilioError(60223, `Delivery channel disabled: ${channel.toUpperCase()} (otpgate delivers codes by SMS only)`);
          throw invalidParameter('Channel', 'must be sms');
        }
        const locale = str(p, 'Locale');
        if (locale !== undefined && !isValidLocale(locale.replace(/_/g, '-'))) throw invalidParameter('Locale', 'must be a locale such as en or pt-BR');
        const customCode = str(p, 'CustomCode');
        if (customCode !== undefined && !/^[0-9A-Za-z]+$/.test(customCode)) throw invalidParameter('CustomCode', 'must be 4 to 10 digits or letters');
        const appHash = str(p, 'AppHash');
        if (appHash !== undefined && !/^[A-Za-z0-9+/]{11}$/.test(appHash)) throw invalidParameter('AppHash', 'must be the 11-character app hash');
        const deviceIp = str(p, 'DeviceIp');
        if (deviceIp !== undefined && isIP(deviceIp) === 0) throw invalidParameter('DeviceIp', 'must be an IPv4 or IPv6 address');
        const risk = str(p, 'RiskCheck');
        if (risk === 'disable') throw invalidParameter('RiskCheck', 'the fraud guard cannot be turned off per request; put the number on the tenant’s safe list');
        if (risk !== undefined && risk !== 'enable') throw invalidParameter('RiskCheck', 'must be enable or disable');
        const tenant = requireTenant(request);
        const row = await serviceOf(request);
        await deps.providers.requireUsable(tenant.id);
        const started = await service.startVerification(tenant, row, {
          to,
          locale: locale?.replace(/_/g, '-'),
          custom_code: customCode,
          amount: str(p, 'Amount'),
          payee: str(p, 'Payee'),
          app_hash: appHash,
          custom_friendly_name: str(p, 'CustomFriendlyName') === undefined ? undefined : transactionText(p, 'CustomFriendlyName', 40),
          device_ip: deviceIp,
        });
        return reply.code(201).type('application/json').send(verificationJson(baseUrl(deps, request), started));
      });

      v2.get('/Services/:sid/Verifications/:vsid', route(), async (request, reply) => {
        const { vsid } = request.params as { vsid: string };
        const row = await serviceOf(request);
        return reply.type('application/json').send(verificationJson(baseUrl(deps, request), await service.fetchVerification(requireTenant(request), row, vsid)));
      });

      v2.post('/Services/:sid/Verifications/:vsid', route(), async (request, reply) => {
        const { vsid } = request.params as { vsid: string };
        const p = readForm(parseForm(request.body), { Status: { kind: 'string', max: 20 } });
        const status = required(p, 'Status');
        if (status !== 'canceled' && status !== 'approved') throw invalidParameter('Status', 'must be canceled or approved');
        const row = await serviceOf(request);
        return reply.type('application/json').send(verificationJson(baseUrl(deps, request), await service.updateVerification(requireTenant(request), row, vsid, status)));
      });

      v2.post('/Services/:sid/VerificationCheck', route(), async (request, reply) => {
        const p = readForm(parseForm(request.body), checkRules);
        const code = required(p, 'Code');
        if (!/^[0-9A-Za-z]+$/.test(code)) throw invalidParameter('Code', 'must be 4 to 10 digits or letters');
        const to = str(p, 'To');
        const verificationSid = str(p, 'VerificationSid');
        if (to === undefined && verificationSid === undefined) throw new TwilioError(60200, 'Invalid parameter: either `To` or `VerificationSid` is required');
        const row = await serviceOf(request);
        const outcome = await service.check(requireTenant(request), row, { code, to, verification_sid: verificationSid, amount: str(p, 'Amount'), payee: str(p, 'Payee') });
        const v = verificationJson(baseUrl(deps, request), outcome);
        return reply.type('application/json').send({
          sid: v.sid,
          service_sid: v.service_sid,
          account_sid: v.account_sid,
          to: v.to,
          channel: 'sms',
          status: outcome.status,
          valid: outcome.status === 'approved',
          amount: v.amount,
          payee: v.payee,
          date_created: v.date_created,
          date_updated: v.date_updated,
          sna_attempts_error_codes: [],
        });
      });
    },
    { prefix: '/v2' },
  ) as unknown as Promise<void>;
}

/** A name shown in the SMS: printable text only (no control or bidi characters). */
function transactionText(p: Parsed, name: string, max: number): string {
  const v = str(p, name) ?? '';
  const problem = transactionFieldProblem(v, max);
  if (problem) throw invalidParameter(name, problem);
  return v;
}

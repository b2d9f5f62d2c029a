import { createHash } from 'node:crypto';
import { systemClock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { fictionalNumber, normalizePhone } from '../domain/phone.js';
import { codeProblem, generateCode, normalizeCode } from '../domain/otp.js';
import { composeOtpMessage, maskCode, transactionVariablesUsed } from '../domain/template.js';
import { transactionProblems } from '../domain/transaction.js';
import { constantTimeEqual, hmacCode, type CodeBinding } from '../crypto/hmac.js';
import { AppError } from '../errors/app-error.js';
import type { Metrics } from '../observability/metrics.js';
import {
  closeCodesOf,
  countSendsForIp,
  countSendsForPhone,
  findChallenge,
  findLatestChallenge,
  findLatestCode,
  insertChallenge,
  lockSendKey,
  oldestSend,
  pendingCodesOf,
  supersedeBeyondNewest,
  supersedeChallenge,
} from '../store/queries/challenges.js';
import {
  approveVerification,
  approveVerificationDirectly,
  codesOfVerification,
  endVerification,
  extendVerification,
  findVerification,
  insertVerification,
  recordVerificationWrongAttempt,
} from '../store/queries/verifications.js';
import { findIdempotencyKey, insertIdempotencyKey } from '../store/queries/idempotency.js';
import { insertMessage } from '../store/queries/messages.js';
import { createSendBatcher, IDEMPOTENCY_TAKEN, OPEN_VERIFICATION_CHANGED, SEND_JOINED, type GuardedSend, type OneCallSend } from '../store/queries/send.js';
import {
  approveInOneCall as callVerifyApprove,
  readForVerify as callVerifyRead,
  TOO_MANY_ENDPOINTS,
  createVerifyBatcher,
  type NamedAnswer,
} from '../store/queries/verify.js';
import type { Challenge, Verification, VerificationStatus } from '../store/schema.js';
import { ipWindowKey, phoneWindowKey, type Reservation, type SendLimiter, type SendWindow } from '../store/send-limits.js';
import type { ServiceContext } from './context.js';
import { refusalError, type FraudGuard, type FraudRefusal, type SendKeys } from './fraud-guard.js';
import { eventPayload, type EventData } from './event-emitter.js';
import { newOutboxRow } from './message-service.js';
import type { TemplateService } from './template-service.js';
import type { ActiveTenant } from './tenant-service.js';

const HOUR_MS = 3_600_000;
/** How long an idempotency key is remembered, ms. */
export const IDEMPOTENCY_TTL_MS = 24 * HOUR_MS;
/** `new_code`: how many of a verification's newest codes still verify. */
export const LIVE_CODES = 3;
/** Delivery ids handed to `otpgate_verify_approve`: enough for a tenant's usual endpoints. */
const APPROVE_DELIVERY_IDS = 4;

export interface SendOtpInput {
  phone_number: string;
  purpose?: string;
  locale?: string;
  client_ip?: string;
  /** PSD2 dynamic linking: shown in the message and bound into the code. */
  amount?: string;
  payee?: string;
  /** A code the caller made (Twilio's CustomCode): delivered and verified as given; never logged or returned. */
  custom_code?: string;
  /** The purpose whose templates word the message (default: `purpose`); the Twilio-compatible API's services use it. */
  template_purpose?: string;
}

export interface SendOtpResult {
  challenge_id: string;
  /** The verification this send belongs to (a resend joins the still-valid one). */
  verification_id: string;
  phone_number: string;
  purpose: string;
  expires_at: string;
  resend_available_at: string;
  message_id: string | null;
}

export type VerifyOtpInput = { code: string; amount?: string; payee?: string } & ({ challenge_id: string } | { phone_number: string; purpose?: string });

export interface VerifyOtpResult {
  verified: true;
  /** The send whose code matched. */
  challenge_id: string;
  verification_id: string;
  phone_number: string;
  purpose: string;
}

export interface ChallengeView {
  id: string;
  verification_id: string | null;
  phone_number: string;
  purpose: string;
  status: Challenge['status'];
  /** The verification's wrong attempts (shared by its sends). */
  attempts: number;
  max_attempts: number;
  attempts_remaining: number;
  created_at: string;
  expires_at: string;
  resend_available_at: string;
  verified_at: string | null;
  message_id: string | null;
}

/** A verification as the API shows it (never the code). */
export interface VerificationView {
  id: string;
  phone_number: string;
  purpose: string;
  status: VerificationStatus;
  attempts: number;
  max_attempts: number;
  attempts_remaining: number;
  amount: string | null;
  payee: string | null;
  created_at: string;
  updated_at: string;
  expires_at: string;
  approved_at: string | null;
  /** Its sends, oldest first. */
  sends: Array<{ challenge_id: string; created_at: string; expires_at: string; message_id: string | null }>;
}

/** Signals a lost race on an idempotency key inside the send transaction. */
class IdempotencyRace extends Error {}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A pending verification past its last code's expiry reads as expired (it is marked lazily). */
function effectiveStatus(v: Verification, now: number): VerificationStatus {
  return v.status === 'pending' && v.expires_at <= now ? 'expired' : v.status;
}

const closedChallengeStatus: Record<Exclude<VerificationStatus, 'pending'>, Challenge['status']> = {
  approved: 'verified',
  max_attempts_reached: 'locked',
  canceled: 'canceled',
  expired: 'expired',
};

export function challengeView(c: Challenge, now: number, v?: Verification): ChallengeView {
  let status: Challenge['status'] = c.status === 'pending' && c.expires_at <= now ? 'expired' : c.status;
  if (status === 'pending' && v) {
    const vs = effectiveStatus(v, now);
    if (vs !== 'pending') status = closedChallengeStatus[vs];
  }
  const attempts = v ? v.attempts : c.attempts;
  const max = v ? v.max_attempts : c.max_attempts;
  return {
    id: c.id,
    verification_id: c.verification_id ?? null,
    phone_number: c.phone,
    purpose: c.purpose,
    status,
    attempts,
    max_attempts: max,
    attempts_remaining: status === 'pending' ? Math.max(0, max - attempts) : 0,
    created_at: iso(c.created_at),
    expires_at: iso(c.expires_at),
    resend_available_at: iso(c.resend_available_at),
    verified_at: c.verified_at === null ? null : iso(c.verified_at),
    message_id: c.message_id,
  };
}

function badInput(detail: string, issues: Array<{ path: string; message: string }>): AppError {
  return new AppError('request.invalid', detail, { issues });
}

/** Amount and payee as stored and bound: absent is null. */
function bindingOf(input: { amount?: string | undefined; payee?: string | undefined }): { amount: string | null; payee: string | null } {
  return { amount: input.amount ?? null, payee: input.payee ?? null };
}

function codeBinding(b: { amount: string | null; payee: string | null }): CodeBinding {
  return { amount: b.amount ?? undefined, payee: b.payee ?? undefined };
}

export function createOtpService(
  ctx: ServiceContext,
  deps: {
    templates: TemplateService;
    metrics: Metrics;
    onEnqueued: () => void;
    fraud: FraudGuard;
    /** Hourly caps in Redis (`OTPGATE_REDIS_URL`); without it they are counted in the send transaction. */
    limiter?: SendLimiter | undefined;
  },
) {
  const { store, clock, secretBox, codeKey } = ctx;
  // Concurrent one-statement sends, and verifies, share a statement and a commit (PostgreSQL,
  // migrations 0022 and 0023).
  // While the database is away, a call that would wait behind running batches is answered 503.
  const batching = store.availability ? { availability: store.availability } : {};
  const sendBatcher = createSendBatcher(store.db, batching);
  const verifyBatcher = createVerifyBatcher(store.db, batching);

  /**
   * The number of a send or a verify. A number in a fictional range (Ofcom's drama mobiles …)
   * that libphonenumber does not list is taken only when it is one of the tenant's test numbers.
   */
  function phoneOrThrow(input: unknown, testNumbers: ActiveTenant['settings']['test_numbers']): { e164: string; country: string | undefined } {
    const n = normalizePhone(input);
    if (n.ok) return n;
    const fictional = fictionalNumber(input);
    if (fictional && testNumbers.some((t) => t.phone_number === fictional.e164)) return fictional;
    throw new AppError('phone.invalid', n.reason, { issues: [{ path: 'phone_number', message: n.reason }] });
  }

  /** The sealed `same_code` code is bound to its verification, so it opens nowhere else. */
  const sealAad = (verificationId: string) => `verification:${verificationId}`;

  /**
   * A send that can be one statement (`otpgate_send`, or `otpgate_send_guarded` with the fraud
   * guard on): one whose tenant has no budget (read and written in the send's unit) and whose
   * guard is off or counts in the store (not Redis). Test numbers, which deliver nothing, keep
   * the transaction too.
   */
  function oneCallFits(s: ActiveTenant['settings']): boolean {
    const b = s.budget;
    return (
      (s.fraud_guard.mode === 'off' || deps.fraud.countsInStore) &&
      b.daily_messages === undefined &&
      b.monthly_messages === undefined &&
      b.daily_spend === undefined &&
      b.monthly_spend === undefined
    );
  }

  /**
   * The send as one call of `otpgate_send` (PostgreSQL): the code, the sealed text and every row
   * are made here first, then the function takes the locks, checks and writes in one statement.
   * A `same_code` resend takes a second call: the first answers `fallback` with the open
   * verification's sealed code, which only this process can open, and the second carries the
   * rows made with that code and expiry (migration 0025).
   * With the fraud guard on, the guard judges the send first (`judgeAhead`) and the statement
   * counts it (`countsAhead`, migration 0026). Answers as the transaction below would, or
   * undefined when the send must take it after all (a `same_code` resend whose code cannot be
   * opened or differs from the caller's, or whose verification changed between the calls; with
   * the guard on, a resend, a cooldown, or a send the guard refuses, counts a hit on or trips a
   * rule for, all of which the transaction judges and writes). Throws IdempotencyRace when
   * another request stored the key meanwhile.
   */
  async function sendInOneCall(
    tenant: ActiveTenant,
    input: SendOtpInput,
    a: {
      phone: string;
      purpose: string;
      now: number;
      template: string;
      challengeId: string;
      messageId: string;
      resendAt: number;
      customCode: string | undefined;
      binding: { amount: string | null; payee: string | null };
      countInStore: boolean;
      idempotencyKey: string | undefined;
      requestHash: string;
      fraudKeys: SendKeys;
    },
  ): Promise<{ status: number; body: SendOtpResult } | undefined> {
    const s = tenant.settings;
    const { now } = a;
    let expectLatest: string | null | undefined;
    if (s.fraud_guard.mode !== 'off') {
      const judged = await deps.fraud.judgeAhead(tenant, a.phone, a.purpose, a.fraudKeys);
      if (!judged) return undefined;
      expectLatest = judged.latest;
    }

    /** The call's arguments for this code and expiry; `join`: the open verification they were made for. */
    function made(code: string, expiresAt: number, join?: string) {
      const verificationId = newId('ver');
      const text = composeOtpMessage({
        template: a.template,
        vars: { code, app_name: s.app_name ?? tenant.name, ttl_minutes: Math.ceil(s.otp_ttl_seconds / 60), purpose: a.purpose, amount: input.amount, payee: input.payee },
        webotpDomain: s.webotp_domain,
        androidAppHash: s.android_app_hash,
      });
      const message = newOutboxRow(secretBox, {
        id: a.messageId,
        tenantId: tenant.id,
        kind: 'otp',
        challengeId: a.challengeId,
        purpose: a.purpose,
        to: a.phone,
        text,
        masked: maskCode(text, code),
        senderId: s.sender_id,
        now,
        expiresAt,
      });
      const result: SendOtpResult = {
        challenge_id: a.challengeId,
        verification_id: join ?? verificationId,
        phone_number: a.phone,
        purpose: a.purpose,
        expires_at: iso(expiresAt),
        resend_available_at: iso(a.resendAt),
        message_id: a.messageId,
      };
      const args: OneCallSend = {
        tenant_id: tenant.id,
        phone: a.phone,
        purpose: a.purpose,
        now,
        live_clock: clock === systemClock,
        client_ip: input.client_ip ?? null,
        amount: a.binding.amount,
        payee: a.binding.payee,
        resend_policy: s.resend_policy,
        count_caps: a.countInStore,
        max_per_phone: s.max_sends_per_phone_per_hour,
        max_per_ip: s.max_sends_per_ip_per_hour,
        live_codes: LIVE_CODES,
        idempotency_key: a.idempotencyKey ?? null,
        challenge: {
          id: a.challengeId,
          tenant_id: tenant.id,
          phone: a.phone,
          purpose: a.purpose,
          code_hash: hmacCode(codeKey, a.challengeId, code, codeBinding(a.binding)),
          status: 'pending',
          attempts: 0,
          max_attempts: s.max_verify_attempts,
          client_ip: input.client_ip ?? null,
          is_test: 0,
          message_id: a.messageId,
          created_at: now,
          expires_at: expiresAt,
          resend_available_at: a.resendAt,
          verified_at: null,
        },
        verification: {
          id: verificationId,
          tenant_id: tenant.id,
          phone: a.phone,
          purpose: a.purpose,
          status: 'pending',
          attempts: 0,
          max_attempts: s.max_verify_attempts,
          code_sealed: s.resend_policy === 'same_code' ? secretBox.seal(code, sealAad(verificationId)) : null,
          amount: a.binding.amount,
          payee: a.binding.payee,
          created_at: now,
          updated_at: now,
          expires_at: expiresAt,
          approved_at: null,
        },
        message,
        idempotency: a.idempotencyKey
          ? {
              tenant_id: tenant.id,
              key: a.idempotencyKey,
              route: 'otp.send',
              request_hash: a.requestHash,
              status_code: 202,
              response: JSON.stringify(result),
              created_at: now,
              expires_at: now + IDEMPOTENCY_TTL_MS,
            }
          : null,
      };
      if (join !== undefined) args.join_verification = join;
      return { args, message, result };
    }

    /** The call; undefined when it rolled back for the transaction path to take the send. */
    async function call(args: OneCallSend, segments: number) {
      let sent: OneCallSend | GuardedSend = args;
      if (expectLatest !== undefined) {
        const counts = deps.fraud.countsAhead(tenant, a.fraudKeys, segments);
        sent = counts ? { ...args, expect_latest: expectLatest, counts } : { ...args, expect_latest: expectLatest };
      }
      try {
        return await sendBatcher.send(sent);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === IDEMPOTENCY_TAKEN) throw new IdempotencyRace();
        if (code === SEND_JOINED || code === OPEN_VERIFICATION_CHANGED) return undefined;
        throw err;
      }
    }

    let send = made(a.customCode ?? generateCode(s.otp_length, s.code_alphabet), now + s.otp_ttl_seconds * 1000);
    let answer = await call(send.args, send.message.segments ?? 1);
    if (answer?.outcome === 'fallback') {
      const open = answer.open;
      // With the guard on, a resend is judged and counted by the transaction.
      if (expectLatest !== undefined || !open || open.code_sealed === null) return undefined;
      let sameCode: string;
      try {
        sameCode = secretBox.open(open.code_sealed, sealAad(open.id));
      } catch {
        // The transaction path says why and starts a new verification.
        return undefined;
      }
      // Another caller-made code is another verification, which the transaction path starts.
      if (a.customCode !== undefined && a.customCode !== sameCode) return undefined;
      send = made(sameCode, open.expires_at, open.id);
      answer = await call(send.args, send.message.segments ?? 1);
    }
    if (answer === undefined) return undefined;
    const { result } = send;
    switch (answer.outcome) {
      case 'fallback':
        return undefined;
      case 'race':
        throw new IdempotencyRace();
      case 'cooldown': {
        deps.metrics.otpSends.inc({ outcome: 'cooldown' });
        const wait = Math.max(1, Math.ceil((answer.resend_available_at - clock.now()) / 1000));
        throw new AppError('otp.resend_cooldown', `A code was sent to this phone moments ago; a new one can be sent in ${wait} s.`, {
          retryAfter: wait,
          extra: { resend_available_at: iso(answer.resend_available_at) },
        });
      }
      case 'phone_cap':
      case 'ip_cap': {
        deps.metrics.otpSends.inc({ outcome: 'rate_limited' });
        const by = answer.outcome === 'phone_cap' ? 'phone' : 'ip';
        throw rateLimited(by, by === 'phone' ? s.max_sends_per_phone_per_hour : s.max_sends_per_ip_per_hour, (answer.oldest ?? now) + HOUR_MS - now);
      }
      case 'accepted':
        result.verification_id = answer.verification_id;
        deps.metrics.otpSends.inc({ outcome: 'accepted' });
        deps.onEnqueued();
        return { status: 202, body: result };
    }
  }

  async function send(tenant: ActiveTenant, input: SendOtpInput, idempotencyKey?: string): Promise<{ status: number; body: SendOtpResult }> {
    const s = tenant.settings;
    const now = clock.now();
    const purpose = input.purpose ?? 'login';

    // Bad input changes nothing: checked before the idempotency key is looked at or stored.
    const problems = transactionProblems(input);
    if (problems.length > 0) throw badInput('The amount or payee is not usable.', problems);
    let customCode: string | undefined;
    if (input.custom_code !== undefined) {
      customCode = normalizeCode(String(input.custom_code), s.code_alphabet);
      const problem = codeProblem(customCode, s.code_alphabet);
      if (problem) throw badInput(`custom_code ${problem}.`, [{ path: 'custom_code', message: problem }]);
    }
    const binding = bindingOf(input);

    // A caller's code is in the request; the stored request hash covers it only through a keyed
    // hash, so the hash cannot be searched for the code.
    const hashed = input.custom_code === undefined ? input : { ...input, custom_code: hmacCode(codeKey, 'idempotency', input.custom_code) };
    const requestHash = idempotencyKey ? createHash('sha256').update(JSON.stringify(['otp.send', hashed])).digest('base64url') : '';

    if (idempotencyKey) {
      const prior = await findIdempotencyKey(store.db, tenant.id, idempotencyKey, now);
      if (prior) return replay(prior.request_hash, requestHash, prior.status_code, prior.response);
    }

    let phone: { e164: string; country: string | undefined };
    try {
      phone = phoneOrThrow(input.phone_number, s.test_numbers);
    } catch (err) {
      deps.metrics.otpSends.inc({ outcome: 'invalid' });
      throw err;
    }
    if (s.allowed_countries.length > 0 && (!phone.country || !s.allowed_countries.includes(phone.country))) {
      deps.metrics.otpSends.inc({ outcome: 'country_blocked' });
      throw new AppError('phone.country_blocked', `This tenant does not send to ${phone.country ?? 'this country'}.`);
    }

    const testNumber = s.test_numbers.find((t) => t.phone_number === phone.e164);
    let template: string | undefined;
    if (!testNumber) {
      template = await deps.templates.resolve(tenant.id, input.template_purpose ?? purpose, input.locale, s);
      const missing = transactionVariablesUsed(template).filter((v) => input[v] === undefined);
      if (missing.length > 0) {
        deps.metrics.otpSends.inc({ outcome: 'invalid' });
        throw new AppError('otp.transaction_details_required', `The ${purpose} message shows ${missing.join(' and ')}: send ${missing.join(' and ')} with the code.`, {
          issues: missing.map((m) => ({ path: m, message: 'required by the message template' })),
        });
      }
      try {
        await deps.fraud.precheck(tenant, phone);
      } catch (err) {
        deps.metrics.otpSends.inc({ outcome: (err as AppError).code === 'phone.country_blocked' ? 'country_blocked' : 'number_type_blocked' });
        throw err;
      }
    }
    const fraudKeys = deps.fraud.keysFor(tenant, phone.e164, phone.country, input.client_ip);
    const challengeId = newId('chl');
    const resendAt = now + s.resend_cooldown_seconds * 1000;
    const messageId = testNumber ? null : newId('msg');
    let message: Parameters<typeof insertMessage>[1] | undefined;
    let result: SendOtpResult | undefined;

    // With Redis, the hourly caps are reserved there first (one atomic step for all nodes);
    // when Redis cannot answer, or without it, they are counted in the transaction below.
    let reservation: Reservation | undefined;
    if (!testNumber && deps.limiter) {
      const windows: SendWindow[] = [{ key: phoneWindowKey(tenant.id, phone.e164), limit: s.max_sends_per_phone_per_hour }];
      if (input.client_ip) windows.push({ key: ipWindowKey(tenant.id, input.client_ip), limit: s.max_sends_per_ip_per_hour });
      reservation = await deps.limiter.reserve(windows, challengeId, now, HOUR_MS);
      if (reservation.ok === false) {
        deps.metrics.otpSends.inc({ outcome: 'rate_limited' });
        throw rateLimited(reservation.window === windows[0] ? 'phone' : 'ip', reservation.window.limit, reservation.retryAfterMs);
      }
    }
    const countInStore = !testNumber && reservation?.ok !== true;

    if (template !== undefined && messageId !== null && store.capabilities.sendFunction && oneCallFits(s)) {
      let answered: { status: number; body: SendOtpResult } | undefined;
      try {
        answered = await sendInOneCall(tenant, input, {
          phone: phone.e164, purpose, now, template, challengeId, messageId, resendAt, customCode, binding, countInStore, idempotencyKey, requestHash, fraudKeys,
        });
      } catch (err) {
        if (reservation?.ok === true) await reservation.release();
        if (err instanceof IdempotencyRace && idempotencyKey) return idempotencyRaceAnswer(tenant.id, idempotencyKey, requestHash, now);
        throw err;
      }
      // Undefined: a send the transaction below must take (sendInOneCall says which).
      if (answered) return answered;
    }

    let refusal: FraudRefusal | undefined;
    let resend = false;
    try {
      refusal = await store.writes.write(async (trx): Promise<FraudRefusal | undefined> => {
        message = undefined;
        await lockSendKey(trx, store.capabilities, `${tenant.id}:${phone.e164}`);
        // A concurrent request with the same key may have committed while this one waited
        // for the per-phone lock: answer with its result rather than a cooldown.
        if (idempotencyKey && (await findIdempotencyKey(trx, tenant.id, idempotencyKey, now))) throw new IdempotencyRace();
        // At most one verification per phone and purpose is pending, and the latest send
        // belongs to it.
        const latest = await findLatestCode(trx, tenant.id, phone.e164, purpose);
        if (!testNumber) {
          // Policy checks run inside the transaction, under the per-phone lock, so that they
          // hold across concurrent requests and nodes.
          const lockedAt = clock.now(); // after the lock: another send may have just committed
          if (latest && latest.status === 'pending' && latest.resend_available_at > lockedAt && latest.expires_at > lockedAt) {
            deps.metrics.otpSends.inc({ outcome: 'cooldown' });
            const wait = Math.ceil((latest.resend_available_at - lockedAt) / 1000);
            throw new AppError('otp.resend_cooldown', `A code was sent to this phone moments ago; a new one can be sent in ${wait} s.`, {
              retryAfter: wait,
              extra: { resend_available_at: iso(latest.resend_available_at) },
            });
          }
        }
        if (countInStore) {
          const since = now - HOUR_MS;
          const sent = await countSendsForPhone(trx, tenant.id, phone.e164, since);
          if (sent >= s.max_sends_per_phone_per_hour) {
            deps.metrics.otpSends.inc({ outcome: 'rate_limited' });
            const oldest = (await oldestSend(trx, tenant.id, 'phone', phone.e164, since)) ?? now;
            throw rateLimited('phone', s.max_sends_per_phone_per_hour, oldest + HOUR_MS - now);
          }
          if (input.client_ip) {
            await lockSendKey(trx, store.capabilities, `${tenant.id}:ip:${input.client_ip}`);
            const fromIp = await countSendsForIp(trx, tenant.id, input.client_ip, since);
            if (fromIp >= s.max_sends_per_ip_per_hour) {
              deps.metrics.otpSends.inc({ outcome: 'rate_limited' });
              const oldest = (await oldestSend(trx, tenant.id, 'client_ip', input.client_ip, since)) ?? now;
              throw rateLimited('ip', s.max_sends_per_ip_per_hour, oldest + HOUR_MS - now);
            }
          }
        }

        // The open verification, if the latest send belongs to one that is still valid.
        const open =
          latest?.status === 'pending' && latest.verification_id ? await findVerification(trx, tenant.id, latest.verification_id) : undefined;
        const valid = open !== undefined && open.status === 'pending' && open.expires_at > now ? open : undefined;
        // A send for another amount or payee, or with another caller-made code than the one a
        // `same_code` resend would repeat, is another verification: it replaces the open one.
        let sameCode: string | undefined;
        // A code sealed under a key no longer configured cannot be repeated: the resend then
        // starts a new verification with a new code, as an expired one would.
        let unreadable = false;
        if (valid && s.resend_policy === 'same_code' && valid.code_sealed !== null) {
          try {
            sameCode = secretBox.open(valid.code_sealed, sealAad(valid.id));
          } catch (err) {
            unreadable = true;
            ctx.logger.warn({ err_message: (err as Error)?.message, verification_id: valid.id }, 'the open verification’s code cannot be opened with the configured secret keys; the resend starts a new verification');
          }
        }
        const joins =
          valid !== undefined &&
          !unreadable &&
          valid.amount === binding.amount &&
          valid.payee === binding.payee &&
          (customCode === undefined || sameCode === undefined || customCode === sameCode);
        // A resend while the phone's code for this purpose is still valid is the same
        // verification: the tripwires count it (and judge it) once, not per send.
        resend = joins;
        if (!testNumber) {
          // The guard's refusal is answered, not thrown, so that the block it made commits.
          const refused = await deps.fraud.evaluate(trx, tenant, phone.e164, fraudKeys, latest, resend);
          if (refused) return refused;
        }

        const code = customCode ?? testNumber?.code ?? (joins ? sameCode : undefined) ?? generateCode(s.otp_length, s.code_alphabet);
        const keepSealed = s.resend_policy === 'same_code' && !testNumber;
        let verificationId: string;
        let expiresAt: number;
        if (joins) {
          verificationId = valid.id;
          // same_code: the same code with the same expiry; new_code: a fresh code and TTL.
          expiresAt = sameCode !== undefined ? valid.expires_at : now + s.otp_ttl_seconds * 1000;
          await extendVerification(trx, valid.id, expiresAt, now, keepSealed && valid.code_sealed === null ? secretBox.seal(code, sealAad(valid.id)) : undefined);
        } else {
          if (valid) {
            await endVerification(trx, valid.id, 'canceled', now);
            await closeCodesOf(trx, valid.id, 'superseded', now);
          } else if (latest?.status === 'pending') {
            // A code from before verifications (or one whose verification ended) no longer verifies.
            await supersedeChallenge(trx, latest.id);
          }
          verificationId = newId('ver');
          expiresAt = now + s.otp_ttl_seconds * 1000;
          await insertVerification(trx, {
            id: verificationId,
            tenant_id: tenant.id,
            phone: phone.e164,
            purpose,
            status: 'pending',
            attempts: 0,
            max_attempts: s.max_verify_attempts,
            code_sealed: keepSealed ? secretBox.seal(code, sealAad(verificationId)) : null,
            amount: binding.amount,
            payee: binding.payee,
            created_at: now,
            updated_at: now,
            expires_at: expiresAt,
            approved_at: null,
          });
        }

        if (template !== undefined && messageId !== null) {
          const text = composeOtpMessage({
            template,
            vars: { code, app_name: s.app_name ?? tenant.name, ttl_minutes: Math.ceil(s.otp_ttl_seconds / 60), purpose, amount: input.amount, payee: input.payee },
            webotpDomain: s.webotp_domain,
            androidAppHash: s.android_app_hash,
          });
          message = newOutboxRow(secretBox, {
            id: messageId,
            tenantId: tenant.id,
            kind: 'otp',
            challengeId,
            purpose,
            to: phone.e164,
            text,
            masked: maskCode(text, code),
            senderId: s.sender_id,
            now,
            expiresAt,
          });
        }
        result = {
          challenge_id: challengeId,
          verification_id: verificationId,
          phone_number: phone.e164,
          purpose,
          expires_at: iso(expiresAt),
          resend_available_at: iso(resendAt),
          message_id: messageId,
        };

        await insertChallenge(trx, {
          id: challengeId,
          tenant_id: tenant.id,
          phone: phone.e164,
          purpose,
          code_hash: hmacCode(codeKey, challengeId, code, codeBinding(binding)),
          status: 'pending',
          attempts: 0,
          max_attempts: s.max_verify_attempts,
          client_ip: input.client_ip ?? null,
          is_test: testNumber ? 1 : 0,
          message_id: messageId,
          created_at: now,
          expires_at: expiresAt,
          resend_available_at: resendAt,
          verified_at: null,
          verification_id: verificationId,
        });
        if (joins) {
          // Only the newest codes of a verification verify: older ones leave it.
          await supersedeBeyondNewest(trx, verificationId, LIVE_CODES);
        }
        if (message) await insertMessage(trx, message);
        if (idempotencyKey) {
          const inserted = await insertIdempotencyKey(trx, {
            tenant_id: tenant.id,
            key: idempotencyKey,
            route: 'otp.send',
            request_hash: requestHash,
            status_code: 202,
            response: JSON.stringify(result),
            created_at: now,
            expires_at: now + IDEMPOTENCY_TTL_MS,
          });
          if (!inserted) throw new IdempotencyRace();
        }
        // Last in the unit, so that nothing after it rolls the unit back: a single node keeps the
        // guard's counts in memory as they are added (a budget refusal throws before any count).
        if (message) await deps.fraud.count(trx, tenant, fraudKeys, message.segments ?? 1, resend);
        return undefined;
      });
    } catch (err) {
      if (reservation?.ok === true) await reservation.release();
      if (err instanceof IdempotencyRace && idempotencyKey) return idempotencyRaceAnswer(tenant.id, idempotencyKey, requestHash, now);
      if (err instanceof AppError && err.code === 'budget.exhausted') deps.metrics.otpSends.inc({ outcome: 'budget_exhausted' });
      throw err;
    }
    if (refusal) {
      if (reservation?.ok === true) await reservation.release();
      deps.metrics.otpSends.inc({ outcome: 'fraud_blocked' });
      throw refusalError(refusal);
    }
    deps.metrics.otpSends.inc({ outcome: testNumber ? 'test_number' : 'accepted' });
    if (message) deps.onEnqueued();
    return { status: 202, body: result! };
  }

  /** The answer of a request that lost the race for its idempotency key: the winner's, once it is stored. */
  async function idempotencyRaceAnswer(tenantId: string, key: string, requestHash: string, now: number): Promise<{ status: number; body: SendOtpResult }> {
    const prior = await findIdempotencyKey(store.db, tenantId, key, now);
    if (prior) return replay(prior.request_hash, requestHash, prior.status_code, prior.response);
    throw new AppError('request.idempotency_in_progress', 'Retry the request in a moment.', { retryAfter: 1 });
  }

  function rateLimited(by: 'phone' | 'ip', limit: number, retryAfterMs: number): AppError {
    const who = by === 'phone' ? 'This phone' : 'This client IP';
    return new AppError('otp.rate_limited', `${who} has reached its limit of ${limit} codes per hour.`, {
      retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    });
  }

  function replay(storedHash: string, requestHash: string, status: number, response: string): { status: number; body: SendOtpResult } {
    if (!constantTimeEqual(storedHash, requestHash)) {
      throw new AppError('request.idempotency_conflict', 'This Idempotency-Key was already used with a different request body.');
    }
    return { status, body: JSON.parse(response) as SendOtpResult };
  }

  const exhausted = () => new AppError('otp.attempts_exhausted', 'Too many wrong codes were entered; request a new code.', { extra: { attempts_remaining: 0 } });
  const expired = () => new AppError('otp.expired', 'The code has expired; request a new one.');

  /** The answer for a verification (or a code from before verifications) that is no longer pending. */
  function endedError(status: Exclude<VerificationStatus, 'pending'> | 'superseded', count = true): AppError {
    const outcome = (name: string) => count && deps.metrics.otpVerifies.inc({ outcome: name });
    switch (status) {
      case 'approved':
        outcome('already_verified');
        return new AppError('otp.already_verified', 'This code was already used.');
      case 'max_attempts_reached':
        outcome('exhausted');
        return exhausted();
      case 'superseded':
        outcome('superseded');
        return new AppError('otp.superseded', 'A newer code was sent; use the latest one.');
      case 'canceled':
        outcome('canceled');
        return new AppError('otp.canceled', 'This verification was canceled; request a new code.');
      case 'expired':
        outcome('expired');
        return expired();
    }
  }

  /** Marks a pending verification past its last code expired (and its codes with it). */
  async function expireNow(v: Verification, now: number): Promise<void> {
    await store.writes.write(async (trx) => {
      if (await endVerification(trx, v.id, 'expired', now)) await closeCodesOf(trx, v.id, 'expired', now);
      else return;
      await ctx.events.emit(trx, v.tenant_id, 'verification.expired', { verification_id: v.id, purpose: v.purpose, expired_at: new Date(v.expires_at).toISOString() });
    });
  }

  /**
   * The challenge a verify names, its verification and (on PostgreSQL, while the verification
   * is pending) its newest pending codes: one call of `otpgate_verify_read` where the store has
   * it, else a read each.
   */
  async function readForVerify(
    tenantId: string,
    by: { challengeId: string } | { phone: string; purpose: string },
  ): Promise<{ challenge: Challenge; verification?: Verification; codes?: Challenge[] } | undefined> {
    if (store.capabilities.verifyFunctions) return callVerifyRead(store.db, tenantId, by, LIVE_CODES);
    const challenge = 'challengeId' in by ? await findChallenge(store.db, tenantId, by.challengeId) : await findLatestChallenge(store.db, tenantId, by.phone, by.purpose);
    if (!challenge) return undefined;
    const verification = challenge.verification_id ? await findVerification(store.db, tenantId, challenge.verification_id) : undefined;
    return { challenge, verification };
  }

  /** The `verification.approved` event as the verify functions queue it: its id, body and delivery ids. */
  function approvedEvent(now: number, data: EventData) {
    return {
      event_type: 'verification.approved',
      event_id: newId('evt', now),
      payload: eventPayload('verification.approved', now, data),
      delivery_ids: Array.from({ length: APPROVE_DELIVERY_IDS }, () => newId('evd', now)),
    };
  }

  /**
   * Approves `v` for its right code `matched`: closes its codes, queues `verification.approved`
   * and counts the conversion for the fraud guard. False when another request approved (or
   * locked) it first.
   */
  async function approveMatched(tenant: ActiveTenant, v: Verification, matched: Challenge, now: number): Promise<boolean> {
    const data = { verification_id: v.id, challenge_id: matched.id, purpose: v.purpose, approved_at: new Date(now).toISOString() };
    if (store.capabilities.verifyFunctions) {
      let answer: { approved: boolean; converted: boolean } | undefined;
      try {
        answer = await callVerifyApprove(store.db, {
          tenant_id: tenant.id,
          verification_id: v.id,
          challenge_id: matched.id,
          now,
          mark_converted: matched.is_test !== 1,
          ...approvedEvent(now, data),
        });
      } catch (err) {
        // More endpoints want the event than ids were given: nothing was written; the transaction below queues them all.
        if ((err as { code?: unknown }).code !== TOO_MANY_ENDPOINTS) throw err;
      }
      if (answer) {
        if (answer.converted) await deps.fraud.countConversion(tenant, matched).catch((err: unknown) => conversionNotCounted(err, matched.id));
        return answer.approved;
      }
    }
    let countedHere = false;
    const approved = await store.writes.write(async (trx) => {
      if (!(await approveVerification(trx, v.id, now))) return false;
      await closeCodesOf(trx, v.id, 'verified', now);
      await ctx.events.emit(trx, tenant.id, 'verification.approved', data);
      countedHere = await deps.fraud.convertedWithoutGuard(trx, tenant, matched);
      return true;
    });
    // With the guard on, the code is verified whatever happens to the count: a failure to
    // count only leaves the fraud guard one conversion short.
    if (approved && !countedHere) await deps.fraud.converted(tenant, matched).catch((err: unknown) => conversionNotCounted(err, matched.id));
    return approved;
  }

  /**
   * A verify naming its challenge, in one call of `otpgate_verify_named`: approved there when
   * the named code is the one entered; else its answer is the read the verify goes on with.
   * 'fallback' when the tenant has more event endpoints than the call carries delivery ids.
   */
  async function verifyNamed(tenant: ActiveTenant, challengeId: string, code: string, binding: CodeBinding, now: number): Promise<NamedAnswer | undefined | 'fallback'> {
    let answer: NamedAnswer | undefined;
    try {
      answer = await verifyBatcher.verify({
        tenant_id: tenant.id,
        challenge_id: challengeId,
        code_hash: hmacCode(codeKey, challengeId, code, binding),
        now,
        live_codes: LIVE_CODES,
        ...approvedEvent(now, { verification_id: '@verification_id@', challenge_id: challengeId, purpose: '@purpose@', approved_at: new Date(now).toISOString() }),
      });
    } catch (err) {
      if ((err as { code?: unknown }).code !== TOO_MANY_ENDPOINTS) throw err;
      return 'fallback';
    }
    if (answer?.approved && answer.converted) await deps.fraud.countConversion(tenant, answer.challenge).catch((err: unknown) => conversionNotCounted(err, challengeId));
    return answer;
  }

  function conversionNotCounted(err: unknown, challengeId: string): void {
    ctx.logger.warn({ err_message: (err as Error)?.message, challenge_id: challengeId }, 'could not count a verified code for the fraud guard');
  }

  async function verify(tenant: ActiveTenant, input: VerifyOtpInput): Promise<VerifyOtpResult> {
    const now = clock.now();
    const alphabet = tenant.settings.code_alphabet;
    const code = normalizeCode(String(input.code), alphabet);
    // A digits tenant keeps answering a malformed code as bad input (no attempt counted); an
    // alphanumeric code with a look-alike is just wrong.
    const malformed = alphabet === 'digits' ? codeProblem(code, 'digits') : undefined;
    if (malformed) throw badInput(`code ${malformed}.`, [{ path: 'code', message: malformed }]);
    const problems = transactionProblems(input);
    if (problems.length > 0) throw badInput('The amount or payee is not usable.', problems);

    const binding = codeBinding(bindingOf(input));
    const outcome = (name: string) => deps.metrics.otpVerifies.inc({ outcome: name });
    let read: Awaited<ReturnType<typeof readForVerify>>;
    if (store.capabilities.verifyFunctions && 'challenge_id' in input) {
      const named = await verifyNamed(tenant, input.challenge_id, code, binding, now);
      if (named !== 'fallback' && named?.approved) {
        outcome('verified');
        const nv = named.verification;
        return { verified: true, challenge_id: named.challenge.id, verification_id: nv.id, phone_number: nv.phone, purpose: nv.purpose };
      }
      if (named !== 'fallback' && named?.wrong) {
        outcome('invalid');
        throw invalidCode(named.max_attempts - named.attempts);
      }
      read = named === 'fallback' ? await readForVerify(tenant.id, { challengeId: input.challenge_id }) : named;
    } else {
      const by = 'challenge_id' in input
        ? { challengeId: input.challenge_id }
        : { phone: phoneOrThrow(input.phone_number, tenant.settings.test_numbers).e164, purpose: input.purpose ?? 'login' };
      read = await readForVerify(tenant.id, by);
    }
    if (!read) {
      deps.metrics.otpVerifies.inc({ outcome: 'not_found' });
      throw new AppError('otp.challenge_not_found', 'There is no such challenge for this tenant.');
    }
    const { challenge, verification: v } = read;
    if (!v) {
      // A code that had ended before verifications existed answers from its own status.
      switch (challenge.status) {
        case 'verified':
          throw endedError('approved');
        case 'locked':
          throw endedError('max_attempts_reached');
        case 'superseded':
          throw endedError('superseded');
        case 'canceled':
          throw endedError('canceled');
        default:
          throw endedError('expired');
      }
    }
    if (v.status !== 'pending') throw endedError(v.status === 'canceled' && challenge.status === 'superseded' ? 'superseded' : v.status);
    if (v.expires_at <= now) {
      await expireNow(v, now);
      throw endedError('expired');
    }
    // Every unexpired code among the newest of the verification verifies (under `same_code`
    // they are one code); each is checked, so the time taken does not tell which matched.
    const candidates = (read.codes ?? (await pendingCodesOf(store.db, v.id, LIVE_CODES))).filter((c) => c.expires_at > now);
    let match: Challenge | undefined;
    for (const c of candidates) {
      if (constantTimeEqual(hmacCode(codeKey, c.id, code, binding), c.code_hash) && !match) match = c;
    }
    if (match) {
      const matched = match;
      const approved = await approveMatched(tenant, v, matched, now);
      if (approved) {
        outcome('verified');
        return { verified: true, challenge_id: matched.id, verification_id: v.id, phone_number: v.phone, purpose: v.purpose };
      }
      // The right code, but another request approved (or locked) the verification first.
      const fresh = await findVerification(store.db, tenant.id, v.id);
      if (fresh && fresh.status !== 'pending') throw endedError(fresh.status);
    }
    const counted = match
      ? undefined
      : await store.writes.write(async (trx) => {
          const row = await recordVerificationWrongAttempt(trx, v.id, now);
          if (row && row.attempts >= row.max_attempts) await closeCodesOf(trx, v.id, 'locked', now);
          if (row && row.attempts >= row.max_attempts) await ctx.events.emit(trx, tenant.id, 'verification.failed', { verification_id: v.id, purpose: v.purpose, attempts: row.attempts });
          return row;
        });
    if (!match && !counted) {
      // Nothing counted: the verification ended after it was read (a racing verify approved it
      // and its codes were no longer pending here): answer with how it ended.
      const fresh = await findVerification(store.db, tenant.id, v.id);
      if (fresh && fresh.status !== 'pending') throw endedError(fresh.status);
    }
    const remaining = counted ? Math.max(0, counted.max_attempts - counted.attempts) : 0;
    if (remaining === 0) {
      outcome('exhausted');
      throw exhausted();
    }
    outcome('invalid');
    throw invalidCode(remaining);
  }

  function invalidCode(remaining: number): AppError {
    return new AppError('otp.invalid', `The code is not correct; ${remaining} attempt${remaining === 1 ? '' : 's'} left.`, { extra: { attempts_remaining: remaining } });
  }

  async function getChallenge(tenant: ActiveTenant, id: string): Promise<ChallengeView> {
    const c = await findChallenge(store.db, tenant.id, id);
    if (!c) throw new AppError('otp.challenge_not_found', 'There is no such challenge for this tenant.');
    const v = c.verification_id ? await findVerification(store.db, tenant.id, c.verification_id) : undefined;
    return challengeView(c, clock.now(), v);
  }

  async function verificationOrThrow(tenant: ActiveTenant, id: string): Promise<Verification> {
    const v = await findVerification(store.db, tenant.id, id);
    if (!v) throw new AppError('otp.verification_not_found', 'There is no such verification for this tenant.');
    return v;
  }

  async function verificationView(v: Verification, now: number): Promise<VerificationView> {
    const status = effectiveStatus(v, now);
    const sends = await codesOfVerification(store.db, v.id);
    return {
      id: v.id,
      phone_number: v.phone,
      purpose: v.purpose,
      status,
      attempts: v.attempts,
      max_attempts: v.max_attempts,
      attempts_remaining: status === 'pending' ? Math.max(0, v.max_attempts - v.attempts) : 0,
      amount: v.amount,
      payee: v.payee,
      created_at: iso(v.created_at),
      updated_at: iso(v.updated_at),
      expires_at: iso(v.expires_at),
      approved_at: v.approved_at === null ? null : iso(v.approved_at),
      sends: sends.map((c) => ({ challenge_id: c.id, created_at: iso(c.created_at), expires_at: iso(c.expires_at), message_id: c.message_id })),
    };
  }

  /** A verification's state by its id (`ver_…`); never its code. */
  async function getVerification(tenant: ActiveTenant, id: string): Promise<VerificationView> {
    return verificationView(await verificationOrThrow(tenant, id), clock.now());
  }

  /**
   * Cancels a pending verification (none of its codes verifies any more) or approves it
   * without a code (the tenant decided by other means; counted as a conversion). A
   * verification that has ended answers as verify would (`otp.already_verified`,
   * `otp.expired`, …) and is left as it is.
   */
  async function updateVerification(tenant: ActiveTenant, id: string, status: 'canceled' | 'approved'): Promise<VerificationView> {
    const now = clock.now();
    const v = await verificationOrThrow(tenant, id);
    if (v.status === 'pending' && v.expires_at <= now) {
      await expireNow(v, now);
      throw endedError('expired', false);
    }
    if (v.status !== 'pending') throw endedError(v.status, false);
    const done = await store.writes.write(async (trx) => {
      const ok = status === 'canceled' ? await endVerification(trx, v.id, 'canceled', now) : await approveVerificationDirectly(trx, v.id, now);
      if (ok) await closeCodesOf(trx, v.id, status === 'canceled' ? 'canceled' : 'verified', now);
      if (ok && status === 'approved') await ctx.events.emit(trx, tenant.id, 'verification.approved', { verification_id: v.id, challenge_id: null, purpose: v.purpose, approved_at: new Date(now).toISOString() });
      return ok;
    });
    const fresh = await verificationOrThrow(tenant, id);
    if (!done) throw endedError(effectiveStatus(fresh, now) as Exclude<VerificationStatus, 'pending'>, false);
    if (status === 'approved') {
      const latest = await newestSend(tenant, fresh.id);
      if (latest) {
        await deps.fraud.converted(tenant, latest).catch((err: unknown) => {
          ctx.logger.warn({ err_message: (err as Error)?.message, verification_id: fresh.id }, 'could not count an approved verification for the fraud guard');
        });
      }
    }
    return verificationView(fresh, now);
  }

  /** The newest send of a verification, for the fraud guard's conversion count. */
  async function newestSend(tenant: ActiveTenant, verificationId: string): Promise<Challenge | undefined> {
    const last = (await codesOfVerification(store.db, verificationId)).at(-1);
    return last ? findChallenge(store.db, tenant.id, last.id) : undefined;
  }

  return { send, verify, getChallenge, getVerification, updateVerification };
}

export type OtpService = ReturnType<typeof createOtpService>;

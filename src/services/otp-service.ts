import { createHash } from 'node:crypto';
import { newId } from '../domain/ids.js';
import { normalizePhone } from '../domain/phone.js';
import { generateCode } from '../domain/otp.js';
import { composeOtpMessage, maskCode } from '../domain/template.js';
import { constantTimeEqual, hmacCode } from '../crypto/hmac.js';
import { AppError } from '../errors/app-error.js';
import type { Metrics } from '../observability/metrics.js';
import {
  countSendsForIp,
  countSendsForPhone,
  findChallenge,
  findLatestChallenge,
  insertChallenge,
  lockSendKey,
  markExpired,
  markVerified,
  oldestSend,
  recordWrongAttempt,
  supersedeChallenge,
} from '../store/queries/challenges.js';
import { findIdempotencyKey, insertIdempotencyKey } from '../store/queries/idempotency.js';
import { insertMessage } from '../store/queries/messages.js';
import type { Challenge } from '../store/schema.js';
import type { Reservation, SendLimiter, SendWindow } from '../store/send-limits.js';
import type { ServiceContext } from './context.js';
import { refusalError, type FraudGuard, type FraudRefusal } from './fraud-guard.js';
import { newOutboxRow } from './message-service.js';
import type { TemplateService } from './template-service.js';
import type { ActiveTenant } from './tenant-service.js';

const HOUR_MS = 3_600_000;
/** How long an idempotency key is remembered, ms. */
export const IDEMPOTENCY_TTL_MS = 24 * HOUR_MS;

export interface SendOtpInput {
  phone_number: string;
  purpose?: string;
  locale?: string;
  client_ip?: string;
}

export interface SendOtpResult {
  challenge_id: string;
  phone_number: string;
  purpose: string;
  expires_at: string;
  resend_available_at: string;
  message_id: string | null;
}

export type VerifyOtpInput = { code: string } & ({ challenge_id: string } | { phone_number: string; purpose?: string });

export interface ChallengeView {
  id: string;
  phone_number: string;
  purpose: string;
  status: Challenge['status'];
  attempts: number;
  max_attempts: number;
  attempts_remaining: number;
  created_at: string;
  expires_at: string;
  resend_available_at: string;
  verified_at: string | null;
  message_id: string | null;
}

/** Signals a lost race on an idempotency key inside the send transaction. */
class IdempotencyRace extends Error {}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function challengeView(c: Challenge, now: number): ChallengeView {
  const status = c.status === 'pending' && c.expires_at <= now ? 'expired' : c.status;
  return {
    id: c.id,
    phone_number: c.phone,
    purpose: c.purpose,
    status,
    attempts: c.attempts,
    max_attempts: c.max_attempts,
    attempts_remaining: status === 'pending' ? Math.max(0, c.max_attempts - c.attempts) : 0,
    created_at: iso(c.created_at),
    expires_at: iso(c.expires_at),
    resend_available_at: iso(c.resend_available_at),
    verified_at: c.verified_at === null ? null : iso(c.verified_at),
    message_id: c.message_id,
  };
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

  function phoneOrThrow(input: unknown): { e164: string; country: string | undefined } {
    const n = normalizePhone(input);
    if (!n.ok) throw new AppError('phone.invalid', n.reason, { issues: [{ path: 'phone_number', message: n.reason }] });
    return n;
  }

  async function send(tenant: ActiveTenant, input: SendOtpInput, idempotencyKey?: string): Promise<{ status: number; body: SendOtpResult }> {
    const s = tenant.settings;
    const now = clock.now();
    const purpose = input.purpose ?? 'login';
    const requestHash = idempotencyKey ? createHash('sha256').update(JSON.stringify(['otp.send', input])).digest('base64url') : '';

    if (idempotencyKey) {
      const prior = await findIdempotencyKey(store.db, tenant.id, idempotencyKey, now);
      if (prior) return replay(prior.request_hash, requestHash, prior.status_code, prior.response);
    }

    let phone: { e164: string; country: string | undefined };
    try {
      phone = phoneOrThrow(input.phone_number);
    } catch (err) {
      deps.metrics.otpSends.inc({ outcome: 'invalid' });
      throw err;
    }
    if (s.allowed_countries.length > 0 && (!phone.country || !s.allowed_countries.includes(phone.country))) {
      deps.metrics.otpSends.inc({ outcome: 'country_blocked' });
      throw new AppError('phone.country_blocked', `This tenant does not send to ${phone.country ?? 'this country'}.`);
    }

    const testNumber = s.test_numbers.find((t) => t.phone_number === phone.e164);
    if (!testNumber) {
      try {
        await deps.fraud.precheck(tenant, phone);
      } catch (err) {
        deps.metrics.otpSends.inc({ outcome: (err as AppError).code === 'phone.country_blocked' ? 'country_blocked' : 'number_type_blocked' });
        throw err;
      }
    }
    const fraudKeys = deps.fraud.keysFor(tenant, phone.e164, phone.country, input.client_ip);
    const challengeId = newId('chl');
    const code = testNumber?.code ?? generateCode(s.otp_length);
    const expiresAt = now + s.otp_ttl_seconds * 1000;
    const resendAt = now + s.resend_cooldown_seconds * 1000;
    let messageId: string | null = null;
    let message: Parameters<typeof insertMessage>[1] | undefined;

    if (!testNumber) {
      messageId = newId('msg');
      const template = await deps.templates.resolve(tenant.id, purpose, input.locale, s);
      const text = composeOtpMessage({
        template,
        vars: { code, app_name: s.app_name ?? tenant.name, ttl_minutes: Math.ceil(s.otp_ttl_seconds / 60), purpose },
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

    const result: SendOtpResult = {
      challenge_id: challengeId,
      phone_number: phone.e164,
      purpose,
      expires_at: iso(expiresAt),
      resend_available_at: iso(resendAt),
      message_id: messageId,
    };

    // With Redis, the hourly caps are reserved there first (one atomic step for all nodes);
    // when Redis cannot answer, or without it, they are counted in the transaction below.
    let reservation: Reservation | undefined;
    if (!testNumber && deps.limiter) {
      const windows: SendWindow[] = [{ key: `${tenant.id}:phone:${phone.e164}`, limit: s.max_sends_per_phone_per_hour }];
      if (input.client_ip) windows.push({ key: `${tenant.id}:ip:${input.client_ip}`, limit: s.max_sends_per_ip_per_hour });
      reservation = await deps.limiter.reserve(windows, challengeId, now, HOUR_MS);
      if (reservation.ok === false) {
        deps.metrics.otpSends.inc({ outcome: 'rate_limited' });
        throw rateLimited(reservation.window === windows[0] ? 'phone' : 'ip', reservation.window.limit, reservation.retryAfterMs);
      }
    }
    const countInStore = !testNumber && reservation?.ok !== true;

    let refusal: FraudRefusal | undefined;
    let resend = false;
    try {
      refusal = await store.writes.write(async (trx): Promise<FraudRefusal | undefined> => {
        await lockSendKey(trx, store.capabilities, `${tenant.id}:${phone.e164}`);
        // A concurrent request with the same key may have committed while this one waited
        // for the per-phone lock: answer with its result rather than a cooldown.
        if (idempotencyKey && (await findIdempotencyKey(trx, tenant.id, idempotencyKey, now))) throw new IdempotencyRace();
        // At most one challenge per phone and purpose is pending (each send supersedes it), and
        // it is the latest one.
        const latest = await findLatestChallenge(trx, tenant.id, phone.e164, purpose);
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
        // A resend while the phone's code for this purpose is still valid is the same
        // verification: the tripwires count it (and judge it) once, not per send.
        resend = latest !== undefined && latest.status === 'pending' && latest.expires_at > now;
        if (!testNumber) {
          // The guard's refusal is answered, not thrown, so that the block it made commits.
          const refused = await deps.fraud.evaluate(trx, tenant, phone.e164, fraudKeys, latest, resend);
          if (refused) return refused;
        }
        if (latest?.status === 'pending') await supersedeChallenge(trx, latest.id);
        await insertChallenge(trx, {
          id: challengeId,
          tenant_id: tenant.id,
          phone: phone.e164,
          purpose,
          code_hash: hmacCode(codeKey, challengeId, code),
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
        });
        if (message) {
          await insertMessage(trx, message);
          await deps.fraud.count(trx, tenant, fraudKeys, message.segments ?? 1, resend);
        }
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
        return undefined;
      });
    } catch (err) {
      if (reservation?.ok === true) await reservation.release();
      if (err instanceof IdempotencyRace && idempotencyKey) {
        const prior = await findIdempotencyKey(store.db, tenant.id, idempotencyKey, now);
        if (prior) return replay(prior.request_hash, requestHash, prior.status_code, prior.response);
        throw new AppError('request.idempotency_in_progress', 'Retry the request in a moment.', { retryAfter: 1 });
      }
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
    return { status: 202, body: result };
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

  async function verify(tenant: ActiveTenant, input: VerifyOtpInput): Promise<{ verified: true; challenge_id: string; phone_number: string; purpose: string }> {
    const now = clock.now();
    let challenge: Challenge | undefined;
    if ('challenge_id' in input) {
      challenge = await findChallenge(store.db, tenant.id, input.challenge_id);
    } else {
      const phone = phoneOrThrow(input.phone_number);
      challenge = await findLatestChallenge(store.db, tenant.id, phone.e164, input.purpose ?? 'login');
    }
    if (!challenge) {
      deps.metrics.otpVerifies.inc({ outcome: 'not_found' });
      throw new AppError('otp.challenge_not_found', 'There is no such challenge for this tenant.');
    }
    const outcome = (name: string) => deps.metrics.otpVerifies.inc({ outcome: name });
    switch (challenge.status) {
      case 'verified':
        outcome('already_verified');
        throw new AppError('otp.already_verified', 'This code was already used.');
      case 'locked':
        outcome('exhausted');
        throw new AppError('otp.attempts_exhausted', 'Too many wrong codes were entered; request a new code.', { extra: { attempts_remaining: 0 } });
      case 'superseded':
        outcome('superseded');
        throw new AppError('otp.superseded', 'A newer code was sent; use the latest one.');
      case 'expired':
        outcome('expired');
        throw new AppError('otp.expired', 'The code has expired; request a new one.');
      case 'pending':
        break;
    }
    if (challenge.expires_at <= now) {
      await markExpired(store.db, challenge.id);
      outcome('expired');
      throw new AppError('otp.expired', 'The code has expired; request a new one.');
    }
    const matches = constantTimeEqual(hmacCode(codeKey, challenge.id, input.code), challenge.code_hash);
    if (matches && (await markVerified(store.db, challenge.id, now))) {
      // The code is verified whatever happens to the count: a failure to count only leaves the
      // fraud guard one conversion short.
      await deps.fraud.converted(tenant, challenge).catch((err: unknown) => {
        ctx.logger.warn({ err_message: (err as Error)?.message, challenge_id: challenge.id }, 'could not count a verified code for the fraud guard');
      });
      outcome('verified');
      return { verified: true, challenge_id: challenge.id, phone_number: challenge.phone, purpose: challenge.purpose };
    }
    if (matches) {
      // The right code, but another request verified (or locked) the challenge first.
      const fresh = await findChallenge(store.db, tenant.id, challenge.id);
      if (fresh?.status === 'verified') {
        outcome('already_verified');
        throw new AppError('otp.already_verified', 'This code was already used.');
      }
    }
    const counted = matches ? undefined : await recordWrongAttempt(store.db, challenge.id);
    const remaining = counted ? Math.max(0, counted.max_attempts - counted.attempts) : 0;
    if (remaining === 0) {
      outcome('exhausted');
      throw new AppError('otp.attempts_exhausted', 'Too many wrong codes were entered; request a new code.', { extra: { attempts_remaining: 0 } });
    }
    outcome('invalid');
    throw new AppError('otp.invalid', `The code is not correct; ${remaining} attempt${remaining === 1 ? '' : 's'} left.`, { extra: { attempts_remaining: remaining } });
  }

  async function getChallenge(tenant: ActiveTenant, id: string): Promise<ChallengeView> {
    const c = await findChallenge(store.db, tenant.id, id);
    if (!c) throw new AppError('otp.challenge_not_found', 'There is no such challenge for this tenant.');
    return challengeView(c, clock.now());
  }

  return { send, verify, getChallenge };
}

export type OtpService = ReturnType<typeof createOtpService>;

import { pooledRandomBytes } from '../../domain/random-pool.js';
import { hmacSha256, isRecord, nonEmptyString, replayKeyOf, sameBytes, timestampFresh, withPlus } from '../support.js';
import type { ReceiverDescriptor } from '../types.js';

/**
 * Supabase Auth "Send SMS" hook: Standard Webhooks signing (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`), secret `v1,whsec_<base64>`, body `{user, sms: {otp, phone?, sms_type?}}`,
 * errors `{error: {http_code, message}}`.
 * @see https://supabase.com/docs/guides/auth/auth-hooks/send-sms-hook
 * @see https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
 */
const secretPattern = /^v1,whsec_([A-Za-z0-9+/=]{32,88})$/;

function keyOf(secret: string): Buffer | undefined {
  const m = secretPattern.exec(secret.trim());
  if (!m?.[1]) return undefined;
  const key = Buffer.from(m[1], 'base64');
  return key.length >= 16 ? key : undefined;
}

export const supabaseReceiver: ReceiverDescriptor = {
  platform: 'supabase',
  displayName: 'Supabase Auth (Send SMS hook)',
  canGenerateSecret: true,
  generateSecret: () => `v1,whsec_${pooledRandomBytes(32).toString('base64')}`,
  secretProblem: (secret) => (keyOf(secret) ? undefined : 'must be a Standard Webhooks secret "v1,whsec_<base64>" as Supabase shows it'),

  authenticate(request, secrets) {
    const id = request.headers['webhook-id'];
    const ts = request.headers['webhook-timestamp'];
    const sig = request.headers['webhook-signature'];
    if (!id || !ts || !sig) return { ok: false, reason: 'unsigned: webhook-id, webhook-timestamp and webhook-signature are required' };
    if (!/^\d{1,12}$/.test(ts) || !timestampFresh(Number(ts), request.now)) return { ok: false, reason: 'stale: webhook-timestamp is more than 5 minutes from now' };
    // Supabase joins one `v1,<base64>` per secret with ", "; Standard Webhooks with " ".
    const given = sig
      .split(' ')
      .map((item) => item.trim().replace(/,$/, ''))
      .filter((item) => item.startsWith('v1,'))
      .map((item) => Buffer.from(item.slice(3), 'base64'));
    const signed = `${id}.${ts}.${request.rawBody}`;
    for (const secret of secrets) {
      const key = keyOf(secret);
      if (!key) continue;
      const expected = hmacSha256(key, signed);
      if (given.some((g) => sameBytes(g, expected))) return { ok: true, replayKey: replayKeyOf('webhook-id', id) };
    }
    return { ok: false, reason: 'wrong signature' };
  },

  parse(request) {
    const b = request.body;
    if (!isRecord(b) || !isRecord(b.sms) || !isRecord(b.user)) return { ok: false, reason: 'the body must be {user, sms: {otp}}' };
    const otp = b.sms.otp;
    if (!nonEmptyString(otp, 64)) return { ok: false, reason: 'sms.otp is required' };
    const phone = nonEmptyString(b.sms.phone, 64) ? b.sms.phone : b.user.phone;
    if (!nonEmptyString(phone, 64)) return { ok: false, reason: 'sms.phone or user.phone is required' };
    // MFA codes say so (sms_type "mfa"); every other Supabase phone code signs in or verifies a phone.
    const purpose = b.sms.sms_type === 'mfa' ? 'mfa' : 'login';
    const ip = isRecord(b.metadata) && nonEmptyString(b.metadata.ip_address, 64) ? b.metadata.ip_address : undefined;
    return { ok: true, sms: { to: withPlus(phone), ...(ip ? { clientIp: ip } : {}), content: { kind: 'code', code: otp, purpose } } };
  },

  accepted: () => ({ status: 200, body: {} }),
  // Supabase reads `{error}` only from a 200/202 answer and shows its http_code and message to
  // the user; other statuses become a generic hook failure (and a 429 with retry-after is
  // retried). A policy refusal is therefore a 200 carrying the error; a call that fails
  // authentication or the schema gets its status, as the hook's own checks expect.
  error: (status, message, _retryAfter, refused) => ({
    status: refused ? 200 : status,
    body: { error: { http_code: status, message } },
  }),
};

import { errorWord, hmacSha256, isRecord, jsonError, nonEmptyString, randomToken, replayKeyOf, sameBytes, timestampFresh } from '../support.js';
import type { ReceiverDescriptor } from '../types.js';

/**
 * Auth0 passwordless SMS with a custom gateway (`provider: sms_gateway`): `POST {gateway_url}`
 * with `Authorization: Bearer <JWT>` signed HS256 with `gateway_authentication.secret`
 * (carrying its `subject` and `audience`), body `{recipient, body, sender}` and `req` when
 * `forward_req_info` is on. Auth0 reads only the status code of the answer.
 * @see https://auth0.com/docs/authenticate/passwordless/authentication-methods/use-sms-gateway-passwordless
 */

/** The `audience` the connection's gateway_authentication must carry (docs/integrations.md). */
export const AUTH0_AUDIENCE = 'urn:otpgate';

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

export const auth0Receiver: ReceiverDescriptor = {
  platform: 'auth0',
  displayName: 'Auth0 (custom SMS gateway)',
  canGenerateSecret: true,
  generateSecret: () => randomToken(),
  secretProblem: (secret) => (secret.length >= 16 && secret.length <= 512 ? undefined : 'must be 16–512 characters (the connection’s gateway_authentication.secret)'),

  authenticate(request, secrets) {
    const m = /^Bearer\s+([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(request.headers.authorization ?? '');
    if (!m || !m[1] || !m[2] || !m[3]) return { ok: false, reason: 'unsigned: no bearer JWT' };
    const header = decodeJson(m[1]);
    const claims = decodeJson(m[2]);
    // Only HS256: a token naming another algorithm (or none) is not checked at all.
    if (!isRecord(header) || header.alg !== 'HS256' || !isRecord(claims)) return { ok: false, reason: 'the JWT must be HS256' };
    const signature = Buffer.from(m[3], 'base64url');
    const signed = `${m[1]}.${m[2]}`;
    if (!secrets.some((s) => sameBytes(hmacSha256(Buffer.from(s, 'utf8'), signed), signature))) return { ok: false, reason: 'wrong signature' };
    const aud = claims.aud;
    if (!(aud === AUTH0_AUDIENCE || (Array.isArray(aud) && aud.includes(AUTH0_AUDIENCE)))) return { ok: false, reason: `the JWT audience must be ${AUTH0_AUDIENCE}` };
    if (typeof claims.iat !== 'number' || !timestampFresh(claims.iat, request.now)) return { ok: false, reason: 'stale: iat is missing or more than 5 minutes from now' };
    if (claims.exp !== undefined && (typeof claims.exp !== 'number' || claims.exp * 1000 <= request.now)) return { ok: false, reason: 'the JWT has expired' };
    // A token may be reused within its second; with the body it names one request.
    return { ok: true, replayKey: replayKeyOf('jwt', m[3], request.rawBody) };
  },

  parse(request) {
    const b = request.body;
    if (!isRecord(b) || !nonEmptyString(b.recipient, 64) || !nonEmptyString(b.body, 1600)) return { ok: false, reason: 'the body must be {recipient, body, sender}' };
    const ip = isRecord(b.req) && nonEmptyString(b.req.ip, 64) ? b.req.ip : undefined;
    return { ok: true, sms: { to: b.recipient, ...(ip ? { clientIp: ip } : {}), content: { kind: 'text', text: b.body } } };
  },

  accepted: (messageId) => ({ status: 200, body: { message_id: messageId } }),
  error: (status, message, retryAfter) => {
    const a = jsonError(status, errorWord(status), message, retryAfter);
    // Auth0's own error shape; Auth0 itself reads only the status.
    return { ...a, body: { error: errorWord(status), error_description: message } };
  },
};

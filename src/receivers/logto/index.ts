import { errorWord, isRecord, jsonError, nonEmptyString, randomToken, replayKeyOf, sameString, withPlus } from '../support.js';
import type { ReceiverDescriptor } from '../types.js';

/**
 * Logto's HTTP SMS connector (`@logto/connector-http-sms`): `POST {endpoint}` with
 * `Authorization: {the configured value}` and JSON `{to, type, payload: {code, locale?}, ip?}`.
 * Any 2xx is success; otherwise the body becomes the connector error's message.
 * @see https://github.com/logto-io/logto/tree/master/packages/connectors/connector-http-sms
 */

/** Logto's template types (connector-kit `TemplateType`) → otpgate purposes. */
export const logtoPurposes: Readonly<Record<string, string>> = {
  SignIn: 'login',
  Register: 'verification',
  ForgotPassword: 'password_reset',
  Generic: 'verification',
  Test: 'verification',
  UserPermissionValidation: 'verification',
  BindNewIdentifier: 'verification',
  MfaVerification: 'mfa',
  BindMfa: 'mfa',
};

export const logtoReceiver: ReceiverDescriptor = {
  platform: 'logto',
  displayName: 'Logto (HTTP SMS connector)',
  canGenerateSecret: true,
  // The whole Authorization value, as it is pasted into the connector's "Authorization Header" field.
  generateSecret: () => `Bearer ${randomToken()}`,
  secretProblem: (secret) => (secret.trim().length >= 16 && secret.length <= 512 ? undefined : 'must be the Authorization header value, 16–512 characters'),

  authenticate(request, secrets) {
    const given = request.headers.authorization;
    if (!given) return { ok: false, reason: 'unsigned: no Authorization header' };
    // Logto sends no id or timestamp: an identical body within the replay window is a replay.
    if (secrets.some((s) => sameString(given, s))) return { ok: true, replayKey: replayKeyOf('body', request.rawBody) };
    return { ok: false, reason: 'wrong Authorization value' };
  },

  parse(request) {
    const b = request.body;
    if (!isRecord(b) || !nonEmptyString(b.to, 64) || !nonEmptyString(b.type, 64) || !isRecord(b.payload)) return { ok: false, reason: 'the body must be {to, type, payload: {code}}' };
    const purpose = logtoPurposes[b.type];
    if (!purpose) return { ok: false, reason: `type ${JSON.stringify(b.type.slice(0, 40))} is not a passcode type` };
    if (!nonEmptyString(b.payload.code, 64)) return { ok: false, reason: 'payload.code is required' };
    const locale = nonEmptyString(b.payload.locale, 35) ? b.payload.locale : undefined;
    const ip = nonEmptyString(b.ip, 64) ? b.ip : undefined;
    return { ok: true, sms: { to: withPlus(b.to), ...(ip ? { clientIp: ip } : {}), content: { kind: 'code', code: b.payload.code, purpose, ...(locale ? { locale } : {}) } } };
  },

  accepted: (messageId) => ({ status: 200, body: { message_id: messageId } }),
  error: (status, message, retryAfter) => jsonError(status, errorWord(status), message, retryAfter),
};

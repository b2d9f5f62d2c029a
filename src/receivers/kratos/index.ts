import { errorWord, isRecord, jsonError, nonEmptyString, randomToken, replayKeyOf, sameString } from '../support.js';
import type { ReceiverDescriptor } from '../types.js';

/**
 * Ory Kratos's HTTP courier channel (`courier.channels[].type: http`): Kratos posts what the
 * configured JsonNet body makes of its message (`ctx.recipient`, `ctx.body`,
 * `ctx.template_type`, …) with the configured auth. otpgate documents the config to paste
 * (docs/integrations.md): auth `api_key` in the `Authorization` header as `Bearer <secret>`,
 * and the body `{to, body, template_type}`.
 * @see https://www.ory.sh/docs/kratos/self-hosted/email-http
 */

/** The JsonNet body of the documented Kratos config (docs/integrations.md shows it, base64-encoded in kratos.yml). */
export const KRATOS_JSONNET = `function(ctx) {
  to: ctx.recipient,
  body: ctx.body,
  template_type: ctx.template_type,
}
`;

export const kratosReceiver: ReceiverDescriptor = {
  platform: 'kratos',
  displayName: 'Ory Kratos (HTTP courier)',
  canGenerateSecret: true,
  generateSecret: () => randomToken(),
  secretProblem: (secret) => (/^[\x21-\x7e]{16,512}$/.test(secret) ? undefined : 'must be 16–512 printable characters without spaces'),

  authenticate(request, secrets) {
    const given = request.headers.authorization;
    if (!given) return { ok: false, reason: 'unsigned: no Authorization header' };
    // Kratos sends no id or timestamp: an identical body within the replay window is a replay.
    if (secrets.some((s) => sameString(given, `Bearer ${s}`))) return { ok: true, replayKey: replayKeyOf('body', request.rawBody) };
    return { ok: false, reason: 'wrong Authorization value' };
  },

  parse(request) {
    const b = request.body;
    if (!isRecord(b) || !nonEmptyString(b.to, 64) || !nonEmptyString(b.body, 1600)) return { ok: false, reason: 'the body must be {to, body, template_type}' };
    return { ok: true, sms: { to: b.to, content: { kind: 'text', text: b.body } } };
  },

  accepted: (messageId) => ({ status: 200, body: { message_id: messageId } }),
  error: (status, message, retryAfter) => jsonError(status, errorWord(status), message, retryAfter),
};

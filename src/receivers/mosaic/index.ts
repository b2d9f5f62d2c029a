import { errorWord, isRecord, jsonError, nonEmptyString, randomToken, replayKeyOf, sameString } from '../support.js';
import type { ReceiverDescriptor } from '../types.js';

/**
 * Transmit Security Mosaic's custom SMS gateway, inbound: the same contract otpgate's own
 * CustomGateway provider speaks outbound (DESIGN.md "Custom gateway"; PROVIDERS.md §7.1).
 * Delivery: `POST` with `X-API-Key` and `{phone_number, sender_id, message}`, any 2xx accepted.
 * Validation: `GET` with `X-API-Key` and `X-Verification-Key`, answered 200 `{"key": <that value>}`.
 */
export const mosaicReceiver: ReceiverDescriptor = {
  platform: 'mosaic',
  displayName: 'Transmit Mosaic (custom SMS gateway)',
  canGenerateSecret: true,
  generateSecret: () => randomToken(),
  secretProblem: (secret) => (/^[\x21-\x7e]{16,512}$/.test(secret) ? undefined : 'must be 16–512 printable characters without spaces'),

  authenticate(request, secrets) {
    const given = request.headers['x-api-key'];
    if (!given) return { ok: false, reason: 'unsigned: no X-API-Key header' };
    // The contract has no id or timestamp: an identical body within the replay window is a replay.
    if (secrets.some((s) => sameString(given, s))) return { ok: true, replayKey: replayKeyOf('body', request.rawBody) };
    return { ok: false, reason: 'wrong X-API-Key' };
  },

  parse(request) {
    const b = request.body;
    if (!isRecord(b) || !nonEmptyString(b.phone_number, 64) || !nonEmptyString(b.message, 1600)) return { ok: false, reason: 'the body must be {phone_number, sender_id, message}' };
    if (b.sender_id !== undefined && typeof b.sender_id !== 'string') return { ok: false, reason: 'sender_id must be a string' };
    return { ok: true, sms: { to: b.phone_number, content: { kind: 'text', text: b.message } } };
  },

  challenge(request, secrets) {
    const given = request.headers['x-api-key'];
    if (!given || !secrets.some((s) => sameString(given, s))) return jsonError(401, 'unauthorized', 'wrong or missing X-API-Key');
    const key = request.headers['x-verification-key'];
    if (!nonEmptyString(key, 512)) return jsonError(400, 'invalid_request', 'X-Verification-Key is required');
    return { status: 200, body: { key } };
  },

  accepted: (messageId) => ({ status: 200, body: { message_id: messageId } }),
  error: (status, message, retryAfter) => jsonError(status, errorWord(status), message, retryAfter),
};

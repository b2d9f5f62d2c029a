import { errorWord, hmacSha256, isRecord, jsonError, nonEmptyString, randomToken, replayKeyOf, sameBytes, timestampFresh } from '../support.js';
import type { ReceiverDescriptor } from '../types.js';

/**
 * ZITADEL's HTTP SMS provider (`POST /admin/v1/sms/http`): `POST {endpoint}` with the JSON of
 * the notification (`contextInfo.recipientPhoneNumber`, `templateData.text`, `args`) and, with
 * the signing key ZITADEL returned when the provider was added, the header
 * `ZITADEL-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>`.
 * @see https://github.com/zitadel/zitadel/blob/main/pkg/actions/signing.go
 * @see https://github.com/zitadel/zitadel/blob/main/internal/notification/channels/webhook/channel.go
 */

interface SignatureHeader {
  timestamp: number;
  signatures: Buffer[];
}

/** Parses `t=…,v1=…[,v1=…]` as ZITADEL's actions.parseSignatureHeader does. */
function parseHeader(header: string): SignatureHeader | undefined {
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const pair of header.split(',')) {
    const parts = pair.split('=');
    if (parts.length !== 2) return undefined;
    const [name, value] = parts as [string, string];
    if (name === 't') {
      if (!/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (name === 'v1' && /^[0-9a-f]+$/i.test(value) && value.length % 2 === 0) {
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  return timestamp === undefined || signatures.length === 0 ? undefined : { timestamp, signatures };
}

export const zitadelReceiver: ReceiverDescriptor = {
  platform: 'zitadel',
  displayName: 'ZITADEL (HTTP SMS provider)',
  // ZITADEL makes the signing key when the provider is added; otpgate takes it.
  canGenerateSecret: false,
  generateSecret: () => randomToken(),
  secretProblem: (secret) => (secret.length >= 8 && secret.length <= 512 ? undefined : 'must be the signingKey ZITADEL returned, 8–512 characters'),

  authenticate(request, secrets) {
    const header = request.headers['zitadel-signature'];
    if (!header) return { ok: false, reason: 'unsigned: no ZITADEL-Signature header' };
    const parsed = parseHeader(header);
    if (!parsed) return { ok: false, reason: 'the ZITADEL-Signature header is malformed' };
    if (!timestampFresh(parsed.timestamp, request.now)) return { ok: false, reason: 'stale: t is more than 5 minutes from now' };
    const signed = `${parsed.timestamp}.${request.rawBody}`;
    for (const secret of secrets) {
      const expected = hmacSha256(Buffer.from(secret, 'utf8'), signed);
      if (parsed.signatures.some((s) => sameBytes(s, expected))) return { ok: true, replayKey: replayKeyOf('signature', header) };
    }
    return { ok: false, reason: 'wrong signature' };
  },

  parse(request) {
    const b = request.body;
    if (!isRecord(b) || !isRecord(b.contextInfo) || !isRecord(b.templateData)) return { ok: false, reason: 'the body must be {contextInfo, templateData, args}' };
    const to = b.contextInfo.recipientPhoneNumber;
    const text = b.templateData.text;
    if (!nonEmptyString(to, 64)) return { ok: false, reason: 'contextInfo.recipientPhoneNumber is required' };
    if (!nonEmptyString(text, 1600)) return { ok: false, reason: 'templateData.text is required' };
    // ZITADEL passes the code in `args` too: it is masked in the message log by its value.
    const code = isRecord(b.args) && nonEmptyString(b.args.code ?? b.args.Code, 64) ? String(b.args.code ?? b.args.Code) : undefined;
    return { ok: true, sms: { to, content: { kind: 'text', text, ...(code ? { code } : {}) } } };
  },

  accepted: (messageId) => ({ status: 200, body: { message_id: messageId } }),
  error: (status, message, retryAfter) => jsonError(status, errorWord(status), message, retryAfter),
};

import { createHash, createHmac } from 'node:crypto';
import { CallbackSignatureError, type CallbackRequest, type DeliveryReceipt, type DeliveryStatus } from '../types.js';
import { asRecord, constantTimeEqual, headerOf, numberField, parseDate, stringField } from '../adapter-support.js';
import type { MessageBirdConfig } from './config.js';

const CLOCK_TOLERANCE_S = 5;
const hmacAlgorithms: Readonly<Record<string, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' };

function decodeSegment(segment: string): Record<string, unknown> | undefined {
  try {
    return asRecord(JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')));
  } catch {
    return undefined;
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Verifies a `MessageBird-Signature-JWT` (PROVIDERS.md §2.7): HMAC JWT under the signing key,
 * `iss` MessageBird, `exp`/`nbf`/`iat` within 5 s of `nowMs`, `url_hash` = hex SHA-256 of the
 * full URL, `payload_hash` = hex SHA-256 of a non-empty body (absent when the body is empty).
 * Replay protection by `jti` is left to the caller (a receipt applied twice changes nothing).
 */
export function verifyMessageBirdJwt(token: string, signingKey: string, url: string, rawBody: string, nowMs: number): void {
  const fail = (why: string) => new CallbackSignatureError(false, `the MessageBird-Signature-JWT is not valid: ${why}`);
  const [h, p, s, ...extra] = token.split('.');
  if (h === undefined || p === undefined || s === undefined || extra.length > 0) throw fail('not a JWT');
  const header = decodeSegment(h);
  const claims = decodeSegment(p);
  if (!header || !claims) throw fail('unreadable header or claims');
  const algorithm = hmacAlgorithms[stringField(header, 'alg') ?? ''];
  if (algorithm === undefined) throw fail('unsupported algorithm');
  const expected = createHmac(algorithm, signingKey).update(`${h}.${p}`, 'utf8').digest('base64url');
  if (!constantTimeEqual(expected, s)) throw fail('the signature does not match: check the signing key');

  if (stringField(claims, 'iss') !== 'MessageBird') throw fail('wrong issuer');
  const now = nowMs / 1000;
  const exp = numberField(claims, 'exp');
  if (exp === undefined || now > exp + CLOCK_TOLERANCE_S) throw fail('expired');
  const nbf = numberField(claims, 'nbf');
  if (nbf !== undefined && now < nbf - CLOCK_TOLERANCE_S) throw fail('not yet valid');
  const iat = numberField(claims, 'iat');
  if (iat !== undefined && iat > now + CLOCK_TOLERANCE_S) throw fail('issued in the future');

  const urlHash = stringField(claims, 'url_hash');
  if (urlHash === undefined || !constantTimeEqual(urlHash, sha256Hex(url))) throw fail('url_hash does not match the URL: check the public URL');
  const payloadHash = stringField(claims, 'payload_hash');
  if (rawBody.length > 0) {
    if (payloadHash === undefined || !constantTimeEqual(payloadHash, sha256Hex(rawBody))) throw fail('payload_hash does not match the body');
  } else if (payloadHash !== undefined) {
    throw fail('payload_hash given for an empty body');
  }
}

const statusMap: Readonly<Record<string, DeliveryStatus>> = {
  sent: 'sent',
  buffered: 'sent',
  delivered: 'delivered',
  expired: 'undelivered',
  delivery_failed: 'failed',
};

/**
 * A status report (HTTP GET with query parameters `id, reference, recipient, status,
 * statusDatetime…`, PROVIDERS.md §2.6) as receipts. With a `signing_key`, the JWT is required.
 */
export function parseMessageBirdReport(config: MessageBirdConfig, request: CallbackRequest): DeliveryReceipt[] {
  if (config.signing_key !== undefined) {
    const token = headerOf(request.headers, 'messagebird-signature-jwt');
    if (token === undefined || token === '') throw new CallbackSignatureError(true, 'the MessageBird-Signature-JWT header is missing');
    verifyMessageBirdJwt(token, config.signing_key, request.url, request.rawBody, request.now ?? Date.now());
  }
  const q = new URL(request.url).searchParams;
  const field = (name: string) => request.query[name] ?? q.get(name) ?? undefined;
  const id = field('id');
  const providerStatus = field('status');
  if (!id || !providerStatus) return [];
  const status = statusMap[providerStatus];
  if (!status) return [];
  const receipt: DeliveryReceipt = { providerMessageId: id, status, providerStatus };
  const reference = field('reference');
  if (reference) receipt.messageId = reference;
  const errorCode = field('statusErrorCode');
  if (errorCode) receipt.providerErrorCode = errorCode;
  // A `+` in the offset often arrives decoded as a space.
  const at = parseDate(field('statusDatetime')?.replace(/ (\d{2}:?\d{2})$/, '+$1'));
  if (at) receipt.at = at;
  return [receipt];
}

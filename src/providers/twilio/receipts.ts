import { createHash, createHmac } from 'node:crypto';
import { CallbackSignatureError, type CallbackRequest, type DeliveryReceipt, type DeliveryStatus } from '../types.js';
import { constantTimeEqual, headerOf } from '../adapter-support.js';
import type { TwilioConfig } from './config.js';

/**
 * X-Twilio-Signature (PROVIDERS.md §1.9): Base64(HMAC-SHA1(auth token, url + sorted name+value
 * pairs)). Repeated names contribute each distinct value, sorted.
 * @see https://www.twilio.com/docs/usage/webhooks/webhooks-security
 */
export function computeTwilioSignature(url: string, params: URLSearchParams, authToken: string): string {
  let data = url;
  for (const name of [...new Set(params.keys())].sort()) {
    for (const value of [...new Set(params.getAll(name))].sort()) data += name + value;
  }
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/** The URL as given, and with the default port added or removed: Twilio signs either form. */
function urlVariants(raw: string): string[] {
  const m = /^(https?):\/\/([^/?#]+)(.*)$/i.exec(raw);
  if (!m) return [raw];
  const [, scheme = '', authority = '', rest = ''] = m;
  const defaultPort = scheme.toLowerCase() === 'https' ? '443' : '80';
  const portMatch = /^(.*):(\d+)$/.exec(authority);
  if (portMatch) {
    return portMatch[2] === defaultPort ? [raw, `${scheme}://${portMatch[1] ?? ''}${rest}`] : [raw];
  }
  return [raw, `${scheme}://${authority}:${defaultPort}${rest}`];
}

function verifySignature(config: TwilioConfig, request: CallbackRequest, params: URLSearchParams): void {
  const given = headerOf(request.headers, 'x-twilio-signature');
  if (given === undefined || given === '') {
    throw new CallbackSignatureError(true, 'the X-Twilio-Signature header is missing');
  }
  const bodyHash = new URL(request.url).searchParams.get('bodySHA256');
  // JSON-bodied webhooks sign the URL alone and carry the body's SHA-256 in the query.
  const signed = bodyHash === null ? params : new URLSearchParams();
  const ok = urlVariants(request.url).some((u) => constantTimeEqual(computeTwilioSignature(u, signed, config.auth_token), given));
  if (!ok) throw new CallbackSignatureError(false, 'the X-Twilio-Signature does not match: check the Auth Token and the public URL');
  if (bodyHash !== null && !constantTimeEqual(createHash('sha256').update(request.rawBody, 'utf8').digest('hex'), bodyHash)) {
    throw new CallbackSignatureError(false, 'the bodySHA256 of the Twilio callback does not match its body');
  }
}

const statusMap: Readonly<Record<string, DeliveryStatus>> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
};

/** `RawDlrDoneDate` is `YYMMDDhhmm` (UTC). */
function parseDlrDate(raw: string | null): Date | undefined {
  const m = raw === null ? null : /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(raw);
  if (!m) return undefined;
  const [, yy, mo, dd, hh, mi] = m.map(Number);
  return new Date(Date.UTC(2000 + (yy ?? 0), (mo ?? 1) - 1, dd, hh, mi));
}

/**
 * A status callback (form POST, PROVIDERS.md §1.8) as receipts. Pre-send states (queued,
 * accepted, sending, scheduled) carry no news for otpgate and give no receipt.
 */
export function parseTwilioCallback(config: TwilioConfig, request: CallbackRequest): DeliveryReceipt[] {
  const params = request.method.toUpperCase() === 'POST' ? new URLSearchParams(request.rawBody) : new URLSearchParams();
  verifySignature(config, request, params);
  const fields = request.method.toUpperCase() === 'POST' ? params : new URL(request.url).searchParams;
  const sid = fields.get('MessageSid') ?? fields.get('SmsSid');
  const providerStatus = fields.get('MessageStatus') ?? fields.get('SmsStatus');
  if (!sid || !providerStatus) return [];
  const status = statusMap[providerStatus];
  if (!status) return [];
  const receipt: DeliveryReceipt = { providerMessageId: sid, status, providerStatus };
  const errorCode = fields.get('ErrorCode');
  if (errorCode) receipt.providerErrorCode = errorCode;
  const at = parseDlrDate(fields.get('RawDlrDoneDate'));
  if (at) receipt.at = at;
  return [receipt];
}

import { createHmac } from 'node:crypto';
import type { CallbackRequest } from '../../src/providers/types.js';
import {
  basicCredentials,
  countSegments,
  first,
  hexId,
  mediaType,
  parseUrlEncoded,
  startFakeServer,
  type FakeReply,
  type FakeServer,
  type RecordedRequest,
} from './fake-server.js';

/**
 * Fake Twilio Programmable Messaging (PROVIDERS.md §1, checklist §9): only
 * `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic, form bodies; error JSON
 * `{code,message,more_info,status}`; the test-credential magic numbers of §1.6; signed status
 * callbacks (§1.8–1.9).
 */

export interface TwilioFakeOptions {
  accountSid: string;
  authToken: string;
  /** Numbers the account owns (valid `From`). `+15005550006` is always valid. */
  senders?: string[];
  messagingServiceSids?: string[];
}

export type TwilioFault =
  /** Twilio's error JSON for `code`, under `status` (default: the code's usual HTTP status). */
  | { kind: 'error'; code: number; status?: number; retryAfter?: string }
  /** HTTP 201 whose message already has `status` failed/undelivered and an `error_code`. */
  | { kind: 'failed_status'; status: 'failed' | 'undelivered'; errorCode: number };

export interface TwilioSentMessage {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
}

export interface TwilioFake extends FakeServer<TwilioFault> {
  messages: TwilioSentMessage[];
  /** A signed status callback for a sent message, as otpgate's callback route would see it. */
  statusCallback(sid: string, status: string, options?: { errorCode?: number; url?: string; rawDlrDoneDate?: string }): CallbackRequest;
}

const httpStatusOf: Record<number, number> = { 20003: 401, 20404: 404, 20429: 429, 21611: 429 };

const errorMessages: Record<number, string> = {
  20003: 'Authenticate',
  20404: 'The requested resource was not found',
  20429: 'Too many requests',
  21211: "The 'To' number is not a valid phone number.",
  21212: "The 'From' number is not a valid phone number, shortcode, or alphanumeric sender ID.",
  21408: 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number',
  21602: 'Message body is required.',
  21603: "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
  21604: "A 'To' phone number is required.",
  21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account",
  21608: 'The number is unverified. Trial accounts may only send messages to verified numbers.',
  21609: 'Invalid StatusCallback',
  21610: 'Attempt to send to unsubscribed recipient',
  21611: "This 'From' number has exceeded the maximum number of queued messages",
  21612: "The 'To' phone number is not currently reachable using the 'From' phone number",
  21614: "'To' number is not a valid mobile number",
  21617: 'The concatenated message body exceeds the 1600 character limit.',
  21635: "'To' number cannot be a landline",
  21701: 'The Messaging Service Sid is invalid.',
};

/** §1.6 magic numbers of Twilio's test credentials. */
const magicTo: Record<string, number> = {
  '+15005550001': 21211,
  '+15005550002': 21612,
  '+15005550003': 21408,
  '+15005550004': 21610,
  '+15005550009': 21614,
};
const magicFrom: Record<string, number> = { '+15005550001': 21212, '+15005550007': 21606, '+15005550008': 21611 };

function twilioError(code: number, status?: number, headers?: Record<string, string>): FakeReply {
  const http = status ?? httpStatusOf[code] ?? 400;
  return {
    status: http,
    headers,
    body: { code, message: errorMessages[code] ?? 'Error', more_info: `https://www.twilio.com/docs/errors/${code}`, status: http },
  };
}

/** X-Twilio-Signature: Base64(HMAC-SHA1(token, url + each sorted name+value)). Written independently of the adapter. */
export function signTwilio(url: string, params: Record<string, string>, authToken: string): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, name) => acc + name + (params[name] ?? ''), url);
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

function formEncode(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

export async function startTwilioFake(options: TwilioFakeOptions): Promise<TwilioFake> {
  const senders = new Set(['+15005550006', ...(options.senders ?? [])]);
  const services = new Set(options.messagingServiceSids ?? []);
  const messages: TwilioSentMessage[] = [];

  const handle = (req: RecordedRequest, fault: TwilioFault | undefined): FakeReply => {
    const m = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(req.path);
    if (!m || req.method !== 'POST') return twilioError(20404);
    const creds = basicCredentials(req);
    if (!creds || creds.user !== options.accountSid || creds.pass !== options.authToken || m[1] !== options.accountSid) {
      return twilioError(20003, 401);
    }
    // JSON or anything else is not read as a form: Twilio then finds no 'To' (21604).
    const form = mediaType(req) === 'application/x-www-form-urlencoded' ? parseUrlEncoded(req.body) : new Map<string, string[]>();
    const to = first(form, 'To');
    const from = first(form, 'From');
    const service = first(form, 'MessagingServiceSid');
    const body = first(form, 'Body');
    const callback = first(form, 'StatusCallback');
    if (!to) return twilioError(21604);
    if (!/^\+[1-9]\d{1,14}$/.test(to)) return twilioError(21211);
    const toCode = magicTo[to];
    if (toCode !== undefined) return twilioError(toCode);
    if (!from && !service) return twilioError(21603);
    if (from) {
      const fromCode = magicFrom[from];
      if (fromCode !== undefined) return twilioError(fromCode);
      if (!senders.has(from)) return twilioError(21606);
    }
    if (service && !services.has(service)) return twilioError(21701, 404);
    if (!body) return twilioError(21602);
    if ([...body].length > 1600) return twilioError(21617);
    if (callback !== undefined) {
      let ok = false;
      try {
        const u = new URL(callback);
        ok = (u.protocol === 'https:' || u.protocol === 'http:') && !u.hostname.includes('_');
      } catch {
        ok = false;
      }
      if (!ok) return twilioError(21609);
    }
    if (fault?.kind === 'error') {
      return twilioError(fault.code, fault.status, fault.retryAfter === undefined ? undefined : { 'retry-after': fault.retryAfter });
    }

    const sid = `SM${hexId(32)}`;
    messages.push({ sid, to, from: from ?? null, messagingServiceSid: service ?? null, body, statusCallback: callback ?? null });
    const now = new Date().toUTCString().replace('GMT', '+0000');
    const failed = fault?.kind === 'failed_status' ? fault : undefined;
    return {
      status: 201,
      body: {
        account_sid: options.accountSid,
        api_version: '2010-04-01',
        body,
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: failed ? failed.errorCode : null,
        error_message: null,
        from: from ?? null,
        messaging_service_sid: service ?? null,
        num_media: '0',
        num_segments: String(countSegments(body)),
        price: null,
        price_unit: 'USD',
        sid,
        status: failed ? failed.status : service ? 'accepted' : 'queued',
        subresource_uris: { media: `/2010-04-01/Accounts/${options.accountSid}/Messages/${sid}/Media.json` },
        to,
        uri: `/2010-04-01/Accounts/${options.accountSid}/Messages/${sid}.json`,
      },
    };
  };

  const server = await startFakeServer<TwilioFault>(handle);
  return {
    ...server,
    messages,
    statusCallback(sid, status, opts = {}) {
      const msg = messages.find((x) => x.sid === sid);
      const url = opts.url ?? msg?.statusCallback;
      if (!url) throw new Error(`no StatusCallback for ${sid}`);
      const params: Record<string, string> = {
        AccountSid: options.accountSid,
        ApiVersion: '2010-04-01',
        From: msg?.from ?? '+15005550006',
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: msg?.to ?? '+15551234567',
      };
      if (msg?.messagingServiceSid) params['MessagingServiceSid'] = msg.messagingServiceSid;
      if (opts.errorCode !== undefined) params['ErrorCode'] = String(opts.errorCode);
      if (opts.rawDlrDoneDate !== undefined) params['RawDlrDoneDate'] = opts.rawDlrDoneDate;
      return {
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signTwilio(url, params, options.authToken),
          'i-twilio-idempotency-token': hexId(32),
        },
        query: {},
        rawBody: formEncode(params),
      };
    },
  };
}

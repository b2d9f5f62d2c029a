import { createHash, createHmac } from 'node:crypto';
import type { CallbackRequest } from '../../src/providers/types.js';
import { countSegments, first, hexId, mediaType, parseUrlEncoded, startFakeServer, tryJson, type FakeReply, type FakeServer, type RecordedRequest } from './fake-server.js';

/**
 * Fake MessageBird SMS REST API (PROVIDERS.md §2, checklist §9): `POST /messages` with
 * `Authorization: AccessKey …`, JSON or form bodies; 201 message object with numeric
 * `recipients.items[].recipient`; `{errors:[{code,description,parameter}]}` with 401/422;
 * status reports as GET query strings signed with `MessageBird-Signature-JWT`.
 */

export interface MessageBirdFakeOptions {
  accessKey: string;
}

export type MessageBirdFault =
  /** MessageBird's error body with one error (HTTP 422 unless `status`). */
  | { kind: 'error'; code: number; parameter?: string; status?: number; description?: string }
  /** 201, but `totalSentCount: 0` (nothing went out). */
  | { kind: 'zero_sent' };

export interface MessageBirdSentMessage {
  id: string;
  recipients: string[];
  originator: string;
  body: string;
  reference: string | null;
  reportUrl: string | null;
}

export interface MessageBirdFake extends FakeServer<MessageBirdFault> {
  messages: MessageBirdSentMessage[];
  /** A status report for a sent message, JWT-signed when `signingKey` is given. */
  statusReport(
    id: string,
    status: string,
    options?: { signingKey?: string; url?: string; nowMs?: number; statusErrorCode?: number; tamper?: 'url' | 'expired' | 'issuer' },
  ): CallbackRequest;
}

function mbError(code: number, description: string, parameter: string | null, status = 422): FakeReply {
  return { status, body: { errors: [{ code, description, parameter }] } };
}

/** Reads the body the way MessageBird does: JSON or form; returns field accessors. */
function readFields(req: RecordedRequest): Map<string, unknown> | undefined {
  const type = mediaType(req);
  if (type === 'application/json') {
    const json = tryJson(req.body);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
    return new Map(Object.entries(json));
  }
  if (type === 'application/x-www-form-urlencoded') {
    const form = parseUrlEncoded(req.body);
    return new Map([...form.keys()].map((k) => [k, first(form, k)]));
  }
  return undefined;
}

function b64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** HS256 JWT as MessageBird signs webhooks (§2.7), written independently of the adapter. */
export function signMessageBirdJwt(claims: Record<string, unknown>, signingKey: string): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const sig = b64url(createHmac('sha256', signingKey).update(`${head}.${body}`).digest());
  return `${head}.${body}.${sig}`;
}

export async function startMessageBirdFake(options: MessageBirdFakeOptions): Promise<MessageBirdFake> {
  const messages: MessageBirdSentMessage[] = [];

  const handle = (req: RecordedRequest, fault: MessageBirdFault | undefined): FakeReply => {
    if (req.path !== '/messages' || req.method !== 'POST') return mbError(20, 'message not found', null, 404);
    if (req.headers.authorization !== `AccessKey ${options.accessKey}`) {
      return mbError(2, 'Request not allowed (incorrect access_key)', 'access_key', 401);
    }
    const fields = readFields(req);
    if (!fields) return mbError(21, 'Bad request (unreadable body)', null, 400);
    const rawRecipients = fields.get('recipients');
    const recipients =
      typeof rawRecipients === 'string'
        ? rawRecipients.split(',').map((r) => r.trim())
        : Array.isArray(rawRecipients)
          ? rawRecipients.map((r) => String(r))
          : [];
    if (recipients.length === 0) return mbError(9, 'no (correct) recipients found', 'recipient');
    if (recipients.some((r) => !/^\d{1,17}$/.test(r))) return mbError(10, 'no (correct) recipients found', 'recipient');
    const originator = fields.get('originator');
    if (typeof originator !== 'string' || originator === '') return mbError(9, 'originator is required', 'originator');
    if (!(/^(?=.*[A-Za-z])[A-Za-z0-9 ]{3,11}$/.test(originator) || /^\d{1,17}$/.test(originator))) {
      return mbError(10, 'originator is invalid', 'originator');
    }
    const body = fields.get('body');
    if (typeof body !== 'string' || body === '') return mbError(9, 'body is required', 'body');
    const datacoding = fields.get('datacoding');
    if (datacoding !== undefined && !['plain', 'unicode', 'auto'].includes(String(datacoding))) {
      return mbError(10, 'datacoding is invalid', 'datacoding');
    }
    if (fault?.kind === 'error') {
      return mbError(fault.code, fault.description ?? `error ${fault.code}`, fault.parameter ?? null, fault.status ?? 422);
    }
    const id = hexId(32);
    const reference = typeof fields.get('reference') === 'string' ? (fields.get('reference') as string) : null;
    const reportUrl = typeof fields.get('reportUrl') === 'string' ? (fields.get('reportUrl') as string) : null;
    messages.push({ id, recipients, originator, body, reference, reportUrl });
    const sent = fault?.kind === 'zero_sent' ? 0 : recipients.length;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00');
    return {
      status: 201,
      body: {
        id,
        href: `https://rest.messagebird.com/messages/${id}`,
        direction: 'mt',
        type: 'sms',
        originator,
        body,
        reference,
        validity: null,
        gateway: 10,
        typeDetails: {},
        datacoding: datacoding ?? 'plain',
        mclass: 1,
        scheduledDatetime: null,
        createdDatetime: now,
        recipients: {
          totalCount: recipients.length,
          totalSentCount: sent,
          totalDeliveredCount: 0,
          totalDeliveryFailedCount: 0,
          // Newer accounts add per-recipient details, among them `messagePartCount` (§2.4 [P]).
          items: recipients.map((r) => ({
            recipient: Number(r),
            status: sent > 0 ? 'sent' : 'delivery_failed',
            statusDatetime: now,
            messageLength: [...body].length,
            messagePartCount: countSegments(body),
          })),
        },
      },
    };
  };

  const server = await startFakeServer<MessageBirdFault>(handle);
  return {
    ...server,
    messages,
    statusReport(id, status, opts = {}) {
      const msg = messages.find((m) => m.id === id);
      const base = opts.url ?? msg?.reportUrl;
      if (!base) throw new Error(`no reportUrl for ${id}`);
      const params = new URLSearchParams({
        id,
        reference: msg?.reference ?? '',
        recipient: msg?.recipients[0] ?? '31612345678',
        status,
        statusDatetime: '2026-01-01T00:00:05+00:00',
      });
      if (opts.statusErrorCode !== undefined) params.set('statusErrorCode', String(opts.statusErrorCode));
      const url = `${base}${base.includes('?') ? '&' : '?'}${params.toString()}`;
      const headers: Record<string, string> = {};
      if (opts.signingKey !== undefined) {
        const nowS = Math.floor((opts.nowMs ?? Date.now()) / 1000);
        const claims: Record<string, unknown> = {
          iss: opts.tamper === 'issuer' ? 'SomeoneElse' : 'MessageBird',
          iat: nowS,
          exp: opts.tamper === 'expired' ? nowS - 60 : nowS + 300,
          jti: hexId(16),
          url_hash: createHash('sha256').update(opts.tamper === 'url' ? `${url}&x=1` : url).digest('hex'),
        };
        headers['messagebird-signature-jwt'] = signMessageBirdJwt(claims, opts.signingKey);
      }
      const query: Record<string, string> = {};
      for (const [k, v] of params) query[k] = v;
      return { method: 'GET', url, headers, query, rawBody: '' };
    },
  };
}

import type { CallbackRequest } from '../../src/providers/types.js';
import { countSegments, first, mediaType, parseUrlEncoded, startFakeServer, type FakeReply, type FakeServer, type RecordedRequest } from './fake-server.js';

/**
 * Fake Textlocal (PROVIDERS.md §3, checklist §9): `POST /send/` form-urlencoded; always
 * HTTP 200; `status: "success" | "failure"` with `errors[]`; `test=true` → `test_mode: true`;
 * receipts are unsigned form posts `number,status,customID,datetime`.
 */

export interface TextlocalFakeOptions {
  region: 'uk' | 'in';
  apiKey?: string;
  username?: string;
  hash?: string;
}

export type TextlocalFault =
  /** `status: "failure"` with this error code, under HTTP 200. */
  | { kind: 'error'; code: number; message?: string }
  /**
   * `status: "success"` with `warnings: [{code, message}]`. With `dropRecipients`, Textlocal
   * dropped every number (warning 3 = invalid number): `messages` is empty and nothing is sent.
   */
  | { kind: 'warning'; code: number; message?: string; dropRecipients?: boolean };

export interface TextlocalSentMessage {
  id: string;
  number: string;
  message: string;
  sender: string;
  custom: string | null;
  receiptUrl: string | null;
}

export interface TextlocalFake extends FakeServer<TextlocalFault> {
  messages: TextlocalSentMessage[];
  /** A delivery receipt for a sent message, as Textlocal posts it to `receipt_url`. */
  receipt(id: string, status: 'D' | 'U' | 'I' | '?', datetime?: string): CallbackRequest;
}

/** Textlocal's own wording of its error codes (PROVIDERS.md §3.5). */
const errorText: Record<number, string> = {
  1: 'No command specified',
  2: 'Unrecognised command',
  3: 'Invalid login details',
  4: 'No recipients specified',
  5: 'No message content',
  6: 'Message too long',
  7: 'Insufficient credits',
  8: 'Invalid schedule date',
  9: 'Schedule date is in the past',
  10: 'Invalid group ID',
  11: 'Selected group is empty',
  32: 'Invalid number format',
  33: 'Too many numbers',
  34: 'Both group ID and numbers supplied',
  43: 'Invalid sender name',
  44: 'No sender name specified',
  51: 'No valid numbers specified',
  80: 'Invalid template',
  191: 'Schedule time is outside that allowed',
  192: 'You cannot send message at this time',
};

const warningText: Record<number, string> = { 3: 'Invalid number' };

function failure(code: number, message?: string): FakeReply {
  return { status: 200, body: { errors: [{ code, message: message ?? errorText[code] ?? 'Error' }], status: 'failure' } };
}

let nextId = 1151346216;

export async function startTextlocalFake(options: TextlocalFakeOptions): Promise<TextlocalFake> {
  const messages: TextlocalSentMessage[] = [];
  let batch = 123456789;

  const handle = (req: RecordedRequest, fault: TextlocalFault | undefined): FakeReply => {
    if (req.path !== '/send/' && req.path !== '/send') return failure(2, 'Unrecognised command');
    // Textlocal also takes GET with the same parameters; a body is read only when it is a form.
    const fields = req.method === 'GET' ? req.query : mediaType(req) === 'application/x-www-form-urlencoded' ? parseUrlEncoded(req.body) : new Map<string, string[]>();
    if (fields.size === 0) return failure(1);
    const apikey = first(fields, 'apikey');
    const username = first(fields, 'username');
    const hash = first(fields, 'hash');
    const keyOk = apikey !== undefined && options.apiKey !== undefined && apikey === options.apiKey;
    const loginOk = username !== undefined && hash !== undefined && username === options.username && hash === options.hash;
    if (!keyOk && !loginOk) return failure(3);

    const numbers = first(fields, 'numbers');
    if (!numbers) return failure(4);
    const list = numbers.split(',').map((n) => n.trim());
    if (list.some((n) => !/^\d{7,15}$/.test(n))) return failure(32);
    const message = first(fields, 'message');
    if (!message) return failure(5);
    if (options.region === 'in' && [...message].length > 766) return failure(6);
    const sender = first(fields, 'sender');
    if (!sender) return failure(44);
    const senderOk = options.region === 'in' ? /^[A-Za-z]{6}$/.test(sender) : /^[A-Za-z0-9]{3,11}$/.test(sender) || /^\d{1,13}$/.test(sender);
    if (!senderOk) return failure(43);
    if (fault?.kind === 'error') return failure(fault.code, fault.message);

    const test = first(fields, 'test') === 'true';
    const custom = first(fields, 'custom') ?? null;
    const receiptUrl = first(fields, 'receipt_url') ?? null;
    const warning = fault?.kind === 'warning' ? fault : undefined;
    const sent = warning?.dropRecipients ? [] : list.map((number) => ({ id: String(nextId++), number }));
    if (!test) for (const s of sent) messages.push({ ...s, message, sender, custom, receiptUrl });
    const parts = countSegments(message);
    return {
      status: 200,
      body: {
        ...(warning ? { warnings: [{ code: warning.code, message: warning.message ?? warningText[warning.code] ?? 'Warning' }] } : {}),
        test_mode: test,
        balance: 1162,
        batch_id: batch++,
        cost: parts * sent.length,
        num_messages: sent.length,
        message: { num_parts: parts, sender, content: message },
        receipt_url: receiptUrl ?? '',
        custom: custom ?? '',
        messages: sent.map((s) => ({ id: s.id, recipient: Number(s.number) })),
        status: 'success',
      },
    };
  };

  const server = await startFakeServer<TextlocalFault>(handle);
  return {
    ...server,
    messages,
    receipt(id, status, datetime = '2026-01-01 00:00:07') {
      const msg = messages.find((m) => m.id === id);
      if (!msg?.receiptUrl) throw new Error(`no receipt_url for ${id}`);
      const rawBody = [
        ['number', msg.number],
        ['status', status],
        ['customID', msg.custom ?? ''],
        ['datetime', datetime],
      ]
        .map(([k, v]) => `${k}=${encodeURIComponent(v ?? '').replace(/%20/g, '+')}`)
        .join('&');
      return { method: 'POST', url: msg.receiptUrl, headers: { 'content-type': 'application/x-www-form-urlencoded' }, query: {}, rawBody };
    },
  };
}

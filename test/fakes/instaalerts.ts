import { first, hexId, startFakeServer, type FakeReply, type FakeServer, type RecordedRequest } from './fake-server.js';

/**
 * Fake InstaAlerts / Karix JAPI query-string receiver (PROVIDERS.md §4.1a):
 * `GET /httpapi/QueryStringReceiver?ver=1.0&key=…&encrpt=0&dest=…&send=…&text=…`. Answers are
 * HTTP 200 plain text `requestid=…&statuscode=…&info=…&time=…` whether or not the message was
 * accepted; only `statuscode=200` is success. The failure codes and wording are this fake's
 * reading of integrators' code (the real ones are unconfirmed, [U]).
 */

export interface InstaAlertsFakeOptions {
  apiKey: string;
}

export type InstaAlertsFault =
  /** HTTP 200 with this status code and info text. */
  | { kind: 'answer'; statuscode: number | string; info: string }
  /** HTTP 200 with exactly this body. */
  | { kind: 'raw'; body: string };

export interface InstaAlertsSentMessage {
  requestId: string;
  dest: string;
  sender: string;
  text: string;
  dltEntityId: string | null;
  dltTemplateId: string | null;
}

export interface InstaAlertsFake extends FakeServer<InstaAlertsFault> {
  messages: InstaAlertsSentMessage[];
}

function answer(statuscode: number | string, info: string, requestId = ''): FakeReply {
  const time = new Date().toISOString().replace('T', ' ').slice(0, 19);
  return { status: 200, body: `requestid=${requestId}&statuscode=${statuscode}&info=${encodeURIComponent(info)}&time=${encodeURIComponent(time)}` };
}

export async function startInstaAlertsFake(options: InstaAlertsFakeOptions): Promise<InstaAlertsFake> {
  const messages: InstaAlertsSentMessage[] = [];

  const handle = (req: RecordedRequest, fault: InstaAlertsFault | undefined): FakeReply => {
    if (req.path !== '/httpapi/QueryStringReceiver') return { status: 404, body: 'Not Found' };
    if (req.method !== 'GET') return { status: 405, body: 'Method Not Allowed' };
    const q = req.query;
    if (first(q, 'ver') !== '1.0') return answer(400, 'Invalid version');
    if (first(q, 'key') !== options.apiKey) return answer(401, 'Invalid API key');
    if (first(q, 'encrpt') !== '0' && first(q, 'encrypt') !== '0') return answer(400, 'Invalid encryption flag');
    // E.164 digits only: country code first (no leading 0), no `+`, no spaces (§0, §4.1a).
    const dest = first(q, 'dest') ?? '';
    if (!/^[1-9]\d{7,14}$/.test(dest)) return answer(400, 'Invalid destination number');
    const sender = first(q, 'send') ?? '';
    if (!/^[A-Za-z0-9]{1,15}$/.test(sender)) return answer(400, 'Invalid sender id');
    const text = first(q, 'text') ?? '';
    if (text === '') return answer(400, 'Empty message text');
    const dltEntityId = first(q, 'dlt_entity_id') ?? null;
    const dltTemplateId = first(q, 'dlt_template_id') ?? null;
    if (dest.startsWith('91') && dest.length === 12 && (!dltEntityId || !dltTemplateId)) {
      return answer(400, 'DLT entity or template missing');
    }
    if (fault?.kind === 'answer') return answer(fault.statuscode, fault.info);
    if (fault?.kind === 'raw') return { status: 200, body: fault.body };
    const requestId = hexId(20);
    messages.push({ requestId, dest, sender, text, dltEntityId, dltTemplateId });
    return answer(200, 'Platform Accepted', requestId);
  };

  const server = await startFakeServer<InstaAlertsFault>(handle);
  return { ...server, messages };
}

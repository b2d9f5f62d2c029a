import { Webhook } from 'standardwebhooks';
import { hexId, mediaType, startFakeServer, tryJson, type FakeReply, type FakeServer, type RecordedRequest } from './fake-server.js';

/**
 * Fake custom gateway following the Mosaic-compatible contract (DESIGN.md "Custom gateway"):
 * `POST {path}` with `X-API-Key` and JSON `{phone_number, sender_id, message}` → 2xx;
 * `GET {path}` with `X-API-Key`, `X-Verification-Key`, `X-Scheme` → 200 `{"key": <that value>}`.
 * Given a `signingSecret`, it also refuses (401) any request whose Standard Webhooks signature
 * the `standardwebhooks` package does not verify, as a gateway checking signatures would.
 */

export interface CustomGatewayFakeOptions {
  apiKey: string;
  /** Path the gateway lives at (default `/otpgate`). */
  path?: string;
  /** `whsec_…`: when set, every request must carry a valid Standard Webhooks signature. */
  signingSecret?: string;
}

export type CustomGatewayFault =
  /** Answer the challenge 200 with another key. */
  | { kind: 'wrong_key'; key?: string }
  /** Answer the challenge 200 with JSON lacking `key`. */
  | { kind: 'no_key' }
  /** Answer the challenge 200 with HTML. */
  | { kind: 'not_json' };

export interface CustomGatewayMessage {
  id: string;
  phoneNumber: string;
  senderId: string;
  message: string;
}

export interface CustomGatewayFake extends FakeServer<CustomGatewayFault> {
  /** The gateway's URL (server URL + path). */
  uri: string;
  messages: CustomGatewayMessage[];
}

export async function startCustomGatewayFake(options: CustomGatewayFakeOptions): Promise<CustomGatewayFake> {
  const path = options.path ?? '/otpgate';
  const messages: CustomGatewayMessage[] = [];

  const handle = (req: RecordedRequest, fault: CustomGatewayFault | undefined): FakeReply => {
    if (req.path !== path) return { status: 404, body: { error: 'not found' } };
    if (req.headers['x-api-key'] !== options.apiKey) return { status: 401, body: { error: 'invalid api key' } };
    if (options.signingSecret !== undefined) {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      try {
        new Webhook(options.signingSecret).verify(req.body, headers);
      } catch {
        return { status: 401, body: { error: 'invalid signature' } };
      }
    }

    if (req.method === 'GET') {
      const verification = req.headers['x-verification-key'];
      if (typeof verification !== 'string' || verification === '') return { status: 400, body: { error: 'missing X-Verification-Key' } };
      if (req.headers['x-scheme'] !== 'otpgate-v1') return { status: 400, body: { error: 'unsupported X-Scheme' } };
      if (fault?.kind === 'wrong_key') return { status: 200, body: { key: fault.key ?? 'wrong' } };
      if (fault?.kind === 'no_key') return { status: 200, body: { ok: true } };
      if (fault?.kind === 'not_json') return { status: 200, body: '<html><body>Welcome to nginx!</body></html>', headers: { 'content-type': 'text/html' } };
      return { status: 200, body: { key: verification } };
    }
    if (req.method !== 'POST') return { status: 405, body: { error: 'method not allowed' } };
    if (mediaType(req) !== 'application/json') return { status: 415, body: { error: 'expected application/json' } };
    const json = tryJson(req.body);
    const body = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
    if (!body) return { status: 400, body: { error: 'invalid JSON' } };
    const phone = body['phone_number'];
    const sender = body['sender_id'];
    const message = body['message'];
    if (typeof phone !== 'string' || !/^\+[1-9]\d{1,14}$/.test(phone)) return { status: 400, body: { error: 'phone_number must be E.164' } };
    if (typeof sender !== 'string') return { status: 400, body: { error: 'sender_id must be a string' } };
    if (typeof message !== 'string' || message === '') return { status: 400, body: { error: 'message is required' } };
    const id = `gw_${hexId(16)}`;
    messages.push({ id, phoneNumber: phone, senderId: sender, message });
    return { status: 200, body: { id } };
  };

  const server = await startFakeServer<CustomGatewayFault>(handle);
  return { ...server, uri: `${server.url}${path}`, messages };
}

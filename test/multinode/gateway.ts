import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One delivery POST as the gateway saw it. */
export interface GatewayDelivery {
  phone: string;
  message: string;
  receivedAt: number;
  /** The gateway answered 200 on a live connection; false when the caller died while waiting. */
  completed: boolean;
}

export interface LocalGateway {
  /** The gateway URL to configure as the custom gateway's `uri`. */
  uri: string;
  apiKey: string;
  deliveries: GatewayDelivery[];
  /** Every delivery to this phone. */
  to(phone: string): GatewayDelivery[];
  /** Milliseconds each POST waits before answering (changeable while running). */
  delayMs: number;
  close(): Promise<void>;
}

/**
 * A custom SMS gateway on 127.0.0.1 following the contract in DESIGN.md "Custom gateway":
 * `POST` with `X-API-Key` and `{phone_number, sender_id, message}` → 200 `{id}` (after
 * `delayMs`); `GET` with `X-Verification-Key` → 200 `{"key": <that value>}`.
 */
export async function startLocalGateway(opts: { apiKey?: string; delayMs?: number } = {}): Promise<LocalGateway> {
  const apiKey = opts.apiKey ?? 'gw_key_multinode_0123456789';
  const deliveries: GatewayDelivery[] = [];
  let seq = 0;
  const gw = { delayMs: opts.delayMs ?? 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-api-key'] !== apiKey) return reply(401, { error: 'invalid api key' });
      if (req.method === 'GET') return reply(200, { key: req.headers['x-verification-key'] });
      if (req.method !== 'POST') return reply(405, { error: 'method not allowed' });
      let body: { phone_number?: unknown; message?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return reply(400, { error: 'invalid JSON' });
      }
      if (typeof body.phone_number !== 'string' || typeof body.message !== 'string') return reply(400, { error: 'phone_number and message are required' });
      const d: GatewayDelivery = { phone: body.phone_number, message: body.message, receivedAt: Date.now(), completed: false };
      deliveries.push(d);
      const answer = () => {
        if (res.socket?.destroyed ?? true) return;
        d.completed = true;
        reply(200, { id: `gw_${++seq}` });
      };
      if (gw.delayMs > 0) setTimeout(answer, gw.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/sms`,
    apiKey,
    deliveries,
    to: (phone) => deliveries.filter((d) => d.phone === phone),
    get delayMs() {
      return gw.delayMs;
    },
    set delayMs(v: number) {
      gw.delayMs = v;
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

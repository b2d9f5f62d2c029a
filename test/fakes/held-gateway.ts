import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { hexId } from './fake-server.js';

/**
 * A custom gateway (DESIGN.md "Custom gateway", delivery side only) that can hold each delivery
 * before answering it: for the shutdown and concurrency tests. It enforces the delivery
 * contract like test/fakes/custom-gateway.ts (`X-API-Key`, JSON `{phone_number, sender_id,
 * message}`), and counts the requests it holds at once.
 */
export interface HeldGateway {
  /** The gateway's URL. */
  uri: string;
  apiKey: string;
  /** Every well-formed delivery request, in arrival order (answered or not). */
  received: Array<{ phoneNumber: string; message: string }>;
  /** Deliveries answered 200, in answer order. */
  delivered: Array<{ phoneNumber: string; message: string }>;
  /** Requests whose client went away before the answer (an aborted call). */
  readonly abandoned: number;
  /** Requests held right now. */
  readonly inflight: number;
  /** Most requests ever held at once. */
  readonly maxInflight: number;
  /**
   * How new requests are answered: after `ms` milliseconds, or `'manual'` (held until
   * `release()`). Default 0 (at once).
   */
  hold(mode: number | 'manual'): void;
  /** Answers every request held manually, now. */
  release(): void;
  /** Resolves once `n` requests are held at once (rejects after `timeoutMs`). */
  waitForInflight(n: number, timeoutMs?: number): Promise<void>;
  /** The `Default` provider environment pointing at this gateway. */
  env(): Record<string, string>;
  close(): Promise<void>;
}

export async function startHeldGateway(apiKey = 'held-gw-key-0123456789'): Promise<HeldGateway> {
  const received: HeldGateway['received'] = [];
  const delivered: HeldGateway['delivered'] = [];
  const manual: Array<() => void> = [];
  const watchers: Array<() => void> = [];
  let mode: number | 'manual' = 0;
  let inflight = 0;
  let maxInflight = 0;
  let abandoned = 0;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/gw') return reply(404, { error: 'not found' });
      if (req.headers['x-api-key'] !== apiKey) return reply(401, { error: 'invalid api key' });
      if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return reply(415, { error: 'expected application/json' });
      let body: { phone_number?: unknown; sender_id?: unknown; message?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        return reply(400, { error: 'invalid JSON' });
      }
      const { phone_number: phone, sender_id: sender, message } = body;
      if (typeof phone !== 'string' || !/^\+[1-9]\d{1,14}$/.test(phone)) return reply(400, { error: 'phone_number must be E.164' });
      if (typeof sender !== 'string' || typeof message !== 'string' || message === '') return reply(400, { error: 'sender_id and message are required' });

      const entry = { phoneNumber: phone, message };
      received.push(entry);
      inflight += 1;
      maxInflight = Math.max(maxInflight, inflight);
      for (const w of watchers.splice(0)) w();
      let done = false;
      const finish = (answered: boolean) => {
        if (done) return;
        done = true;
        inflight -= 1;
        if (!answered) {
          abandoned += 1;
          return;
        }
        delivered.push(entry);
        reply(200, { id: `gw_${hexId(16)}` });
      };
      res.on('close', () => finish(false));
      if (mode === 'manual') manual.push(() => finish(true));
      else if (mode === 0) finish(true);
      else setTimeout(() => finish(true), mode);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const uri = `http://127.0.0.1:${port}/gw`;

  return {
    uri,
    apiKey,
    received,
    delivered,
    get abandoned() {
      return abandoned;
    },
    get inflight() {
      return inflight;
    },
    get maxInflight() {
      return maxInflight;
    },
    hold(m) {
      mode = m;
    },
    release() {
      for (const answer of manual.splice(0)) answer();
    },
    async waitForInflight(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (inflight < n) {
        if (Date.now() > until) throw new Error(`the gateway held ${inflight} requests, not ${n}, within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 50);
          watchers.push(() => {
            clearTimeout(t);
            resolve();
          });
        });
      }
    },
    env() {
      return { OTPGATE_DEFAULT_PROVIDER: 'CustomGateway', OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify({ uri, api_key: apiKey }) };
    },
    close() {
      manual.splice(0);
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

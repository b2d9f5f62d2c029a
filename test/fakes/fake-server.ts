import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/**
 * A tiny base for fake provider servers: node:http on 127.0.0.1, an ephemeral port, every
 * request recorded, and a queue of injected faults. Each fake enforces its provider's real
 * contract (PROVIDERS.md) with its OWN parsing code: nothing here imports the adapters, so a
 * bug shared by an adapter and its helper cannot cancel out.
 */

export interface RecordedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  /** Raw query string without `?` (empty when none). */
  search: string;
  /** Query parameters decoded by this file's own parser (repeated names: every value). */
  query: Map<string, string[]>;
  /** Header names lower-cased. */
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface FakeReply {
  status: number;
  /** An object is sent as JSON; a string as is (text/plain unless `headers` says otherwise). */
  body?: string | object;
  headers?: Record<string, string>;
}

/** Faults every fake supports; `onPath` restricts a fault to the next request whose path contains it. */
export type BaseFault =
  | { kind: 'status'; status: number; body?: string | object; headers?: Record<string, string>; onPath?: string }
  /** Accept the request and never answer (the client's deadline must fire). */
  | { kind: 'hang'; onPath?: string }
  /** Close the connection without an answer. */
  | { kind: 'reset'; onPath?: string };

export type FaultSpec<P = never> = BaseFault | (P & { onPath?: string });

export interface FakeServer<P = never> {
  url: string;
  requests: RecordedRequest[];
  /** Queues a fault for the next (matching) request; several calls queue several faults. */
  fail(next: FaultSpec<P>): void;
  close(): Promise<void>;
}

export type FakeHandler<P> = (req: RecordedRequest, fault: P | undefined) => FakeReply | Promise<FakeReply>;

function isBaseFault(f: { kind: string }): f is BaseFault {
  return f.kind === 'status' || f.kind === 'hang' || f.kind === 'reset';
}

function send(res: http.ServerResponse, reply: FakeReply): void {
  const headers: Record<string, string> = { ...reply.headers };
  let body = '';
  if (typeof reply.body === 'string') {
    body = reply.body;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (reply.body !== undefined) {
    body = JSON.stringify(reply.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  res.writeHead(reply.status, headers);
  res.end(body);
}

export async function startFakeServer<P extends { kind: string } = never>(handler: FakeHandler<P>): Promise<FakeServer<P>> {
  const requests: RecordedRequest[] = [];
  const faults: FaultSpec<P>[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawUrl = req.url ?? '/';
      const q = rawUrl.indexOf('?');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: q < 0 ? rawUrl : rawUrl.slice(0, q),
        search: q < 0 ? '' : rawUrl.slice(q + 1),
        query: parseUrlEncoded(q < 0 ? '' : rawUrl.slice(q + 1)),
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const i = faults.findIndex((f) => f.onPath === undefined || recorded.path.includes(f.onPath));
      const fault = i < 0 ? undefined : faults.splice(i, 1)[0];
      if (fault && isBaseFault(fault)) {
        if (fault.kind === 'hang') return;
        if (fault.kind === 'reset') return void req.socket.destroy();
        return send(res, fault);
      }
      Promise.resolve()
        .then(() => handler(recorded, fault as P | undefined))
        .then(
          (reply) => send(res, reply),
          (err: unknown) => send(res, { status: 500, body: `fake server error: ${String(err)}` }),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fail(next) {
      faults.push(next);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `application/x-www-form-urlencoded` / query string, parsed by hand (`+` is a space). */
export function parseUrlEncoded(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (text === '') return out;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq < 0 ? part : part.slice(0, eq);
    const rawValue = eq < 0 ? '' : part.slice(eq + 1);
    const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    const name = decode(rawName);
    out.set(name, [...(out.get(name) ?? []), decode(rawValue)]);
  }
  return out;
}

/** First value of a parsed form/query field. */
export function first(fields: Map<string, string[]>, name: string): string | undefined {
  return fields.get(name)?.[0];
}

/** The media type of a request, lower-cased, without parameters. */
export function mediaType(req: RecordedRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** `Authorization: Basic …` decoded, or undefined. */
export function basicCredentials(req: RecordedRequest): { user: string; pass: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

/** Parses JSON, or undefined. */
export function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Segments the way carriers count them: GSM-7 160/153 for plain ASCII text, else UCS-2 70/67. */
export function countSegments(text: string): number {
  const gsm = /^[\x0A\x0D\x20-\x5F\x61-\x7E£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà]*$/.test(text);
  const units = gsm ? text.length + (text.match(/[\^{}\\[~\]|]/g)?.length ?? 0) : text.length;
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  return units <= single ? 1 : Math.ceil(units / multi);
}

/** A fresh random hex id of `length` characters. */
export function hexId(length: number): string {
  return randomBytes(Math.ceil(length / 2)).toString('hex').slice(0, length);
}

import http from 'node:http';
import https from 'node:https';
import dns from 'node:dns';
import net from 'node:net';
import type { LookupFunction } from 'node:net';

/**
 * The one HTTP client providers use. Every call has a deadline and a response size cap, and
 * goes through the SSRF guard: in production only `https` to public addresses (checked after
 * DNS resolution, on the address actually connected to); development also allows loopback so
 * local fakes and gateways work. Redirects are never followed.
 */
export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: string;
  /** Deadline for the whole exchange. Default 10 000 ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Larger answers are cut off with an error. Default 256 KiB. */
  maxResponseBytes?: number;
}

export interface HttpResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON, or `undefined` when it is not JSON. */
  json(): unknown;
}

/** Why a request produced no response. `forbidden_target` is the SSRF guard refusing. */
export type HttpFailureKind = 'timeout' | 'network' | 'too_large' | 'forbidden_target' | 'aborted';

export class HttpFailure extends Error {
  constructor(readonly kind: HttpFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HttpFailure';
  }
}

export interface HttpClient {
  request(req: HttpRequest): Promise<HttpResponse>;
}

export interface OutboundPolicy {
  /** Allow `http:` URLs and loopback addresses (development and tests). */
  allowLoopback: boolean;
}

const blocked = new net.BlockList();
// IPv4 ranges that are never "public": RFC 1918, loopback, link-local, CGNAT, this-network,
// benchmarking, documentation, multicast and reserved.
for (const [addr, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(addr, prefix, 'ipv4');
// IPv6: unspecified, loopback, the deprecated IPv4-compatible range (::a.b.c.d), unique local,
// link-local, multicast, NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48), Teredo
// (2001::/32, an IPv4 tunnel whose far end a name could point anywhere) and documentation.
for (const [addr, prefix] of [
  ['::', 128], ['::1', 128], ['::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96],
  ['64:ff9b:1::', 48], ['2001::', 32], ['2001:db8::', 32],
] as const) blocked.addSubnet(addr, prefix, 'ipv6');
const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True when `address` (an IP literal) may be connected to under `policy`. */
export function isAddressAllowed(address: string, policy: OutboundPolicy): boolean {
  const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
  let addr = address;
  // IPv4-mapped IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return isAddressAllowed(mapped[1], policy);
  // 6to4 (2002:AABB:CCDD::/48) reaches the IPv4 address AA.BB.CC.DD: judged as that address.
  const sixToFour = family === 'ipv6' ? sixToFourIpv4(address) : undefined;
  if (sixToFour !== undefined) return !blocked.check(sixToFour, 'ipv4');
  if (policy.allowLoopback && loopback.check(addr, family)) return true;
  return !blocked.check(addr, family);
}

/** The IPv4 address a 6to4 address (2002::/16) carries in its second and third groups, else undefined. */
function sixToFourIpv4(address: string): string | undefined {
  const groups = ipv6Groups(address);
  if (groups?.[0] !== 0x2002) return undefined;
  const [hi = 0, lo = 0] = [groups[1], groups[2]];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** The eight 16-bit groups of an IPv6 literal (a trailing dotted IPv4 part taking two), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map((g) => Number.parseInt(g, 16));
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * Checks a URL's scheme and literal host before any connection. Returns a reason when the URL
 * is not allowed, else `null`. Host names are checked again after DNS resolution.
 */
export function checkOutboundUrl(raw: string, policy: OutboundPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowLoopback && url.protocol === 'http:')) {
    return policy.allowLoopback ? 'only http and https URLs are allowed' : 'only https URLs are allowed in production';
  }
  if (url.username || url.password) return 'URLs with credentials are not allowed';
  const host = hostOf(url);
  if (net.isIP(host) && !isAddressAllowed(host, policy)) return `address ${host} is not public`;
  if (!policy.allowLoopback && (host === 'localhost' || host.endsWith('.localhost'))) return 'localhost is not allowed in production';
  return null;
}

/** A URL's host without IPv6 brackets and without the trailing dot of a fully qualified name. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

/** Why the addresses `hostname` resolved to may not be connected to under `policy`, or `null`. */
function resolvedAddressProblem(hostname: string, addresses: readonly dns.LookupAddress[], policy: OutboundPolicy): string | null {
  const bad = addresses.find((a) => !isAddressAllowed(a.address, policy));
  return bad ? `${hostname} resolves to ${bad.address}, which is not public` : null;
}

/**
 * `checkOutboundUrl`, then, for a host name, the addresses it resolves to now, judged as the
 * connect-time guard judges them. For checks ahead of any request (saving a provider
 * configuration). A name that does not resolve, or not within `timeoutMs`, passes: it cannot be
 * judged yet, and the guard checks again on every connection.
 */
export async function checkOutboundTarget(
  raw: string,
  policy: OutboundPolicy,
  options: { resolve?: Resolver; timeoutMs?: number } = {},
): Promise<string | null> {
  const reason = checkOutboundUrl(raw, policy);
  if (reason) return reason;
  const host = hostOf(new URL(raw));
  if (net.isIP(host)) return null;
  const lookup = options.resolve ?? systemResolver;
  const addresses = await new Promise<dns.LookupAddress[] | null>((done) => {
    const timer = setTimeout(() => done(null), options.timeoutMs ?? 3_000);
    timer.unref();
    lookup(host, { all: true }, (err, list) => {
      clearTimeout(timer);
      done(err ? null : list);
    });
  });
  return addresses ? resolvedAddressProblem(host, addresses, policy) : null;
}

/** The resolver `guardedLookup` asks: `dns.lookup`'s signature, always called with `all: true`. */
export type Resolver = (
  hostname: string,
  options: dns.LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void,
) => void;

const systemResolver: Resolver = (hostname, options, callback) => dns.lookup(hostname, options, callback);

/**
 * The socket `lookup` of every outbound connection: resolves the name (all addresses) and
 * refuses with `HttpFailure('forbidden_target')` when ANY address is not allowed under
 * `policy`, so the check is on the address actually connected to (no DNS rebinding between a
 * check and the connect). `resolve` is replaceable for tests only.
 */
export function guardedLookup(policy: OutboundPolicy, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as dns.LookupAddress[];
      const problem = resolvedAddressProblem(hostname, list, policy);
      if (problem) {
        const e = new HttpFailure('forbidden_target', problem);
        return callback(e as unknown as NodeJS.ErrnoException, '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`no address for ${hostname}`) as NodeJS.ErrnoException, '', 0);
      return callback(null, first.address, first.family);
    });
  };
}

export function createHttpClient(policy: OutboundPolicy, options: { resolve?: Resolver } = {}): HttpClient {
  const lookup = guardedLookup(policy, options.resolve);
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64, lookup } as http.AgentOptions);
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, lookup } as https.AgentOptions);
  // checkOutboundUrl's answer depends on the URL and the policy only, and a client sends to a
  // handful of provider URLs: each is judged once (a URL parse and address checks per message).
  // A URL with a query or fragment is judged each time: it may carry a message (InstaAlerts).
  const judged = new Map<string, string | null>();
  const judge = (raw: string): string | null => {
    if (raw.includes('?') || raw.includes('#')) return checkOutboundUrl(raw, policy);
    let reason = judged.get(raw);
    if (reason === undefined) {
      reason = checkOutboundUrl(raw, policy);
      if (judged.size >= 1024) judged.clear();
      judged.set(raw, reason);
    }
    return reason;
  };

  return {
    request(req) {
      const reason = judge(req.url);
      if (reason) return Promise.reject(new HttpFailure('forbidden_target', `refused ${new URL(req.url).host || req.url}: ${reason}`));
      const url = new URL(req.url);
      const timeoutMs = req.timeoutMs ?? 10_000;
      const maxBytes = req.maxResponseBytes ?? 256 * 1024;
      const isHttps = url.protocol === 'https:';
      const headers: Record<string, string> = { 'user-agent': 'otpgate', ...req.headers };
      if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));

      return new Promise<HttpResponse>((resolve, reject) => {
        let settled = false;
        const finish = (err: Error | null, res?: HttpResponse) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          req.signal?.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(res!);
        };
        const r = (isHttps ? https : http).request(
          url,
          { method: req.method, headers, agent: isHttps ? httpsAgent : httpAgent },
          (res) => {
            const chunks: Buffer[] = [];
            let size = 0;
            res.on('data', (c: Buffer) => {
              size += c.length;
              if (size > maxBytes) {
                res.destroy();
                finish(new HttpFailure('too_large', `response from ${url.host} exceeded ${maxBytes} bytes`));
                return;
              }
              chunks.push(c);
            });
            res.on('error', (e) => finish(new HttpFailure('network', `reading the response from ${url.host} failed: ${e.message}`, { cause: e })));
            res.on('end', () => {
              const body = Buffer.concat(chunks).toString('utf8');
              const hdrs: Record<string, string> = {};
              for (const [k, v] of Object.entries(res.headers)) {
                if (v !== undefined) hdrs[k] = Array.isArray(v) ? v.join(', ') : v;
              }
              finish(null, {
                status: res.statusCode ?? 0,
                headers: hdrs,
                body,
                json() {
                  try {
                    return JSON.parse(body) as unknown;
                  } catch {
                    return undefined;
                  }
                },
              });
            });
          },
        );
        const timer = setTimeout(() => {
          r.destroy();
          finish(new HttpFailure('timeout', `${url.host} did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        const onAbort = () => {
          r.destroy();
          finish(new HttpFailure('aborted', `request to ${url.host} was aborted`));
        };
        if (req.signal?.aborted) return onAbort();
        req.signal?.addEventListener('abort', onAbort, { once: true });
        r.on('error', (e) => {
          if (e instanceof HttpFailure) return finish(e);
          finish(new HttpFailure('network', `could not reach ${url.host}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e }));
        });
        if (req.body !== undefined) r.end(req.body);
        else r.end();
      });
    },
  };
}

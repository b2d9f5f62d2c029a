/**
 * @otpgate/client: a typed client for otpgate's HTTP API. `api` is the whole API, typed from
 * the generated schema.d.ts by openapi-fetch; sendOtp and verifyOtp are the two calls most
 * backends need, and verifyEvent checks an event delivery's Standard Webhooks signature.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import createFetchClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, paths };

/** An RFC 9457 problem document; `code` is the stable error code (docs/errors.md). */
export type Problem = components['schemas']['Problem'];
export type SendOtpRequest = paths['/v1/otp/send']['post']['requestBody']['content']['application/json'];
export type SendOtpResponse = paths['/v1/otp/send']['post']['responses'][202]['content']['application/json'];
export type VerifyOtpRequest = paths['/v1/otp/verify']['post']['requestBody']['content']['application/json'];
export type VerifyOtpResponse = paths['/v1/otp/verify']['post']['responses'][200]['content']['application/json'];

export interface OtpgateClientOptions {
  /** Where otpgate answers, e.g. https://otp.example.com (no trailing /v1). */
  baseUrl: string;
  /** An API key (or admin key, or OAuth access token): sent as `Authorization: Bearer …`. */
  apiKey: string;
  /** Admin key only: the tenant to act on (`X-Tenant-Id`). */
  tenantId?: string;
  /** Another fetch (tests, proxies); the global one by default. */
  fetch?: typeof globalThis.fetch;
}

/** A non-2xx answer from otpgate, with its problem document. */
export class OtpgateError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(`${problem.code}: ${problem.detail ?? problem.title}`);
    this.name = 'OtpgateError';
    this.status = status;
    this.problem = problem;
  }

  /** The stable error code, e.g. `otp.invalid_code`. */
  get code(): string {
    return this.problem.code;
  }
}

export interface OtpgateClient {
  /** The whole API, typed: `api.GET('/v1/messages/{id}', { params: { path: { id } } })`. */
  api: Client<paths>;
  /** Sends a code (202): the answer carries the challenge and verification ids, never the code. */
  sendOtp(body: SendOtpRequest, options?: { idempotencyKey?: string }): Promise<SendOtpResponse>;
  /** Checks a code; a wrong, expired or used-up code throws OtpgateError with its problem code. */
  verifyOtp(body: VerifyOtpRequest): Promise<VerifyOtpResponse>;
}

function problemOf(status: number, error: unknown): OtpgateError {
  // Every error otpgate answers is a problem document; anything else (a proxy's page) gets a stand-in.
  if (error && typeof error === 'object' && typeof (error as Problem).code === 'string') return new OtpgateError(status, error as Problem);
  return new OtpgateError(status, { type: 'about:blank', title: `HTTP ${status}`, status, code: 'http.unexpected', request_id: '', detail: typeof error === 'string' ? error : undefined });
}

export function createClient(options: OtpgateClientOptions): OtpgateClient {
  const api = createFetchClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { authorization: `Bearer ${options.apiKey}`, ...(options.tenantId ? { 'x-tenant-id': options.tenantId } : {}) },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return {
    api,
    async sendOtp(body, opts = {}) {
      const { data, error, response } = await api.POST('/v1/otp/send', {
        body,
        params: { header: opts.idempotencyKey !== undefined ? { 'idempotency-key': opts.idempotencyKey } : {} },
      });
      if (data === undefined) throw problemOf(response.status, error);
      return data;
    },
    async verifyOtp(body) {
      const { data, error, response } = await api.POST('/v1/otp/verify', { body });
      if (data === undefined) throw problemOf(response.status, error);
      return data;
    },
  };
}

/** An event as otpgate delivers it (docs/events.md). */
export interface OtpgateEvent<T = Record<string, unknown>> {
  type: string;
  /** When it happened (ISO 8601). */
  timestamp: string;
  data: T;
}

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(bag).find((k) => k.toLowerCase() === name);
  const v = key === undefined ? undefined : bag[key];
  return Array.isArray(v) ? v.join(' ') : v;
}

/**
 * Checks an event delivery (Standard Webhooks): `webhook-signature` must hold a `v1,` HMAC-SHA256
 * of `{webhook-id}.{webhook-timestamp}.{body}` under one of the `whsec_` secrets (two during a
 * rotation), and the timestamp must be within `toleranceSeconds` of now (replays). Pass the raw
 * body as received, not re-serialised JSON. Returns the parsed event; throws
 * WebhookVerificationError otherwise.
 */
export function verifyEvent<T = Record<string, unknown>>(
  headers: HeaderBag,
  body: string | Uint8Array,
  secret: string | readonly string[],
  options: { toleranceSeconds?: number; now?: Date } = {},
): OtpgateEvent<T> & { id: string } {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('webhook-timestamp is not a number of seconds');
  const tolerance = options.toleranceSeconds ?? 300;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(timestamp)) > tolerance) throw new WebhookVerificationError('webhook-timestamp is too far from now');
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  const given = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  const matches = (typeof secret === 'string' ? [secret] : secret).some((s) => {
    const key = Buffer.from(s.startsWith('whsec_') ? s.slice('whsec_'.length) : s, 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${text}`).digest();
    return given.some((g) => g.length === expected.length && timingSafeEqual(g, expected));
  });
  if (!matches) throw new WebhookVerificationError('no signature matches');
  let event: OtpgateEvent<T>;
  try {
    event = JSON.parse(text) as OtpgateEvent<T>;
  } catch {
    throw new WebhookVerificationError('the body is not JSON');
  }
  return { ...event, id };
}

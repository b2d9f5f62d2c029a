import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { HttpFailure, type HttpClient, type HttpRequest, type HttpResponse } from './http.js';
import { ProviderError, isProviderError, type ProviderErrorKind } from './provider-error.js';
import type { SendRequest, SendResult } from './types.js';

/**
 * Helpers every adapter shares: the HTTP call with failure translation, the error-table lookup,
 * `Retry-After`, phone formats, URL joining, constant-time comparison and safe excerpts.
 * Kept in one file so no adapter grows its own copy.
 */

/** Deadline of one provider call unless the caller's signal fires first. */
export const PROVIDER_TIMEOUT_MS = 10_000;

/** One row of a provider's error table: what a code means for the dispatcher, in operator words. */
export interface ErrorRule {
  kind: ProviderErrorKind;
  /** Completes "`{Provider} …`", e.g. "rejected the credentials". Never the provider's free text. */
  reason: string;
}

/** A provider's documented error codes, keyed by the code as a string. */
export type ErrorTable = Readonly<Record<string, ErrorRule>>;

/** Recipient (E.164 with `+`) as the digits-only international form most providers want. */
export function toDigits(e164: string): string {
  const digits = e164.startsWith('+') ? e164.slice(1) : e164;
  if (!/^[1-9]\d{1,14}$/.test(digits)) {
    throw new ProviderError('invalid_recipient', 'the recipient is not an E.164 phone number');
  }
  return digits;
}

/** Recipient as E.164 with the leading `+` (Twilio, custom gateways). */
export function toE164(phone: string): string {
  return `+${toDigits(phone)}`;
}

/**
 * `Retry-After` as milliseconds from `nowMs`: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * A date in the past gives 0; anything unparsable gives `undefined`.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** The generic meaning of an HTTP status when the provider's body says nothing more precise. */
export function kindForHttpStatus(status: number): ProviderErrorKind {
  // A redirect is never followed (SSRF guard): the endpoint is wrong, a configuration fault.
  if (status >= 300 && status < 400) return 'auth';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status >= 500) return 'transient';
  if (status === 429) return 'rate_limited';
  if (status >= 400) return 'rejected';
  return 'unknown';
}

/** Translates a failed exchange (no response) into the ProviderError the dispatcher expects. */
export function providerErrorFromFailure(provider: string, err: unknown): ProviderError {
  if (isProviderError(err)) return err;
  if (err instanceof HttpFailure) {
    switch (err.kind) {
      case 'timeout':
        return new ProviderError('transient', `${provider} did not answer in time: ${err.message}`, { cause: err });
      case 'aborted':
        return new ProviderError('transient', `the request to ${provider} was aborted (attempt deadline or shutdown)`, { cause: err });
      case 'network':
        return new ProviderError('transient', `could not reach ${provider}: ${err.message}`, { cause: err });
      case 'too_large':
        return new ProviderError('unknown', `${provider} sent an oversized answer: ${err.message}`, { cause: err });
      case 'forbidden_target':
        // A configuration fault (the endpoint points somewhere outbound policy forbids), not a
        // property of this message: classify like bad credentials so the fallback takes over at once.
        // Names like "the gateway" carry their own article: "the endpoint of …" reads right for both.
        return new ProviderError('auth', `the endpoint of ${provider} is not allowed: ${err.message}`, { cause: err });
    }
  }
  return new ProviderError('unknown', `${provider} call failed unexpectedly`, { cause: err });
}

/**
 * The error for a 3xx answer. The HTTP client never follows redirects (a provider or gateway
 * could otherwise bounce otpgate to an internal address after the SSRF check), so a redirect
 * means the configured endpoint is not the API itself (moved host, http→https, a login page):
 * a configuration fault, classified `auth` so the fallback takes over at once. Only the
 * target's host is named, never its path or query.
 */
export function redirectError(provider: string, res: HttpResponse, requestUrl: string): ProviderError {
  let target = '';
  const location = res.headers['location'];
  if (location !== undefined && URL.canParse(location, requestUrl)) {
    target = ` to ${safeExcerpt(new URL(location, requestUrl).host, { max: 60 }) || 'another path'}`;
  }
  return new ProviderError(
    'auth',
    `${provider} answered HTTP ${res.status}, a redirect${target}, which otpgate never follows: check the endpoint`,
    { httpStatus: res.status },
  );
}

/**
 * One HTTP exchange with a provider: deadline, signal, and failures as ProviderError. A 3xx
 * answer is refused here, once for every adapter (see `redirectError`).
 */
export async function callProvider(http: HttpClient, provider: string, req: HttpRequest): Promise<HttpResponse> {
  let res: HttpResponse;
  try {
    res = await http.request({ timeoutMs: PROVIDER_TIMEOUT_MS, ...req });
  } catch (err) {
    throw providerErrorFromFailure(provider, err);
  }
  if (res.status >= 300 && res.status < 400) throw redirectError(provider, res, req.url);
  return res;
}

/**
 * Builds the ProviderError for a provider error code from its table. Unknown codes fall back to
 * `fallbackKind` (normally the HTTP status's generic meaning).
 */
export function errorFromTable(
  provider: string,
  table: ErrorTable,
  code: string | number | undefined,
  opts: { httpStatus?: number; retryAfterMs?: number; fallbackKind?: ProviderErrorKind },
): ProviderError {
  const key = code === undefined ? undefined : String(code);
  const rule = key === undefined ? undefined : table[key];
  const status = opts.httpStatus;
  let kind: ProviderErrorKind;
  let message: string;
  if (rule) {
    kind = rule.kind;
    message = `${provider} ${rule.reason} (${key})`;
  } else {
    kind = opts.fallbackKind ?? (status === undefined ? 'unknown' : kindForHttpStatus(status));
    const what = key === undefined ? 'an error' : `error code ${key}, which otpgate does not know`;
    message = status === undefined ? `${provider} answered with ${what}` : `${provider} answered HTTP ${status} with ${what}`;
  }
  const retryable = kind === 'rate_limited' || kind === 'transient';
  return new ProviderError(kind, message, {
    providerCode: key,
    httpStatus: status,
    retryAfterMs: retryable ? opts.retryAfterMs : undefined,
  });
}

/** Of several errors in one answer, the one that matters most for the dispatcher (config faults first). */
const kindPrecedence: readonly ProviderErrorKind[] = ['auth', 'transient', 'rate_limited', 'rejected', 'invalid_recipient', 'unknown'];
export function mostSevere(errors: readonly ProviderError[]): ProviderError | undefined {
  return [...errors].sort((a, b) => kindPrecedence.indexOf(a.kind) - kindPrecedence.indexOf(b.kind))[0];
}

/** `Retry-After` of a response, relative to the injected clock. */
export function retryAfterOf(res: HttpResponse, nowMs: number): number | undefined {
  return parseRetryAfter(res.headers['retry-after'], nowMs);
}

/**
 * Runs one send, guaranteeing the adapter contract: rejects only with ProviderError, and logs
 * the outcome without the body, the recipient or any credential.
 */
export async function guardedSend(
  provider: string,
  logger: Logger,
  request: SendRequest,
  run: () => Promise<SendResult>,
): Promise<SendResult> {
  try {
    const result = await run();
    logger.debug({ provider, messageId: request.messageId, providerMessageId: result.providerMessageId }, 'provider accepted the message');
    return result;
  } catch (err) {
    const pe = providerErrorFromFailure(provider, err);
    logger.warn(
      { provider, messageId: request.messageId, kind: pe.kind, providerCode: pe.providerCode, httpStatus: pe.httpStatus, reason: pe.message },
      'provider send failed',
    );
    throw pe;
  }
}

/** Joins a base URL (with or without a trailing slash, possibly with a path) and a relative path. */
export function joinUrl(base: string, path: string): string {
  const b = base.endsWith('/') ? base : `${base}/`;
  return new URL(path.replace(/^\/+/, ''), b).toString();
}

/** Header lookup that ignores case (callbacks may come with any header casing). */
export function headerOf(headers: Record<string, string | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** Constant-time string equality (lengths are hidden by hashing first). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/**
 * A short single-line excerpt of a foreign answer for operator messages and logs: redacted
 * values removed, optionally digit runs (codes, numbers) masked, truncated.
 */
export function safeExcerpt(text: string, opts: { redact?: readonly string[]; maskDigits?: boolean; max?: number } = {}): string {
  let s = text;
  for (const r of opts.redact ?? []) if (r.length > 0) s = s.split(r).join('[redacted]');
  if (opts.maskDigits) s = s.replace(/\d{4,}/g, '####');
  s = s.replace(/\s+/g, ' ').trim();
  const max = opts.max ?? 80;
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Narrows a parsed JSON value to a plain object. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** A string (or finite number, as a string) property of a JSON object. */
export function stringField(obj: Record<string, unknown> | undefined, key: string): string | undefined {
  const v = obj?.[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** A numeric property of a JSON object, accepting numeric strings (`"1"`). */
export function numberField(obj: Record<string, unknown> | undefined, key: string): number | undefined {
  const v = obj?.[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

/** Parses a date string, returning `undefined` for anything unparsable. */
export function parseDate(value: string | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createHttpClient, type HttpClient, type HttpRequest } from '../../src/providers/http.js';
import { ProviderError, type ProviderErrorKind } from '../../src/providers/provider-error.js';
import type { ProviderContext, SendRequest } from '../../src/providers/types.js';
import { createManualClock } from '../../src/domain/clock.js';

/** The code inside every test message: it must never appear in an error message or a log line. */
export const CODE = '482913';
export const BODY = `Your otpgate code is ${CODE}. It expires in 5 minutes.`;
export const TO = '+447700900123';

export type ManualClock = ReturnType<typeof createManualClock>;

export interface TestContext {
  ctx: ProviderContext;
  clock: ManualClock;
  /** Every log line the adapter wrote (JSON, level debug and up). */
  logs: string[];
}

/**
 * A ProviderContext on loopback: the real HTTP client (loopback allowed), a manual clock and a
 * capturing logger. `timeoutMs` forces a short deadline on every call (timeout tests).
 */
export function makeContext(options: { timeoutMs?: number; clock?: ManualClock } = {}): TestContext {
  const clock = options.clock ?? createManualClock();
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const base = createHttpClient({ allowLoopback: true });
  const http: HttpClient =
    options.timeoutMs === undefined ? base : { request: (req) => base.request({ ...req, timeoutMs: options.timeoutMs }) };
  const inbox = {
    capture(): Promise<string> {
      return Promise.reject(new Error('the inbox is not used by this provider'));
    },
  };
  return { ctx: { http, clock, logger, inbox }, clock, logs };
}

/** An HttpClient that records requests and answers a canned response, touching no network. */
export function recordingHttp(): { http: HttpClient; seen: HttpRequest[] } {
  const seen: HttpRequest[] = [];
  return {
    seen,
    http: {
      request(req) {
        seen.push(req);
        return Promise.resolve({ status: 503, headers: {}, body: '', json: () => undefined });
      },
    },
  };
}

let seq = 0;
export function sendRequest(overrides: Partial<SendRequest> = {}): SendRequest {
  seq += 1;
  return {
    messageId: `msg_test${String(seq).padStart(6, '0')}`,
    tenantId: 'ten_test',
    to: TO,
    body: BODY,
    signal: AbortSignal.timeout(5000),
    ...overrides,
  };
}

/** Awaits a rejection with a ProviderError of `kind` and returns it. */
export async function expectProviderError(promise: Promise<unknown>, kind: ProviderErrorKind): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected a ProviderError, got ${String(err)}`);
    assert.equal(err.kind, kind, `expected kind ${kind}, got ${err.kind}: ${err.message}`);
    return err;
  }
  assert.fail(`expected a ProviderError of kind ${kind}, but the promise resolved`);
}

/** Asserts that none of `texts` contains the code, the body or any of `secrets`. */
export function assertNothingLeaks(texts: readonly string[], secrets: readonly string[]): void {
  for (const text of texts) {
    assert.ok(!text.includes(CODE), `leaked the code: ${text}`);
    assert.ok(!text.includes(BODY), `leaked the body: ${text}`);
    for (const s of secrets) assert.ok(!text.includes(s), `leaked a secret: ${text}`);
  }
}

/** A header value as a single string (node gives string | string[] | undefined). */
export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** A parsed form/query as a plain object of first values, for exact comparisons. */
export function fieldsOf(fields: Map<string, string[]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of fields) {
    assert.equal(v.length, 1, `field ${k} was sent ${v.length} times`);
    out[k] = v[0] ?? '';
  }
  return out;
}

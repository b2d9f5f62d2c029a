/**
 * How a provider failure is classified. ONE table in src/dispatcher/outcome.ts decides what
 * the dispatcher does with each kind:
 *
 * - `transient`         network error, timeout, 5xx: retry the same provider with backoff, then fail over.
 * - `rate_limited`      429 / throttling: retry after `retryAfterMs` (or backoff), then fail over.
 * - `auth`              bad credentials or account problem (a configuration fault): fail over at once.
 * - `rejected`          the provider refused this message for a reason that another provider
 *                       may not share (sender not allowed, no balance, template mismatch): fail over at once.
 * - `invalid_recipient` the number cannot receive SMS (invalid, landline, unsubscribed): stop.
 * - `unknown`           an answer we cannot classify: treated like `transient`.
 */
export type ProviderErrorKind = 'transient' | 'rate_limited' | 'auth' | 'rejected' | 'invalid_recipient' | 'unknown';

export const providerErrorKinds: readonly ProviderErrorKind[] = [
  'transient',
  'rate_limited',
  'auth',
  'rejected',
  'invalid_recipient',
  'unknown',
];

/**
 * The only error an adapter's `send` rejects with. `message` is written for an operator and
 * must never contain the message body, a code or a credential.
 */
export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  /** The provider's own error code, as a string (`"20003"`, `"2"`, `"A402"`), when it gave one. */
  readonly providerCode: string | undefined;
  /** HTTP status of the provider's answer, when there was one. */
  readonly httpStatus: number | undefined;
  /** From `Retry-After` (or the provider's equivalent), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: ProviderErrorKind,
    message: string,
    options: { providerCode?: string | number; httpStatus?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ProviderError';
    this.kind = kind;
    this.providerCode = options.providerCode === undefined ? undefined : String(options.providerCode);
    this.httpStatus = options.httpStatus;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isProviderError(err: unknown): err is ProviderError {
  return err instanceof ProviderError;
}

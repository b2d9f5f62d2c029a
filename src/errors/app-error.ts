import { errorCatalog, type ErrorCode } from './codes.js';

/** One field-level problem, reported in the `issues` member of a problem document. */
export interface FieldIssue {
  /** JSON path of the offending field, e.g. `settings.otp_length`. Empty for the whole body. */
  path: string;
  message: string;
}

/**
 * The only error the application throws on purpose. The HTTP layer turns it into an
 * RFC 9457 problem document; `extra` members (e.g. `attempts_remaining`) are copied into it.
 * `detail` must never contain a code, a secret or an API key.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly issues: FieldIssue[] | undefined;
  readonly extra: Record<string, unknown> | undefined;
  /** Seconds, sent as `Retry-After` (with 429 and 503). */
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { issues?: FieldIssue[]; extra?: Record<string, unknown>; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(detail ?? errorCatalog[code].title, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorCatalog[code].status;
    this.detail = detail;
    this.issues = options.issues;
    this.extra = options.extra;
    this.retryAfter = options.retryAfter;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

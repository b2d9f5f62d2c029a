/**
 * Errors of the Twilio Verify v2–compatible API (`/v2/…`, docs/twilio-verify.md). They answer
 * in Twilio's body `{code, message, more_info, status}` with Twilio's numeric codes, not as
 * problem documents: the official SDKs read exactly these fields.
 * @see https://www.twilio.com/docs/api/errors
 */

/** Every Twilio code this API answers, with its HTTP status. */
export const twilioErrorCatalog = {
  /** Credentials missing or wrong. */
  20003: 401,
  /** The API key lacks the `otp` scope (docs/api-keys.md). */
  20403: 403,
  /** Method not allowed on a resource. */
  20004: 405,
  /** No such resource (also: a verification that has ended, as Twilio answers). */
  20404: 404,
  /** Too many requests (the tenant's SMS budget is used up). */
  20429: 429,
  20500: 500,
  20503: 503,
  /** Invalid parameter (also: a parameter otpgate does not support). */
  60200: 400,
  /** Max check attempts reached. */
  60202: 429,
  /** Max send attempts reached (the hourly caps). */
  60203: 429,
  /** Too many concurrent requests for the phone (the resend cooldown). */
  60212: 429,
  /** Delivery channel disabled (every channel but sms). */
  60223: 400,
  /** Blocked by the fraud guard. */
  60410: 403,
  /** Delivery to this country is not allowed (the tenant's allowed countries). */
  60605: 403,
} as const;

export type TwilioErrorCode = keyof typeof twilioErrorCatalog;

export class TwilioError extends Error {
  readonly code: TwilioErrorCode;
  readonly status: number;
  /** Seconds, for `Retry-After` (otpgate's own addition; Twilio sends none). */
  readonly retryAfter: number | undefined;

  constructor(code: TwilioErrorCode, message: string, retryAfter?: number) {
    super(message);
    this.name = 'TwilioError';
    this.code = code;
    this.status = twilioErrorCatalog[code];
    this.retryAfter = retryAfter;
  }

  body(): { code: number; message: string; more_info: string; status: number } {
    return { code: this.code, message: this.message, more_info: `https://www.twilio.com/docs/errors/${this.code}`, status: this.status };
  }
}

export function isTwilioError(err: unknown): err is TwilioError {
  return err instanceof TwilioError;
}

/** Twilio's answer to a parameter it cannot use. */
export function invalidParameter(name: string, why?: string): TwilioError {
  return new TwilioError(60200, why ? `Invalid parameter \`${name}\`: ${why}` : `Invalid parameter \`${name}\``);
}

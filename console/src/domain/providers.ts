/**
 * Provider kinds as the console uses them: which ones send delivery receipts (the `receipts`
 * flag of `GET /v1/provider-kinds`, set from the server's adapters; for `Default`, from the
 * operator's platform provider), and what each error kind means for an operator
 * (src/providers/provider-error.ts).
 */

/** The kinds whose messages can get a delivery receipt, from `GET /v1/provider-kinds`. */
export function receiptKindsOf(kinds: ReadonlyArray<{ id: string; receipts?: boolean }>): ReadonlySet<string> {
  return new Set(kinds.filter((k) => k.receipts === true).map((k) => k.id));
}

/** Whether messages sent through `kind` can get a delivery receipt (`sent` is then not yet final). */
export function sendsReceipts(kind: string | null | undefined, receiptKinds: ReadonlySet<string>): boolean {
  return !!kind && receiptKinds.has(kind);
}

/** The error kinds of a failed provider call, explained: what it means, and what happens next to a passcode (`A passcode …`). */
export const errorKindText: Record<string, { meaning: string; next: string }> = {
  transient: {
    meaning: 'The provider could not be reached or had a temporary fault (network error, timeout, HTTP 5xx).',
    next: 'is retried with backoff on the same provider, then sent through the fallback.',
  },
  rate_limited: {
    meaning: 'The provider is throttling this account (HTTP 429 or its own rate-limit code).',
    next: 'is retried after the provider’s Retry-After, then sent through the fallback.',
  },
  auth: {
    meaning: 'The provider refused the credentials or the account (a configuration fault): check the API key, token or endpoint in SMS provider.',
    next: 'goes to the fallback provider at once.',
  },
  rejected: {
    meaning: 'The provider refused this message (sender not allowed, no balance, a malformed request…); another provider may accept it.',
    next: 'goes to the fallback provider at once.',
  },
  invalid_recipient: {
    meaning: 'The number cannot receive SMS (invalid, a landline, unsubscribed).',
    next: 'fails: no other provider is tried.',
  },
  unknown: {
    meaning: 'The provider gave an answer otpgate cannot classify.',
    next: 'is retried like a temporary fault, then sent through the fallback.',
  },
  delivery: {
    meaning: 'The provider accepted the message, then its delivery receipt reported it was not delivered.',
    next: 'is not tried again.',
  },
};

/**
 * Splits an error message into its sentence and a raw answer quoted in it (the custom gateway
 * writes `the gateway answered HTTP 400: "{…json…}"`), so the raw part can be shown as code.
 */
export function splitRawAnswer(message: string): { text: string; raw: string | null } {
  // `…: "{…}"` (quoted, possibly cut short with an ellipsis by the server) or `…: {…}`.
  const m = /^(.*?):\s*"([[{][\s\S]*)"\s*$/.exec(message) ?? /^(.*?):\s*([[{][\s\S]*)$/.exec(message);
  if (!m) return { text: message, raw: null };
  const raw = m[2] ?? '';
  let pretty = raw;
  try {
    pretty = JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    // Not complete JSON (the server cuts long answers): show it as it came.
  }
  return { text: m[1] ?? message, raw: pretty };
}

import type { ProviderErrorKind } from '../providers/provider-error.js';

/**
 * THE table: what the dispatcher does after a failed attempt, by error kind.
 * - `retry`    try the same provider again after backoff (or the provider's Retry-After),
 *              at most `maxAttemptsPerProvider` times, then fail over;
 * - `failover` move to the next provider in the chain at once;
 * - `stop`     the message cannot be delivered by anyone: it fails.
 * Whatever the action, no attempt is made after the message's expiry (the code's TTL).
 */
export type FailureAction = 'retry' | 'failover' | 'stop';

export const failureActions: Readonly<Record<ProviderErrorKind, FailureAction>> = Object.freeze({
  transient: 'retry',
  rate_limited: 'retry',
  unknown: 'retry',
  auth: 'failover',
  rejected: 'failover',
  invalid_recipient: 'stop',
});

/** Attempts on one provider before a retryable failure fails over to the next. */
export const maxAttemptsPerProvider = 3;

export type Decision =
  | { action: 'retry'; delayMs: number }
  | { action: 'failover' }
  | { action: 'stop'; reason: 'invalid_recipient' | 'exhausted' | 'expired' };

/**
 * Decides the next step for a message after a failed attempt on chain entry `chainIndex`.
 * `chainAttempts` counts attempts on that entry including the failed one.
 */
export function decide(input: {
  kind: ProviderErrorKind;
  chainAttempts: number;
  chainIndex: number;
  chainLength: number;
  retryAfterMs?: number;
  backoffMs: number;
  now: number;
  expiresAt: number;
}): Decision {
  const action = failureActions[input.kind];
  if (action === 'stop') return { action: 'stop', reason: 'invalid_recipient' };
  const hasNext = input.chainIndex + 1 < input.chainLength;
  if (action === 'retry' && input.chainAttempts < maxAttemptsPerProvider) {
    const delayMs = Math.max(input.backoffMs, input.retryAfterMs ?? 0);
    if (input.now + delayMs < input.expiresAt) return { action: 'retry', delayMs };
    // Retrying this provider would land past the expiry: try the next one now, if any.
  }
  if (hasNext) return { action: 'failover' };
  if (action === 'retry' && input.chainAttempts < maxAttemptsPerProvider) return { action: 'stop', reason: 'expired' };
  return { action: 'stop', reason: 'exhausted' };
}

/**
 * Retry timing for outbound deliveries: capped exponential backoff with "full jitter".
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay, in ms; each further attempt doubles it. */
  baseMs: number;
  /** Largest ceiling, in ms. */
  capMs: number;
  /** Attempts in all, counting the first; the caller stops after this many (and never past the code's expiry). */
  maxAttempts: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 500, capMs: 30_000, maxAttempts: 8 };

/**
 * Delay in whole ms before retrying after failed attempt number `attempt` (counted from 1).
 *
 * Full jitter: uniform over [floor, ceiling] where ceiling = min(capMs, baseMs · 2^(attempt−1)).
 * Pure full jitter would start at 0, and a run of near-zero draws turns retries into a hot
 * loop against a failing provider; so the draw never goes below floor = min(baseMs, ceiling) / 2.
 *
 * @param random a source in [0, 1) (default Math.random); injected by tests. Values outside
 *               [0, 1] are clamped.
 * @throws RangeError when `attempt` is not an integer ≥ 1 or the policy has a negative or
 *         non-finite base or cap.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('attempt must be an integer counted from 1');
  const { baseMs, capMs } = policy;
  if (!Number.isFinite(baseMs) || baseMs < 0 || !Number.isFinite(capMs) || capMs < 0) {
    throw new RangeError('backoff base and cap must be finite and non-negative');
  }
  // 2^(attempt-1) reaches Infinity for huge attempts; min() with the cap keeps it finite.
  const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
  const floor = Math.min(baseMs, ceiling) / 2;
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(floor + r * (ceiling - floor));
}

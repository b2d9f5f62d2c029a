import type { Clock } from '../domain/clock.js';

/**
 * Skips a provider account that keeps failing, for a cool-down, so messages fail over at once
 * instead of waiting on timeouts. Shared by every tenant's messages in this process; not
 * shared across nodes (each node learns on its own within a few failures).
 *
 * Closed → (threshold consecutive failures) → open for `coolDownMs` → half-open: one probe
 * is let through; success closes, failure opens again. A probe that reports neither (the
 * provider refused the recipient, which says nothing about the account, or the process lost
 * the message) holds the half-open state only for `probeLeaseMs`: then another probe may go,
 * so an account is never skipped for ever.
 */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 5. */
  threshold: number;
  /** How long an open circuit skips the provider, ms. Default 30 000. */
  coolDownMs: number;
  /** How long a half-open probe without a verdict blocks the next one, ms. Default `coolDownMs`. */
  probeLeaseMs: number;
}

/** `probeUntil`: while half-open, the time until which the probe in flight blocks others (0 = none). */
type State = { failures: number; openUntil: number; probeUntil: number };

export function createCircuitBreaker(clock: Clock, options: Partial<CircuitBreakerOptions> = {}) {
  const threshold = options.threshold ?? 5;
  const coolDownMs = options.coolDownMs ?? 30_000;
  const probeLeaseMs = options.probeLeaseMs ?? coolDownMs;
  const states = new Map<string, State>();

  return {
    /** True when a call to this provider may go ahead now. */
    allow(key: string): boolean {
      const s = states.get(key);
      if (!s || s.failures < threshold) return true;
      const now = clock.now();
      if (now < s.openUntil) return false;
      if (now < s.probeUntil) return false;
      s.probeUntil = now + probeLeaseMs;
      return true;
    },
    success(key: string): void {
      states.delete(key);
    },
    failure(key: string): void {
      const s = states.get(key) ?? { failures: 0, openUntil: 0, probeUntil: 0 };
      s.failures += 1;
      s.probeUntil = 0;
      if (s.failures >= threshold) s.openUntil = clock.now() + coolDownMs;
      states.set(key, s);
    },
    isOpen(key: string): boolean {
      const s = states.get(key);
      return !!s && s.failures >= threshold && clock.now() < s.openUntil;
    },
  };
}

export type CircuitBreaker = ReturnType<typeof createCircuitBreaker>;

import type { BudgetSettings } from './settings.js';

/**
 * Budgets per tenant: messages and spend per UTC day and per UTC month. Spend is counted in
 * millionths of the price unit, as integers, so that sums never drift.
 */
export type BudgetPeriod = 'day' | 'month';

export const MICROS = 1_000_000;

export function toMicros(amount: number): number {
  return Math.round(amount * MICROS);
}

/** The UTC day or month `at` falls in: its start and end, ms. */
export function periodBounds(period: BudgetPeriod, at: number): { start: number; end: number } {
  const d = new Date(at);
  if (period === 'day') {
    const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
    return { start, end: start + 86_400_000 };
  }
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

export interface BudgetUse {
  messages: number;
  spendMicros: number;
}

export interface BudgetLimitHit {
  budget: 'daily_messages' | 'monthly_messages' | 'daily_spend' | 'monthly_spend';
  limit: number;
  used: number;
}

/** The limits of one period: messages, and spend in micros. */
export function limitsOf(b: BudgetSettings, period: BudgetPeriod): { messages?: number; spendMicros?: number } {
  const messages = period === 'day' ? b.daily_messages : b.monthly_messages;
  const spend = period === 'day' ? b.daily_spend : b.monthly_spend;
  return { ...(messages !== undefined ? { messages } : {}), ...(spend !== undefined ? { spendMicros: toMicros(spend) } : {}) };
}

/**
 * Whether adding `add` to `used` stays within the period's limits; the first limit it would
 * pass otherwise.
 */
export function exceeds(b: BudgetSettings, period: BudgetPeriod, used: BudgetUse, add: BudgetUse): BudgetLimitHit | null {
  const l = limitsOf(b, period);
  if (l.messages !== undefined && used.messages + add.messages > l.messages) {
    return { budget: period === 'day' ? 'daily_messages' : 'monthly_messages', limit: l.messages, used: used.messages };
  }
  if (l.spendMicros !== undefined && used.spendMicros + add.spendMicros > l.spendMicros) {
    return { budget: period === 'day' ? 'daily_spend' : 'monthly_spend', limit: l.spendMicros / MICROS, used: used.spendMicros / MICROS };
  }
  return null;
}

/** The budgets whose 80 % mark `after` reaches and `before` did not. */
export function crossedWarning(b: BudgetSettings, period: BudgetPeriod, before: BudgetUse, after: BudgetUse): BudgetLimitHit['budget'][] {
  const l = limitsOf(b, period);
  const out: BudgetLimitHit['budget'][] = [];
  if (l.messages !== undefined && before.messages < 0.8 * l.messages && after.messages >= 0.8 * l.messages) {
    out.push(period === 'day' ? 'daily_messages' : 'monthly_messages');
  }
  if (l.spendMicros !== undefined && before.spendMicros < 0.8 * l.spendMicros && after.spendMicros >= 0.8 * l.spendMicros) {
    out.push(period === 'day' ? 'daily_spend' : 'monthly_spend');
  }
  return out;
}

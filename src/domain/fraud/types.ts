/**
 * What the fraud guard's rules decide. Each rule is a pure function over counters the guard
 * read from the store; it answers null (allow) or a `Trip`: the rule, the key it blocks and
 * the figures that decided it, so that every block can be explained.
 */

export type RuleName =
  | 'number_type'
  | 'country_policy'
  | 'country_day'
  | 'country_hour'
  | 'prefix_hour'
  | 'prefix_day'
  | 'prefix_velocity'
  | 'number_day'
  | 'ip_countries'
  | 'ip_day';

export const ruleNames: readonly RuleName[] = [
  'number_type',
  'country_policy',
  'country_day',
  'country_hour',
  'prefix_hour',
  'prefix_day',
  'prefix_velocity',
  'number_day',
  'ip_countries',
  'ip_day',
];

/** What a block applies to. `number_type` only appears in record_only decisions of the type gate. */
export type BlockKind = 'country' | 'prefix' | 'number' | 'ip' | 'number_type';

export interface Trip {
  rule: RuleName;
  kind: BlockKind;
  key: string;
  /** One line a person reads, e.g. `unverified 21 > max(20, 0.3 × 41 = 12.3, 0.3 × 12 = 3.6)`. */
  reason: string;
  /** The numbers behind `reason`, by name. */
  figures: Record<string, number>;
}

/** Sent and verified codes in a window (verified counted by the send's time). */
export interface Conversion {
  sent: number;
  verified: number;
}

/** Codes sent in the window that were not (yet) verified; never negative. */
export function unverified(c: Conversion): number {
  return Math.max(0, c.sent - c.verified);
}

/** A number for a reason line: integers as they are, others to at most 2 decimals. */
export function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 100) / 100);
}

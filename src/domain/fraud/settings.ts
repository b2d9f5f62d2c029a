import { z } from 'zod';

/**
 * The fraud guard's tenant settings (DESIGN.md "Fraud guard"): `fraud_guard`, `budget` and
 * `sms_prices`. Every key is optional when stored; `resolveFraudGuard` fills the defaults.
 * docs/fraud-guard.md explains each rule and how the defaults were chosen.
 */

/** libphonenumber-js number types, in snake case. */
export const numberTypes = [
  'premium_rate',
  'shared_cost',
  'toll_free',
  'uan',
  'pager',
  'voicemail',
  'personal_number',
  'voip',
  'fixed_line',
  'mobile',
  'fixed_line_or_mobile',
] as const;
export type NumberType = (typeof numberTypes)[number];

export const defaultBlockedNumberTypes: readonly NumberType[] = Object.freeze([
  'premium_rate',
  'shared_cost',
  'toll_free',
  'uan',
  'pager',
  'voicemail',
  'personal_number',
]);

/** A tripwire with a floor and a ratio: it fires when the unverified count passes max(floor, ratio × baseline). */
export interface FloorRatio {
  floor: number;
  ratio: number;
}

/**
 * Thresholds of every tripwire. Windows are sliding (hour buckets, the oldest one weighted by
 * how much of it is still inside the window).
 */
export interface FraudThresholds {
  /** Unverified codes to a country in 24 h vs max(floor, ratio × its best verified day in 14 days, ratio × verified in 24 h). */
  country_day: FloorRatio;
  /** Unverified codes to a country in 1 h vs max(floor, ratio × max(best verified day in 14 days, verified in 24 h) ÷ 6). */
  country_hour: FloorRatio;
  /** Unverified codes to one prefix in 1 h vs max(floor, ratio × verified to it in 24 h). */
  prefix_hour: FloorRatio;
  /** Unverified codes to one prefix in 24 h vs max(floor, ratio × verified to it in 24 h). */
  prefix_day: FloorRatio;
  /** A send's number and `numbers` − 1 other distinct numbers of its prefix, all within `span` of each other, in `window_minutes`. */
  prefix_velocity: { numbers: number; span: number; window_minutes: number };
  /** Distinct destination countries from one client IP in 24 h above `max`. */
  ip_countries: { max: number };
  /** Unverified codes from one client IP in 24 h vs max(floor, ratio × its verified codes in 24 h). */
  ip_day: FloorRatio;
  /** Codes to one number (resends included) since its last verified one, within 24 h, above `max`. */
  number_day: { max: number };
}

/**
 * Chosen by the simulation (bench/fraud-sim.ts; docs/fraud-guard.md "Simulation" has the runs
 * behind each value). In short: ratios above 1 keep a country where half the codes are verified
 * open; a day floor of 2 holds a trickle to countries without users, and ratio 3 lets a new
 * country's first verified code lift it; the hour rule is a backstop for busy countries (a
 * floor of 15 rides out a campaign hour); the prefix rules do most of the work.
 */
export const defaultThresholds: Readonly<FraudThresholds> = Object.freeze({
  country_day: { floor: 2, ratio: 3 },
  country_hour: { floor: 15, ratio: 1 },
  prefix_hour: { floor: 3, ratio: 0.5 },
  prefix_day: { floor: 3, ratio: 1 },
  prefix_velocity: { numbers: 4, span: 20, window_minutes: 10 },
  ip_countries: { max: 10 },
  ip_day: { floor: 30, ratio: 2 },
  number_day: { max: 10 },
});

export type FraudMode = 'enforce' | 'record_only' | 'off';

export interface FraudGuardSettings {
  mode: FraudMode;
  blocked_number_types: NumberType[];
  blocked_countries: string[];
  /** E.164 numbers or prefixes (`+` and digits): never blocked by a tripwire. */
  safe_list: string[];
  prefix_digits: number;
  block_minutes: number;
  thresholds: FraudThresholds;
}

export interface BudgetSettings {
  daily_messages?: number;
  monthly_messages?: number;
  daily_spend?: number;
  monthly_spend?: number;
}

/** Price of one segment per destination country, with a `default` for the rest. */
export type SmsPrices = Record<string, number>;

const country = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166-1 alpha-2 code such as US');
const floorRatio = (maxFloor: number) =>
  z.strictObject({
    floor: z.number().int().min(1).max(maxFloor),
    ratio: z.number().min(0).max(10),
  });

const thresholdsSchema = z.strictObject({
  country_day: floorRatio(1_000_000).partial(),
  country_hour: floorRatio(1_000_000).partial(),
  prefix_hour: floorRatio(100_000).partial(),
  prefix_day: floorRatio(1_000_000).partial(),
  prefix_velocity: z
    .strictObject({
      numbers: z.number().int().min(2).max(100),
      span: z.number().int().min(1).max(10_000),
      window_minutes: z.number().int().min(1).max(1440),
    })
    .partial(),
  ip_countries: z.strictObject({ max: z.number().int().min(1).max(250) }).partial(),
  ip_day: floorRatio(1_000_000).partial(),
  number_day: z.strictObject({ max: z.number().int().min(1).max(1000) }).partial(),
}).partial();

export const fraudGuardSchema = z.strictObject({
  mode: z.enum(['enforce', 'record_only', 'off']),
  blocked_number_types: z.array(z.enum(numberTypes)).max(numberTypes.length),
  blocked_countries: z.array(country).max(250),
  safe_list: z.array(z.string().regex(/^\+[1-9][0-9]{0,14}$/, 'must be an E.164 number or prefix: + and 1 to 15 digits')).max(1000),
  prefix_digits: z.number().int().min(2).max(5),
  block_minutes: z.number().int().min(1).max(720),
  thresholds: thresholdsSchema,
}).partial();

export const budgetSchema = z.strictObject({
  daily_messages: z.number().int().min(1).max(1_000_000_000),
  monthly_messages: z.number().int().min(1).max(1_000_000_000),
  daily_spend: z.number().positive().max(1_000_000_000),
  monthly_spend: z.number().positive().max(1_000_000_000),
}).partial();

export const smsPricesSchema = z
  .record(z.string().regex(/^([A-Z]{2}|default)$/, 'keys must be ISO 3166-1 alpha-2 codes or default'), z.number().min(0).max(100))
  .refine((r) => Object.keys(r).length <= 251, 'at most 251 prices');

export type FraudGuardPatch = z.infer<typeof fraudGuardSchema>;

export const defaultFraudGuard: Readonly<FraudGuardSettings> = Object.freeze({
  mode: 'enforce',
  blocked_number_types: [...defaultBlockedNumberTypes],
  blocked_countries: [],
  safe_list: [],
  // 10,000-number prefixes: a pumper's range is one key, not ten (docs/fraud-guard.md).
  prefix_digits: 4,
  block_minutes: 15,
  thresholds: defaultThresholds,
});

/** Stored (sparse) fraud-guard settings with every default filled in, thresholds merged per rule. */
export function resolveFraudGuard(stored: FraudGuardPatch | undefined): FraudGuardSettings {
  const s = stored ?? {};
  const t = s.thresholds ?? {};
  const d = defaultThresholds;
  return {
    mode: s.mode ?? defaultFraudGuard.mode,
    blocked_number_types: s.blocked_number_types ?? [...defaultBlockedNumberTypes],
    blocked_countries: s.blocked_countries ?? [],
    safe_list: s.safe_list ?? [],
    prefix_digits: s.prefix_digits ?? defaultFraudGuard.prefix_digits,
    block_minutes: s.block_minutes ?? defaultFraudGuard.block_minutes,
    thresholds: {
      country_day: { ...d.country_day, ...t.country_day },
      country_hour: { ...d.country_hour, ...t.country_hour },
      prefix_hour: { ...d.prefix_hour, ...t.prefix_hour },
      prefix_day: { ...d.prefix_day, ...t.prefix_day },
      prefix_velocity: { ...d.prefix_velocity, ...t.prefix_velocity },
      ip_countries: { ...d.ip_countries, ...t.ip_countries },
      ip_day: { ...d.ip_day, ...t.ip_day },
      number_day: { ...d.number_day, ...t.number_day },
    },
  };
}

/** Price of one segment to `country` (the `default` price, else 0). */
export function segmentPrice(prices: SmsPrices, country: string | undefined): number {
  return (country !== undefined ? prices[country] : undefined) ?? prices['default'] ?? 0;
}

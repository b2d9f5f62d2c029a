import { numberTypes, type BudgetSettings, type FraudGuardSettings, type FraudMode, type FraudThresholds, type NumberType, type SmsPrices } from '../api/types.js';
import { checkCountries, parseCountries } from './settings.js';

/**
 * The fraud guard's settings forms: the server's ranges and patterns (src/domain/fraud/settings.ts,
 * held to them by test/browser/console-fraud-guard.test.ts), what each rule means, and the
 * conversion between the stored settings and the form's text fields. Error keys are the
 * server's issue paths (`settings.fraud_guard.thresholds.prefix_hour.floor`), so a refusal
 * from the server lands on the same field as a check made here.
 */

export type Errors = Record<string, string>;

/** A number field: its range, and whether it must be whole. `exclusiveMin`: the minimum itself is refused (spend > 0). */
export interface NumberRule {
  min: number;
  max: number;
  integer: boolean;
  exclusiveMin?: boolean;
}

const fmtNum = (n: number) => n.toLocaleString('en');

/** The field's error, or null. Accepts what a person types: `12`, `0.3`, `1,000`. */
export function checkNumber(rule: NumberRule, raw: string): string | null {
  const t = raw.trim().replace(/,/g, '');
  if (t === '') return 'required';
  if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(t)) return rule.integer ? 'must be a whole number' : 'must be a number';
  const n = Number(t);
  if (rule.integer && !Number.isInteger(n)) return 'must be a whole number';
  const low = rule.exclusiveMin ? n <= rule.min : n < rule.min;
  if (low || n > rule.max) return rule.exclusiveMin ? `must be more than ${fmtNum(rule.min)} and at most ${fmtNum(rule.max)}` : `must be between ${fmtNum(rule.min)} and ${fmtNum(rule.max)}`;
  return null;
}

export function toNumber(raw: string): number {
  return Number(raw.trim().replace(/,/g, ''));
}

export const modes: readonly { value: FraudMode; label: string; help: string }[] = [
  { value: 'enforce', label: 'Enforce', help: 'Refuse the sends a rule blocks, and record each block.' },
  { value: 'record_only', label: 'Record only', help: 'The rules refuse nothing; each records what it would have blocked. Budgets still apply.' },
  { value: 'off', label: 'Off', help: 'No rule runs and nothing is counted. Budgets still apply.' },
];

export const numberTypeLabels: Record<NumberType, string> = {
  premium_rate: 'Premium rate',
  shared_cost: 'Shared cost',
  toll_free: 'Toll free',
  uan: 'UAN (universal access)',
  pager: 'Pager',
  voicemail: 'Voicemail',
  personal_number: 'Personal number',
  voip: 'VoIP',
  fixed_line: 'Fixed line',
  mobile: 'Mobile',
  fixed_line_or_mobile: 'Fixed line or mobile',
};
export { numberTypes };

/** The server's defaults (src/domain/fraud/settings.ts), shown as help. */
export const defaultBlockedNumberTypes: readonly NumberType[] = ['premium_rate', 'shared_cost', 'toll_free', 'uan', 'pager', 'voicemail', 'personal_number'];
export const defaultThresholds: FraudThresholds = {
  country_day: { floor: 2, ratio: 3 },
  country_hour: { floor: 15, ratio: 1 },
  prefix_hour: { floor: 3, ratio: 0.5 },
  prefix_day: { floor: 3, ratio: 1 },
  prefix_velocity: { numbers: 4, span: 20, window_minutes: 10 },
  ip_countries: { max: 10 },
  ip_day: { floor: 30, ratio: 2 },
  number_day: { max: 10 },
};

export const prefixDigitsRule: NumberRule = { min: 2, max: 5, integer: true };
export const blockMinutesRule: NumberRule = { min: 1, max: 720, integer: true };
export const SAFE_LIST_MAX = 1000;
export const safeEntryPattern = /^\+[1-9][0-9]{0,14}$/;

type RuleName = keyof FraudThresholds;

export interface ThresholdRule {
  rule: RuleName;
  title: string;
  /** What it counts and when it fires. */
  help: string;
  fields: readonly ({ key: string; label: string } & NumberRule)[];
}

const floor = (max: number) => ({ key: 'floor', label: 'Floor', min: 1, max, integer: true });
const ratio = { key: 'ratio', label: 'Ratio', min: 0, max: 10, integer: false };

export const thresholdRules: readonly ThresholdRule[] = [
  {
    rule: 'country_day',
    title: 'Country, 24 h',
    help: 'Blocks a country when its unverified codes in 24 h pass max(floor, ratio × its best verified day in 14 days, ratio × verified in 24 h).',
    fields: [floor(1_000_000), ratio],
  },
  {
    rule: 'country_hour',
    title: 'Country, 1 h',
    help: 'Blocks a country when its unverified codes in 1 h pass max(floor, ratio × the larger of those verified figures ÷ 6).',
    fields: [floor(1_000_000), ratio],
  },
  {
    rule: 'prefix_hour',
    title: 'Number range, 1 h',
    help: 'Blocks a prefix (the number less its last prefix digits) when its unverified codes in 1 h pass max(floor, ratio × verified to it in 24 h).',
    fields: [floor(100_000), ratio],
  },
  {
    rule: 'prefix_day',
    title: 'Number range, 24 h',
    help: 'Blocks a prefix when its unverified codes in 24 h pass max(floor, ratio × verified to it in 24 h).',
    fields: [floor(1_000_000), ratio],
  },
  {
    rule: 'prefix_velocity',
    title: 'Near-consecutive numbers',
    help: 'Blocks a prefix when a number sent to and others of its prefix, this many distinct numbers in all, lie within the span of each other and got codes within the window.',
    fields: [
      { key: 'numbers', label: 'Numbers', min: 2, max: 100, integer: true },
      { key: 'span', label: 'Span', min: 1, max: 10_000, integer: true },
      { key: 'window_minutes', label: 'Window (min)', min: 1, max: 1440, integer: true },
    ],
  },
  {
    rule: 'ip_countries',
    title: 'Countries per client IP',
    help: 'Blocks a client IP that sends codes to more than this many countries in 24 h (only when the caller passes client_ip).',
    fields: [{ key: 'max', label: 'Most countries', min: 1, max: 250, integer: true }],
  },
  {
    rule: 'ip_day',
    title: 'Client IP, 24 h',
    help: 'Blocks a client IP when its unverified codes in 24 h pass max(floor, ratio × its verified codes in 24 h).',
    fields: [floor(1_000_000), ratio],
  },
  {
    rule: 'number_day',
    title: 'One number, 24 h',
    help: 'Blocks a phone number that was sent more than this many codes (resends included) since it last verified one, within 24 h.',
    fields: [{ key: 'max', label: 'Most codes', min: 1, max: 1000, integer: true }],
  },
];

export const ruleLabels: Record<string, string> = {
  number_type: 'Number type',
  country_policy: 'Blocked country',
  ...Object.fromEntries(thresholdRules.map((r) => [r.rule, r.title])),
};

export const kindLabels: Record<string, string> = { country: 'Country', prefix: 'Prefix', number: 'Phone number', ip: 'Client IP', number_type: 'Number type' };

// --- the guard's form ----------------------------------------------------------------------

export interface GuardForm {
  mode: FraudMode;
  blocked_number_types: NumberType[];
  blocked_countries: string;
  safe_list: string;
  prefix_digits: string;
  block_minutes: string;
  /** Text of each threshold field, by rule then field. */
  thresholds: Record<string, Record<string, string>>;
}

export function guardToForm(g: FraudGuardSettings): GuardForm {
  const thresholds: GuardForm['thresholds'] = {};
  for (const r of thresholdRules) {
    const values = g.thresholds[r.rule] as unknown as Record<string, number>;
    thresholds[r.rule] = Object.fromEntries(r.fields.map((f) => [f.key, String(values[f.key])]));
  }
  return {
    mode: g.mode,
    blocked_number_types: [...g.blocked_number_types],
    blocked_countries: g.blocked_countries.join(', '),
    safe_list: g.safe_list.join('\n'),
    prefix_digits: String(g.prefix_digits),
    block_minutes: String(g.block_minutes),
    thresholds,
  };
}

/** Entries one a line or separated by commas; spaces, dots, dashes and brackets inside a number are dropped. */
export function parseSafeList(raw: string): string[] {
  const out = raw
    .split(/[\n,;]+/)
    .map((s) => s.replace(/[\s().-]/g, ''))
    .filter((s) => s !== '');
  return [...new Set(out)];
}

export const G = 'settings.fraud_guard';

export function validateGuard(f: GuardForm): Errors {
  const e: Errors = {};
  const countries = parseCountries(f.blocked_countries);
  const c = checkCountries(countries);
  if (c) e[`${G}.blocked_countries`] = c;
  const safe = parseSafeList(f.safe_list);
  const bad = safe.filter((s) => !safeEntryPattern.test(s));
  if (bad.length > 0) e[`${G}.safe_list`] = `not E.164 numbers or prefixes (+ and 1 to 15 digits): ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}`;
  else if (safe.length > SAFE_LIST_MAX) e[`${G}.safe_list`] = `at most ${fmtNum(SAFE_LIST_MAX)} entries (there are ${fmtNum(safe.length)})`;
  const pd = checkNumber(prefixDigitsRule, f.prefix_digits);
  if (pd) e[`${G}.prefix_digits`] = pd;
  const bm = checkNumber(blockMinutesRule, f.block_minutes);
  if (bm) e[`${G}.block_minutes`] = bm;
  for (const r of thresholdRules) {
    for (const field of r.fields) {
      const msg = checkNumber(field, f.thresholds[r.rule]?.[field.key] ?? '');
      if (msg) e[`${G}.thresholds.${r.rule}.${field.key}`] = msg;
    }
  }
  return e;
}

/** The whole fraud_guard object from a valid form: the server replaces the stored one with it. */
export function guardPayload(f: GuardForm): FraudGuardSettings {
  const thresholds = {} as Record<string, Record<string, number>>;
  for (const r of thresholdRules) thresholds[r.rule] = Object.fromEntries(r.fields.map((field) => [field.key, toNumber(f.thresholds[r.rule]?.[field.key] ?? '')]));
  return {
    mode: f.mode,
    blocked_number_types: numberTypes.filter((t) => f.blocked_number_types.includes(t)),
    blocked_countries: [...new Set(parseCountries(f.blocked_countries))],
    safe_list: parseSafeList(f.safe_list),
    prefix_digits: toNumber(f.prefix_digits),
    block_minutes: toNumber(f.block_minutes),
    thresholds: thresholds as unknown as FraudThresholds,
  };
}

/**
 * The server's issues on the field that shows them: an entry of a list (`safe_list.3`) on
 * its list, anything else on its own path.
 */
export function guardIssues(issues: Errors, payload: FraudGuardSettings | null): Errors {
  const out: Errors = {};
  for (const [path, message] of Object.entries(issues)) {
    const m = /^settings\.fraud_guard\.(safe_list|blocked_countries|blocked_number_types)\.(\d+)$/.exec(path);
    if (m) {
      const list = m[1] as 'safe_list' | 'blocked_countries' | 'blocked_number_types';
      const entry = payload?.[list][Number(m[2])];
      const key = `${G}.${list}`;
      const text = `${entry !== undefined ? `“${entry}”: ` : ''}${message}`;
      out[key] = out[key] ? `${out[key]}; ${text}` : text;
    } else out[path] = out[path] ? `${out[path]}; ${message}` : message;
  }
  return out;
}

// --- budgets and prices --------------------------------------------------------------------

export const budgetRules: readonly ({ key: keyof BudgetSettings; label: string; help: string } & NumberRule)[] = [
  { key: 'daily_messages', label: 'Messages per day', help: 'Messages sent per UTC day.', min: 1, max: 1_000_000_000, integer: true },
  { key: 'monthly_messages', label: 'Messages per month', help: 'Messages sent per UTC calendar month.', min: 1, max: 1_000_000_000, integer: true },
  { key: 'daily_spend', label: 'Spend per day', help: 'Segments × SMS prices per UTC day.', min: 0, max: 1_000_000_000, integer: false, exclusiveMin: true },
  { key: 'monthly_spend', label: 'Spend per month', help: 'Segments × SMS prices per UTC calendar month.', min: 0, max: 1_000_000_000, integer: false, exclusiveMin: true },
];
export const priceRule: NumberRule = { min: 0, max: 100, integer: false };
export const PRICES_MAX = 251;
export const priceKeyPattern = /^([A-Z]{2}|default)$/;

export interface BudgetForm {
  budget: Record<string, string>;
  default_price: string;
  prices: { country: string; price: string }[];
}

export function budgetToForm(budget: BudgetSettings, prices: SmsPrices): BudgetForm {
  return {
    budget: Object.fromEntries(budgetRules.map((r) => [r.key, budget[r.key] === undefined ? '' : String(budget[r.key])])),
    default_price: prices['default'] === undefined ? '' : String(prices['default']),
    prices: Object.entries(prices)
      .filter(([k]) => k !== 'default')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([country, price]) => ({ country, price: String(price) })),
  };
}

export function validateBudget(f: BudgetForm): Errors {
  const e: Errors = {};
  for (const r of budgetRules) {
    const raw = f.budget[r.key] ?? '';
    if (raw.trim() === '') continue; // no limit
    const msg = checkNumber(r, raw);
    if (msg) e[`settings.budget.${r.key}`] = msg;
  }
  if (f.default_price.trim() !== '') {
    const msg = checkNumber(priceRule, f.default_price);
    if (msg) e['settings.sms_prices.default'] = msg;
  }
  const seen = new Set<string>();
  f.prices.forEach((p, i) => {
    const c = p.country.trim().toUpperCase();
    if (c === '') e[`prices.${i}.country`] = 'required';
    else if (!/^[A-Z]{2}$/.test(c)) e[`prices.${i}.country`] = 'must be an ISO 3166-1 alpha-2 code such as GB';
    else if (seen.has(c)) e[`prices.${i}.country`] = `${c} is listed twice`;
    seen.add(c);
    const msg = checkNumber(priceRule, p.price);
    if (msg) e[`prices.${i}.price`] = msg;
  });
  if (f.prices.length + (f.default_price.trim() !== '' ? 1 : 0) > PRICES_MAX) e['settings.sms_prices'] = `at most ${PRICES_MAX} prices`;
  return e;
}

export function budgetPayload(f: BudgetForm): { budget: BudgetSettings; sms_prices: SmsPrices } {
  const budget: BudgetSettings = {};
  for (const r of budgetRules) {
    const raw = f.budget[r.key] ?? '';
    if (raw.trim() !== '') budget[r.key] = toNumber(raw);
  }
  const sms_prices: SmsPrices = {};
  if (f.default_price.trim() !== '') sms_prices['default'] = toNumber(f.default_price);
  for (const p of f.prices) sms_prices[p.country.trim().toUpperCase()] = toNumber(p.price);
  return { budget, sms_prices };
}

/** The server's issues on the price rows: `settings.sms_prices.GB` on the row of GB. */
export function budgetIssues(issues: Errors, f: BudgetForm): Errors {
  const out: Errors = {};
  for (const [path, message] of Object.entries(issues)) {
    const m = /^settings\.sms_prices\.(.+)$/.exec(path);
    const row = m && m[1] !== 'default' ? f.prices.findIndex((p) => p.country.trim().toUpperCase() === m[1]) : -1;
    if (row >= 0) out[`prices.${row}.price`] = message;
    else out[path] = message;
  }
  return out;
}

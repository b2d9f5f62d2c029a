import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  budgetSchema,
  defaultBlockedNumberTypes,
  defaultFraudGuard,
  defaultThresholds,
  fraudGuardSchema,
  resolveFraudGuard,
  smsPricesSchema,
} from '../../src/domain/fraud/settings.js';

/** The paths of the problems zod finds, dotted. */
function problems(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } } }, value: unknown): string[] {
  const r = schema.safeParse(value);
  return r.success ? [] : r.error!.issues.map((i) => i.path.map(String).join('.'));
}

describe('resolveFraudGuard', () => {
  test('nothing stored: every default', () => {
    const g = resolveFraudGuard(undefined);
    assert.equal(g.mode, 'enforce');
    assert.deepEqual(g.blocked_number_types, [...defaultBlockedNumberTypes]);
    assert.deepEqual(g.blocked_countries, []);
    assert.deepEqual(g.safe_list, []);
    assert.equal(g.prefix_digits, defaultFraudGuard.prefix_digits);
    assert.equal(g.block_minutes, defaultFraudGuard.block_minutes);
    assert.ok(g.prefix_digits >= 2 && g.prefix_digits <= 5);
    assert.deepEqual(g.thresholds, defaultThresholds);
  });

  test('thresholds merge per rule: one key of one rule changes only that key', () => {
    const g = resolveFraudGuard({ thresholds: { country_day: { floor: 55 }, prefix_velocity: { span: 3 } } });
    assert.deepEqual(g.thresholds.country_day, { floor: 55, ratio: defaultThresholds.country_day.ratio });
    assert.deepEqual(g.thresholds.prefix_velocity, { ...defaultThresholds.prefix_velocity, span: 3 });
    assert.deepEqual(g.thresholds.country_hour, defaultThresholds.country_hour);
    assert.deepEqual(g.thresholds.prefix_hour, defaultThresholds.prefix_hour);
    assert.deepEqual(g.thresholds.ip_countries, defaultThresholds.ip_countries);
    assert.deepEqual(g.thresholds.ip_day, defaultThresholds.ip_day);
  });

  test('a whole rule can be set; the defaults are not changed by resolving', () => {
    const before = JSON.stringify(defaultThresholds);
    const g = resolveFraudGuard({ thresholds: { ip_day: { floor: 2, ratio: 0 } } });
    g.thresholds.country_day.floor = 1;
    g.blocked_number_types.push('mobile');
    assert.deepEqual(g.thresholds.ip_day, { floor: 2, ratio: 0 });
    assert.equal(JSON.stringify(defaultThresholds), before);
    assert.ok(!resolveFraudGuard(undefined).blocked_number_types.includes('mobile'));
  });

  test('stored keys win over defaults; an empty list is kept empty', () => {
    const g = resolveFraudGuard({ mode: 'record_only', blocked_number_types: [], safe_list: ['+4474001'], prefix_digits: 5, block_minutes: 60, blocked_countries: ['RU'] });
    assert.equal(g.mode, 'record_only');
    assert.deepEqual(g.blocked_number_types, []);
    assert.deepEqual(g.safe_list, ['+4474001']);
    assert.equal(g.prefix_digits, 5);
    assert.equal(g.block_minutes, 60);
    assert.deepEqual(g.blocked_countries, ['RU']);
  });
});

describe('fraud_guard schema', () => {
  test('every key is optional; a full valid object passes', () => {
    assert.deepEqual(problems(fraudGuardSchema, {}), []);
    assert.deepEqual(
      problems(fraudGuardSchema, {
        mode: 'off',
        blocked_number_types: ['premium_rate', 'voip'],
        blocked_countries: ['RU', 'KP'],
        safe_list: ['+447400123456', '+4915'],
        prefix_digits: 2,
        block_minutes: 720,
        thresholds: {
          country_day: { floor: 1, ratio: 0 },
          country_hour: { floor: 1_000_000, ratio: 10 },
          prefix_hour: { floor: 100_000 },
          prefix_velocity: { numbers: 2, span: 1, window_minutes: 1440 },
          ip_countries: { max: 250 },
          ip_day: { ratio: 0.5 },
        },
      }),
      [],
    );
  });

  // Each value is one step outside its range (or of the wrong kind); each is refused with its path.
  const refused: Array<[string, unknown, string]> = [
    ['mode', { mode: 'sometimes' }, 'mode'],
    ['unknown key', { modes: 'off' }, ''],
    ['unknown number type', { blocked_number_types: ['premium'] }, 'blocked_number_types.0'],
    ['number type in capitals', { blocked_number_types: ['PREMIUM_RATE'] }, 'blocked_number_types.0'],
    ['country in lower case', { blocked_countries: ['gb'] }, 'blocked_countries.0'],
    ['three-letter country', { blocked_countries: ['GBR'] }, 'blocked_countries.0'],
    ['251 countries', { blocked_countries: Array.from({ length: 251 }, () => 'GB') }, 'blocked_countries'],
    ['safe-list entry without +', { safe_list: ['447400123456'] }, 'safe_list.0'],
    ['safe-list entry with a space', { safe_list: ['+44 7400'] }, 'safe_list.0'],
    ['safe-list entry +0', { safe_list: ['+0123'] }, 'safe_list.0'],
    ['safe-list entry of 16 digits', { safe_list: ['+1234567890123456'] }, 'safe_list.0'],
    ['safe-list entry bare +', { safe_list: ['+'] }, 'safe_list.0'],
    ['safe list of 1,001', { safe_list: Array.from({ length: 1001 }, (_, i) => `+4474001${String(i).padStart(5, '0')}`) }, 'safe_list'],
    ['prefix_digits 1', { prefix_digits: 1 }, 'prefix_digits'],
    ['prefix_digits 6', { prefix_digits: 6 }, 'prefix_digits'],
    ['prefix_digits 2.5', { prefix_digits: 2.5 }, 'prefix_digits'],
    ['block_minutes 0', { block_minutes: 0 }, 'block_minutes'],
    ['block_minutes 721', { block_minutes: 721 }, 'block_minutes'],
    ['unknown rule', { thresholds: { country_week: { floor: 1 } } }, 'thresholds'],
    ['unknown threshold key', { thresholds: { country_day: { flor: 1 } } }, 'thresholds.country_day'],
    ['floor 0', { thresholds: { country_day: { floor: 0 } } }, 'thresholds.country_day.floor'],
    ['floor 1,000,001', { thresholds: { country_hour: { floor: 1_000_001 } } }, 'thresholds.country_hour.floor'],
    ['prefix floor 100,001', { thresholds: { prefix_hour: { floor: 100_001 } } }, 'thresholds.prefix_hour.floor'],
    ['fractional floor', { thresholds: { ip_day: { floor: 2.5 } } }, 'thresholds.ip_day.floor'],
    ['ratio -0.1', { thresholds: { country_day: { ratio: -0.1 } } }, 'thresholds.country_day.ratio'],
    ['ratio 10.01', { thresholds: { ip_day: { ratio: 10.01 } } }, 'thresholds.ip_day.ratio'],
    ['ratio as text', { thresholds: { country_day: { ratio: '0.3' } } }, 'thresholds.country_day.ratio'],
    ['velocity numbers 1', { thresholds: { prefix_velocity: { numbers: 1 } } }, 'thresholds.prefix_velocity.numbers'],
    ['velocity numbers 101', { thresholds: { prefix_velocity: { numbers: 101 } } }, 'thresholds.prefix_velocity.numbers'],
    ['velocity span 0', { thresholds: { prefix_velocity: { span: 0 } } }, 'thresholds.prefix_velocity.span'],
    ['velocity span 10,001', { thresholds: { prefix_velocity: { span: 10_001 } } }, 'thresholds.prefix_velocity.span'],
    ['velocity window 0', { thresholds: { prefix_velocity: { window_minutes: 0 } } }, 'thresholds.prefix_velocity.window_minutes'],
    ['velocity window 1,441', { thresholds: { prefix_velocity: { window_minutes: 1441 } } }, 'thresholds.prefix_velocity.window_minutes'],
    ['ip countries 0', { thresholds: { ip_countries: { max: 0 } } }, 'thresholds.ip_countries.max'],
    ['ip countries 251', { thresholds: { ip_countries: { max: 251 } } }, 'thresholds.ip_countries.max'],
    ['thresholds null', { thresholds: null }, 'thresholds'],
  ];
  for (const [name, value, path] of refused) {
    test(`refused: ${name}`, () => {
      const paths = problems(fraudGuardSchema, value);
      assert.ok(paths.length > 0, `${JSON.stringify(value).slice(0, 80)} was accepted`);
      assert.ok(paths.includes(path), `paths ${JSON.stringify(paths)} lack ${path}`);
    });
  }

  test('every problem is reported, each at its own path', () => {
    const paths = problems(fraudGuardSchema, { prefix_digits: 9, block_minutes: -1, thresholds: { ip_day: { floor: 0, ratio: 11 } } });
    assert.deepEqual(paths.sort(), ['block_minutes', 'prefix_digits', 'thresholds.ip_day.floor', 'thresholds.ip_day.ratio']);
  });
});

describe('budget and sms_prices schemas', () => {
  test('valid budgets and prices pass', () => {
    assert.deepEqual(problems(budgetSchema, { daily_messages: 1, monthly_messages: 1_000_000_000, daily_spend: 0.01, monthly_spend: 1_000_000_000 }), []);
    assert.deepEqual(problems(smsPricesSchema, { default: 0.05, GB: 0, US: 100 }), []);
    assert.deepEqual(problems(smsPricesSchema, {}), []);
  });

  const refused: Array<[string, unknown, unknown, string]> = [
    ['daily_messages 0', budgetSchema, { daily_messages: 0 }, 'daily_messages'],
    ['daily_messages 1.5', budgetSchema, { daily_messages: 1.5 }, 'daily_messages'],
    ['monthly_messages over 1e9', budgetSchema, { monthly_messages: 1_000_000_001 }, 'monthly_messages'],
    ['daily_spend 0', budgetSchema, { daily_spend: 0 }, 'daily_spend'],
    ['monthly_spend negative', budgetSchema, { monthly_spend: -5 }, 'monthly_spend'],
    ['monthly_spend over 1e9', budgetSchema, { monthly_spend: 1_000_000_001 }, 'monthly_spend'],
    ['unknown budget', budgetSchema, { weekly_messages: 5 }, ''],
    ['budget as text', budgetSchema, { daily_messages: '10' }, 'daily_messages'],
    ['negative price', smsPricesSchema, { GB: -0.01 }, 'GB'],
    ['price over 100', smsPricesSchema, { default: 100.5 }, 'default'],
    ['price as text', smsPricesSchema, { GB: '0.05' }, 'GB'],
    ['lower-case country', smsPricesSchema, { gb: 0.05 }, 'gb'],
    ['three-letter country', smsPricesSchema, { GBR: 0.05 }, 'GBR'],
    ['Default capitalised', smsPricesSchema, { Default: 0.05 }, 'Default'],
  ];
  for (const [name, schema, value, path] of refused) {
    test(`refused: ${name}`, () => {
      const paths = problems(schema as typeof budgetSchema, value);
      assert.ok(paths.length > 0, `${JSON.stringify(value)} was accepted`);
      assert.ok(paths.includes(path), `paths ${JSON.stringify(paths)} lack ${path}`);
    });
  }
});

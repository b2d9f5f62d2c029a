import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { accepted, codeFor, de, gb, guard, moved, refused, rowsOf, scrape, send } from './fraud-guard-support.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A template long enough for two GSM-7 segments (over 160 characters once the code is in). */
const TWO_SEGMENTS = `{{code}} is your code. ${'Never share this code with anyone, not even with our support team. '.repeat(3)}`;

interface StatsRow {
  sent: number;
  verified: number;
  conversion: number | null;
  segments: number;
  cost: number;
}
interface Stats {
  window: string;
  since: string;
  countries: Array<{ country: string } & StatsRow>;
  prefixes: Array<{ prefix: string } & StatsRow>;
  budget: { limits: Record<string, number>; day: { messages: number; spend: number; start: string; end: string }; month: { messages: number; spend: number; start: string; end: string } };
}

async function stats(t: TestApp, auth: string, window?: string): Promise<Stats> {
  const r = await t.call('GET', `/v1/fraud-guard/stats${window ? `?window=${window}` : ''}`, { auth });
  assert.equal(r.statusCode, 200, r.body);
  return r.json<Stats>();
}

async function auditOf(t: TestApp, auth: string, action: string): Promise<Array<{ actor: string; target: string; details: Record<string, unknown> }>> {
  const r = await t.call('GET', '/v1/audit-log?limit=100', { auth });
  assert.equal(r.statusCode, 200, r.body);
  return r.json<{ items: Array<{ action: string; actor: string; target: string; details: Record<string, unknown> }> }>().items.filter((a) => a.action === action);
}

/** Everything a refused send must leave as it was. */
async function footprint(t: TestApp, auth: string, tenantId: string) {
  const s = await stats(t, auth);
  return {
    challenges: await rowsOf(t, 'challenges', tenantId),
    messages: await rowsOf(t, 'messages', tenantId),
    usage: (await t.deps.store.db.selectFrom('fraud_budget_usage').selectAll().where('tenant_id', '=', tenantId).orderBy('period').execute()).map((r) => [r.period, Number(r.start), Number(r.messages), Number(r.spend_micros)]),
    counters: (await t.deps.store.db.selectFrom('fraud_counters').selectAll().where('tenant_id', '=', tenantId).orderBy('key').execute()).map((r) => [r.key, Number(r.sent), Number(r.segments), Number(r.cost_micros)]),
    budget: [s.budget.day, s.budget.month],
  };
}

for (const dialect of await testDialects()) {
  describe(`fraud guard: budgets and stats (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 7, 10, 12));
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    test('a daily message budget refuses at the limit until UTC midnight, changing nothing, then resets', async () => {
      clock.set(Date.UTC(2026, 7, 10, 12));
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard(), budget: { daily_messages: 3 } });
      const m0 = await scrape(t);
      for (let i = 0; i < 3; i++) await accepted(t, auth, gb(i));
      const before = await footprint(t, auth, tenantId);
      const r = await send(t, auth, de(1));
      assert.equal(r.statusCode, 429, r.body);
      assert.equal(r.headers['retry-after'], String(12 * 3600), 'seconds to 00:00 UTC');
      const p = r.json();
      assert.equal(p.code, 'budget.exhausted');
      assert.deepEqual([p.budget, p.limit, p.resets_at], ['daily_messages', 3, '2026-08-11T00:00:00.000Z']);
      clock.advance(HOUR + 17_000);
      const later = await send(t, auth, gb(9, '999'));
      assert.equal(later.statusCode, 429);
      assert.equal(later.headers['retry-after'], String(11 * 3600 - 17));
      assert.deepEqual(await footprint(t, auth, tenantId), before, 'a refused send leaves no challenge, message, usage or counter');
      const m1 = await scrape(t);
      assert.deepEqual(moved(m0, m1, 'otpgate_budget_refusals_total'), { 'budget=daily_messages': 2 });
      assert.equal(moved(m0, m1, 'otpgate_otp_sends_total')['outcome=budget_exhausted'], 2);

      clock.set(Date.UTC(2026, 7, 10, 23, 59, 59, 999));
      await refused(t, auth, de(2), 429, 'budget.exhausted');
      clock.advance(1);
      await accepted(t, auth, de(2));
      const s = await stats(t, auth);
      assert.deepEqual([s.budget.day.messages, s.budget.day.start, s.budget.month.messages], [1, '2026-08-11T00:00:00.000Z', 4]);
    });

    test('event SMS count in the budgets and are refused by them like passcodes', async () => {
      clock.set(Date.UTC(2026, 7, 12, 12));
      const { auth } = await t.createTenant({ fraud_guard: guard(), budget: { daily_messages: 2 }, sms_prices: { default: 0.01, GB: 0.05 } });
      await accepted(t, auth, gb(1));
      const event = await t.call('POST', '/v1/messages', { auth, body: { to: gb(2), body: 'Your parcel arrives today.' } });
      assert.equal(event.statusCode, 202, event.body);
      const over = await t.call('POST', '/v1/messages', { auth, body: { to: gb(3), body: 'Your parcel arrives today.' } });
      assert.equal(over.statusCode, 429, over.body);
      assert.equal(over.json().code, 'budget.exhausted');
      await refused(t, auth, gb(4), 429, 'budget.exhausted');
      const s = await stats(t, auth);
      assert.deepEqual([s.budget.day.messages, s.budget.day.spend], [2, 0.1]);
      const events = (await t.call('GET', '/v1/messages?kind=event', { auth })).json().items as unknown[];
      assert.equal(events.length, 1, 'the refused event SMS was not queued');
    });

    test('a monthly budget refuses until the first of the next month', async () => {
      clock.set(Date.UTC(2026, 7, 30, 10));
      const { auth } = await t.createTenant({ fraud_guard: guard(), budget: { monthly_messages: 4, daily_messages: 100 } });
      await accepted(t, auth, gb(1));
      await accepted(t, auth, gb(2));
      clock.set(Date.UTC(2026, 7, 31, 20));
      await accepted(t, auth, gb(3));
      await accepted(t, auth, gb(4));
      const r = await send(t, auth, gb(5));
      assert.equal(r.statusCode, 429, r.body);
      assert.equal(r.headers['retry-after'], String(4 * 3600));
      assert.deepEqual([r.json().budget, r.json().resets_at], ['monthly_messages', '2026-09-01T00:00:00.000Z']);
      clock.set(Date.UTC(2026, 8, 1));
      await accepted(t, auth, gb(5));
    });

    test('spend budgets price each send by segments × sms_prices; a 2-segment message costs twice', async () => {
      clock.set(Date.UTC(2026, 8, 5, 9));
      const { auth } = await t.createTenant({ fraud_guard: guard(), budget: { daily_spend: 1 }, sms_prices: { default: 0.1, GB: 0.25 } });
      for (let i = 0; i < 3; i++) await accepted(t, auth, gb(i)); // 0.75
      await accepted(t, auth, de(1)); // 0.85
      const over = await refused(t, auth, gb(3), 429, 'budget.exhausted'); // 1.10
      assert.deepEqual([over.budget, over.limit], ['daily_spend', 1]);
      await accepted(t, auth, de(2)); // 0.95
      await refused(t, auth, de(3), 429, 'budget.exhausted'); // 1.05
      const s = await stats(t, auth);
      assert.deepEqual([s.budget.day.messages, s.budget.day.spend], [5, 0.95]);

      // Two segments at 0.25 cost 0.5: two such sends fill a budget of 1; a third is refused.
      const long = await t.createTenant({ fraud_guard: guard(), budget: { daily_spend: 1 }, sms_prices: { GB: 0.25 } });
      assert.equal((await t.call('PUT', '/v1/templates/login/en', { auth: long.auth, body: { body: TWO_SEGMENTS } })).statusCode, 200);
      const first = await accepted(t, long.auth, gb(1));
      assert.equal((await t.call('GET', `/v1/messages/${first.message_id}`, { auth: long.auth })).json().segments, 2);
      await accepted(t, long.auth, gb(2));
      await refused(t, long.auth, gb(3), 429, 'budget.exhausted');
      assert.deepEqual((await stats(t, long.auth)).budget.day.spend, 1);
    });

    test('crossing 80 % writes one audit entry and one metric per budget and period', async () => {
      clock.set(Date.UTC(2026, 8, 10, 8));
      const { auth } = await t.createTenant({ fraud_guard: guard(), budget: { daily_messages: 10, monthly_spend: 1 }, sms_prices: { default: 0.05 } });
      const m0 = await scrape(t);
      for (let i = 0; i < 10; i++) {
        await accepted(t, auth, gb(i));
        const entries = await auditOf(t, auth, 'budget.threshold');
        // The 8th message reaches 80 % of 10; the 16th would reach 80 % of the monthly spend (0.8).
        assert.equal(entries.length, i < 7 ? 0 : 1, `after ${i + 1} sends`);
      }
      await refused(t, auth, gb(10), 429, 'budget.exhausted');
      clock.set(Date.UTC(2026, 8, 11, 8));
      for (let i = 10; i < 16; i++) await accepted(t, auth, gb(i));
      const entries = await auditOf(t, auth, 'budget.threshold');
      assert.deepEqual(
        entries.map((e) => [e.actor, e.target, e.details]).sort(),
        [
          ['fraud_guard', 'daily_messages', { budget: 'daily_messages', percent: 80, period_start: '2026-09-10T00:00:00.000Z', period_end: '2026-09-11T00:00:00.000Z' }],
          ['fraud_guard', 'monthly_spend', { budget: 'monthly_spend', percent: 80, period_start: '2026-09-01T00:00:00.000Z', period_end: '2026-10-01T00:00:00.000Z' }],
        ].sort(),
      );
      assert.deepEqual(moved(m0, await scrape(t), 'otpgate_budget_threshold_total'), { 'budget=daily_messages': 1, 'budget=monthly_spend': 1 });
    });

    test('a send refused by one budget counts no crossing of another', async () => {
      clock.set(Date.UTC(2026, 8, 15, 8));
      // The 4th message would reach 80 % of the daily 5, but the monthly 3 refuses it.
      const { auth } = await t.createTenant({ fraud_guard: guard(), budget: { daily_messages: 5, monthly_messages: 3 } });
      const m0 = await scrape(t);
      for (let i = 0; i < 3; i++) await accepted(t, auth, gb(i));
      for (let i = 3; i < 6; i++) assert.equal((await refused(t, auth, gb(i), 429, 'budget.exhausted')).budget, 'monthly_messages');
      assert.deepEqual((await auditOf(t, auth, 'budget.threshold')).map((e) => e.target), ['monthly_messages']);
      assert.deepEqual(moved(m0, await scrape(t), 'otpgate_budget_threshold_total'), { 'budget=monthly_messages': 1 });
    });

    test('budgets apply whatever the mode', async () => {
      clock.set(Date.UTC(2026, 8, 16, 8));
      for (const mode of ['off', 'record_only'] as const) {
        const { auth } = await t.createTenant({ fraud_guard: { mode }, budget: { daily_messages: 2 } });
        await accepted(t, auth, gb(1));
        await accepted(t, auth, gb(2));
        await refused(t, auth, gb(3), 429, 'budget.exhausted');
      }
    });

    test('stats per country and prefix: sent, verified, conversion, segments, cost; a resend adds cost, not a code', async () => {
      clock.set(Date.UTC(2026, 8, 20, 12, 40));
      const { auth } = await t.createTenant({ fraud_guard: guard(), sms_prices: { default: 0.02, GB: 0.04 } });
      assert.equal((await t.call('PUT', '/v1/templates/signup/en', { auth, body: { body: TWO_SEGMENTS } })).statusCode, 200);
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await accepted(t, auth, gb(i)));
      for (const [i, s] of ids.slice(0, 2).entries()) {
        const code = await codeFor(t, auth, gb(i));
        assert.equal((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } })).statusCode, 200);
      }
      await accepted(t, auth, gb(500, '999'), { purpose: 'signup' });
      await accepted(t, auth, de(1));
      await accepted(t, auth, de(2));
      clock.advance(31_000);
      await accepted(t, auth, de(2)); // a resend of a code still valid

      const expected = {
        countries: [
          { country: 'GB', sent: 4, verified: 2, conversion: 0.5, segments: 5, cost: 0.2 },
          { country: 'DE', sent: 2, verified: 0, conversion: 0, segments: 3, cost: 0.06 },
        ],
        prefixes: [
          { prefix: '+447400123', sent: 3, verified: 2, conversion: 0.667, segments: 3, cost: 0.12 },
          { prefix: '+4915112345', sent: 2, verified: 0, conversion: 0, segments: 3, cost: 0.06 },
          { prefix: '+447400999', sent: 1, verified: 0, conversion: 0, segments: 2, cost: 0.08 },
        ],
      };
      const now = await stats(t, auth, '24h');
      assert.equal(now.window, '24h');
      assert.deepEqual({ countries: now.countries, prefixes: now.prefixes }, expected);
      assert.deepEqual((await stats(t, auth)).countries, expected.countries, '24h is the default window');

      // 23 h 30 min later the sends are still within the last 24 hours.
      clock.set(Date.UTC(2026, 8, 21, 12, 10));
      const late = await stats(t, auth, '24h');
      assert.deepEqual({ countries: late.countries, prefixes: late.prefixes }, expected);
      assert.ok(Date.parse(late.since) <= Date.UTC(2026, 8, 20, 12, 10), `since ${late.since}`);

      // Two days later: out of the 24 h window, in the 7 d and 30 d ones.
      clock.set(Date.UTC(2026, 8, 22, 13));
      const day = await stats(t, auth, '24h');
      assert.deepEqual([day.countries, day.prefixes], [[], []]);
      for (const window of ['7d', '30d']) assert.deepEqual((await stats(t, auth, window)).countries, expected.countries, window);
      clock.set(Date.UTC(2026, 8, 28, 13));
      assert.deepEqual((await stats(t, auth, '7d')).countries, []);
      assert.deepEqual((await stats(t, auth, '30d')).countries, expected.countries);
    });
  });
}

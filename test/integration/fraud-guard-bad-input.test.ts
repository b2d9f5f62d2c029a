import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { adminAuth, createTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { accepted, codeFor, gb, guard, refused } from './fraud-guard-support.js';

/** Every row of every table (kysely's own aside), each table's rows as sorted text. */
async function snapshot(t: TestApp): Promise<Map<string, string[]>> {
  const tables = (await t.deps.store.db.introspection.getTables()).map((x) => x.name).filter((n) => !n.startsWith('kysely_')).sort();
  const out = new Map<string, string[]>();
  for (const table of tables) {
    const rows = (await t.deps.store.db.selectFrom(table as 'tenants').selectAll().execute()) as Record<string, unknown>[];
    out.set(table, rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]]))).sort());
  }
  return out;
}

function differences(a: Map<string, string[]>, b: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const table of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(table) ?? [];
    const y = b.get(table) ?? [];
    if (x.length !== y.length || x.some((r, i) => r !== y[i])) out.push(`${table} (${x.length} → ${y.length} rows)`);
  }
  return out;
}

type Issue = { path: string; message: string };

for (const dialect of await testDialects()) {
  describe(`fraud guard: bad input is refused and changes nothing (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 9, 5, 12));
    let t: TestApp;
    let own: { auth: string; tenantId: string; apiKey: string };
    let other: { auth: string; tenantId: string };
    let otherBlock: string;
    let otherMessage: string;
    before(async () => {
      t = await createTestApp({ dialect, clock });
      own = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 1, ratio: 0 } }), budget: { daily_messages: 100 }, sms_prices: { default: 0.05 } });
      other = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 1, ratio: 0 } }) });
      // Each tenant has a block, counters, budget use and a message.
      await accepted(t, own.auth, gb(1));
      await refused(t, own.auth, gb(2), 403, 'fraud.blocked');
      otherMessage = (await accepted(t, other.auth, gb(1))).message_id;
      otherBlock = (await refused(t, other.auth, gb(2), 403, 'fraud.blocked')).block_id!;
    });
    after(async () => t.close());

    // Each case: a settings patch and the path of every problem in it.
    const settingsCases: Array<[string, Record<string, unknown>, string[]]> = [
      ['mode', { fraud_guard: { mode: 'sometimes' } }, ['settings.fraud_guard.mode']],
      ['floor 0', { fraud_guard: { thresholds: { country_day: { floor: 0 } } } }, ['settings.fraud_guard.thresholds.country_day.floor']],
      ['ratio 11', { fraud_guard: { thresholds: { ip_day: { ratio: 11 } } } }, ['settings.fraud_guard.thresholds.ip_day.ratio']],
      ['negative ratio', { fraud_guard: { thresholds: { prefix_hour: { ratio: -1 } } } }, ['settings.fraud_guard.thresholds.prefix_hour.ratio']],
      ['velocity of 1 number', { fraud_guard: { thresholds: { prefix_velocity: { numbers: 1 } } } }, ['settings.fraud_guard.thresholds.prefix_velocity.numbers']],
      ['velocity window of a day and a minute', { fraud_guard: { thresholds: { prefix_velocity: { window_minutes: 1441 } } } }, ['settings.fraud_guard.thresholds.prefix_velocity.window_minutes']],
      ['ip countries 0', { fraud_guard: { thresholds: { ip_countries: { max: 0 } } } }, ['settings.fraud_guard.thresholds.ip_countries.max']],
      ['unknown rule', { fraud_guard: { thresholds: { prefix_week: { floor: 3 } } } }, ['settings.fraud_guard.thresholds']],
      ['prefix day floor 0', { fraud_guard: { thresholds: { prefix_day: { floor: 0 } } } }, ['settings.fraud_guard.thresholds.prefix_day.floor']],
      ['number day max 0', { fraud_guard: { thresholds: { number_day: { max: 0 } } } }, ['settings.fraud_guard.thresholds.number_day.max']],
      ['number day max 1001', { fraud_guard: { thresholds: { number_day: { max: 1001 } } } }, ['settings.fraud_guard.thresholds.number_day.max']],
      ['number day with a floor', { fraud_guard: { thresholds: { number_day: { floor: 3 } } } }, ['settings.fraud_guard.thresholds.number_day']],
      ['unknown number type', { fraud_guard: { blocked_number_types: ['premium_rate', 'premium'] } }, ['settings.fraud_guard.blocked_number_types.1']],
      ['lower-case country', { fraud_guard: { blocked_countries: ['gb'] } }, ['settings.fraud_guard.blocked_countries.0']],
      ['three-letter country', { fraud_guard: { blocked_countries: ['DE', 'DEU'] } }, ['settings.fraud_guard.blocked_countries.1']],
      ['safe-list entry without +', { fraud_guard: { safe_list: ['447400123'] } }, ['settings.fraud_guard.safe_list.0']],
      ['safe-list entry with letters', { fraud_guard: { safe_list: ['+44740012x'] } }, ['settings.fraud_guard.safe_list.0']],
      ['safe-list entry with spaces', { fraud_guard: { safe_list: ['+44 7400 123'] } }, ['settings.fraud_guard.safe_list.0']],
      ['safe list of 1,001', { fraud_guard: { safe_list: Array.from({ length: 1001 }, (_, i) => `+4474001${String(i).padStart(5, '0')}`) } }, ['settings.fraud_guard.safe_list']],
      ['prefix_digits 6', { fraud_guard: { prefix_digits: 6 } }, ['settings.fraud_guard.prefix_digits']],
      ['block_minutes 721', { fraud_guard: { block_minutes: 721 } }, ['settings.fraud_guard.block_minutes']],
      ['unknown fraud_guard key', { fraud_guard: { modes: 'off' } }, ['settings.fraud_guard']],
      ['daily_messages 0', { budget: { daily_messages: 0 } }, ['settings.budget.daily_messages']],
      ['monthly_messages 2.5', { budget: { monthly_messages: 2.5 } }, ['settings.budget.monthly_messages']],
      ['daily_spend negative', { budget: { daily_spend: -1 } }, ['settings.budget.daily_spend']],
      ['monthly_spend over 1e9', { budget: { monthly_spend: 2e9 } }, ['settings.budget.monthly_spend']],
      ['unknown budget', { budget: { weekly_messages: 10 } }, ['settings.budget']],
      ['negative price', { sms_prices: { GB: -0.01 } }, ['settings.sms_prices.GB']],
      ['price over 100', { sms_prices: { default: 100.01 } }, ['settings.sms_prices.default']],
      ['lower-case price country', { sms_prices: { gb: 0.04 } }, ['settings.sms_prices.gb']],
      ['price as text', { sms_prices: { GB: '0.04' } }, ['settings.sms_prices.GB']],
      [
        'several problems at once, each with its path',
        { fraud_guard: { prefix_digits: 1, block_minutes: 0, thresholds: { country_hour: { floor: 0, ratio: 20 } } }, budget: { daily_messages: -3 }, sms_prices: { DE: 500 } },
        [
          'settings.budget.daily_messages',
          'settings.fraud_guard.block_minutes',
          'settings.fraud_guard.prefix_digits',
          'settings.fraud_guard.thresholds.country_hour.floor',
          'settings.fraud_guard.thresholds.country_hour.ratio',
          'settings.sms_prices.DE',
        ],
      ],
    ];

    test('settings out of range: 400 tenant.invalid_settings with the path of each problem, nothing saved', async () => {
      const tenantBefore = (await t.call('GET', `/v1/tenants/${own.tenantId}`, { auth: adminAuth })).body;
      const initial = await snapshot(t);
      for (const [name, settings, paths] of settingsCases) {
        const r = await t.call('PATCH', `/v1/tenants/${own.tenantId}`, { auth: adminAuth, body: { settings } });
        assert.equal(r.statusCode, 400, `${name}: ${r.body.slice(0, 300)}`);
        const p = r.json<{ code: string; issues: Issue[] }>();
        assert.equal(p.code, 'tenant.invalid_settings', name);
        assert.deepEqual([...new Set(p.issues.map((i) => i.path))].sort(), [...paths].sort(), `${name}: ${JSON.stringify(p.issues).slice(0, 400)}`);
        for (const i of p.issues) assert.ok(i.message.length > 0, `${name}: a message for ${i.path}`);
        // A new tenant with the same settings is refused the same way.
        const created = await t.call('POST', '/v1/tenants', { auth: adminAuth, body: { name: 'Bad', settings } });
        assert.equal(created.statusCode, 400, `${name} (create): ${created.body.slice(0, 300)}`);
        assert.equal(created.json().code, 'tenant.invalid_settings');
      }
      assert.equal((await t.call('GET', `/v1/tenants/${own.tenantId}`, { auth: adminAuth })).body, tenantBefore, 'the tenant is as it was');
      assert.deepEqual(differences(initial, await snapshot(t)), []);
    });

    test('valid fraud settings at the edges of their ranges are saved', async () => {
      const settings = {
        fraud_guard: {
          mode: 'record_only',
          prefix_digits: 5,
          block_minutes: 720,
          safe_list: Array.from({ length: 1000 }, (_, i) => `+4474009${String(i).padStart(5, '0')}`),
          blocked_number_types: [],
          blocked_countries: ['KP'],
          thresholds: { country_day: { floor: 1, ratio: 0 }, prefix_velocity: { numbers: 100, span: 10_000, window_minutes: 1440 }, number_day: { max: 1000 }, prefix_day: { floor: 1_000_000, ratio: 10 } },
        },
        budget: { daily_messages: 1, monthly_spend: 1_000_000_000 },
        sms_prices: { default: 0, GB: 100 },
      };
      const t2 = await t.createTenant(settings);
      const saved = (await t.call('GET', `/v1/tenants/${t2.tenantId}`, { auth: adminAuth })).json<{ settings: Record<string, Record<string, unknown>> }>().settings;
      assert.equal(saved.fraud_guard!.mode, 'record_only');
      assert.equal((saved.fraud_guard!.safe_list as string[]).length, 1000);
      assert.deepEqual((saved.fraud_guard!.thresholds as Record<string, unknown>).country_day, { floor: 1, ratio: 0 });
      assert.deepEqual((saved.fraud_guard!.thresholds as Record<string, unknown>).number_day, { max: 1000 });
      assert.deepEqual(saved.budget, settings.budget);
      assert.deepEqual(saved.sms_prices, settings.sms_prices);
    });

    test('bad queries, ids and bodies on the fraud-guard routes: 4xx, never a 500, nothing changed', async () => {
      const cases: Array<{ method: string; url: string; body?: unknown; raw?: string; contentType?: string; auth?: string | null; status: number; code: string }> = [
        { method: 'GET', url: '/v1/fraud-guard/decisions?action=lift', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/decisions?action=', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/decisions?action=BLOCK', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/decisions?cursor=abc', status: 400, code: 'request.invalid_cursor' },
        { method: 'GET', url: '/v1/fraud-guard/decisions?cursor=msg_01m80q85m97d6hr2r51xbrp0zp', status: 400, code: 'request.invalid_cursor' },
        { method: 'GET', url: `/v1/fraud-guard/decisions?cursor=fgb_${'z'.repeat(26)}`, status: 400, code: 'request.invalid_cursor' },
        { method: 'GET', url: '/v1/fraud-guard/decisions?limit=0', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/decisions?limit=1000', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/decisions?colour=red', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/stats?window=1h', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/stats?window=', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/stats?window=24H', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/stats?window=24h&window=7d', status: 400, code: 'request.invalid' },
        { method: 'GET', url: '/v1/fraud-guard/stats?since=2026-01-01', status: 400, code: 'request.invalid' },
        { method: 'DELETE', url: `/v1/fraud-guard/blocks/${'x'.repeat(65)}`, status: 400, code: 'request.invalid' },
        { method: 'DELETE', url: '/v1/fraud-guard/blocks/fgb_01m80q85m97d6hr2r51xbrp0zp', status: 404, code: 'fraud.block_not_found' },
        { method: 'DELETE', url: '/v1/fraud-guard/blocks/not-an-id', status: 404, code: 'fraud.block_not_found' },
        { method: 'DELETE', url: '/v1/fraud-guard/blocks/OTHERBLOCK', status: 404, code: 'fraud.block_not_found' },
        { method: 'POST', url: '/v1/messages/OTHERMSG/feedback', body: { outcome: 'verified' }, status: 404, code: 'message.not_found' },
        { method: 'POST', url: '/v1/messages/msg_01m80q85m97d6hr2r51xbrp0zp/feedback', body: { outcome: 'verified' }, status: 404, code: 'message.not_found' },
        { method: 'POST', url: '/v1/messages/OTHERMSG/feedback', body: { outcome: 'failed' }, status: 400, code: 'request.invalid' },
        { method: 'POST', url: '/v1/messages/OTHERMSG/feedback', body: {}, status: 400, code: 'request.invalid' },
        { method: 'POST', url: '/v1/messages/OTHERMSG/feedback', body: { outcome: 'verified', code: '123456' }, status: 400, code: 'request.invalid' },
        { method: 'POST', url: '/v1/messages/OTHERMSG/feedback', raw: '{"outcome": "veri', status: 400, code: 'request.malformed_json' },
        { method: 'POST', url: '/v1/messages/OTHERMSG/feedback', raw: 'outcome=verified', contentType: 'application/x-www-form-urlencoded', status: 415, code: 'request.unsupported_media_type' },
        { method: 'GET', url: '/v1/fraud-guard/blocks', auth: null, status: 401, code: 'auth.missing_credentials' },
        { method: 'DELETE', url: '/v1/fraud-guard/blocks/OTHERBLOCK', auth: 'Bearer otpg_not-a-real-key', status: 401, code: 'auth.invalid_api_key' },
        { method: 'GET', url: '/v1/fraud-guard/stats', auth: adminAuth, status: 400, code: 'auth.tenant_required' },
      ];
      const initial = await snapshot(t);
      for (const c of cases) {
        const url = c.url.replace('OTHERBLOCK', otherBlock).replace('OTHERMSG', otherMessage);
        const payload = c.raw ?? (c.body !== undefined ? JSON.stringify(c.body) : undefined);
        const res = await t.app.inject({
          method: c.method as 'GET',
          url,
          headers: {
            ...(c.auth === null ? {} : { authorization: c.auth ?? own.auth }),
            ...(payload !== undefined ? { 'content-type': c.contentType ?? 'application/json' } : {}),
          },
          ...(payload !== undefined ? { payload } : {}),
        });
        const name = `${c.method} ${c.url}${c.body ? ` ${JSON.stringify(c.body)}` : ''}`;
        assert.equal(res.statusCode, c.status, `${name}: ${res.body.slice(0, 300)}`);
        assert.equal(res.json().code, c.code, `${name}: ${res.body.slice(0, 300)}`);
        assert.deepEqual(differences(initial, await snapshot(t)), [], `${name} changed the database`);
      }
      // The other tenant's block still stands.
      assert.equal((await refused(t, other.auth, gb(3), 403, 'fraud.blocked')).block_id, otherBlock);
    });

    test('no code, secret or API key in the logs or in any fraud-guard answer', async () => {
      const logged = await createTestApp({ dialect, clock, env: { OTPGATE_LOG_LEVEL: 'trace' } });
      try {
        const { auth, apiKey } = await logged.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 2, ratio: 0 } }), budget: { daily_messages: 4 } });
        const answers: string[] = [];
        const codes: string[] = [];
        const keys = [apiKey, TEST_ADMIN_KEY];
        const s = await accepted(logged, auth, gb(1));
        const code = await codeFor(logged, auth, gb(1));
        codes.push(code);
        answers.push((await logged.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } })).body);
        const s2 = await accepted(logged, auth, gb(2));
        codes.push(await codeFor(logged, auth, gb(2)));
        answers.push((await logged.call('POST', `/v1/messages/${s2.message_id}/feedback`, { auth, body: { outcome: 'verified' } })).body);
        answers.push((await logged.call('POST', `/v1/messages/${s2.message_id}/feedback`, { auth, body: { outcome: 'verified' } })).body);
        for (let i = 3; i < 6; i++) {
          const r = await logged.call('POST', '/v1/otp/send', { auth, body: { phone_number: gb(i) } });
          answers.push(r.body);
          if (r.statusCode === 202) codes.push(await codeFor(logged, auth, gb(i)));
        }
        answers.push((await logged.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+449098790000' } })).body);
        const blocksBody = (await logged.call('GET', '/v1/fraud-guard/blocks', { auth })).body;
        answers.push(blocksBody);
        const id = JSON.parse(blocksBody).items[0]?.id as string;
        assert.ok(id, `a block was made: ${blocksBody}`);
        answers.push((await logged.call('DELETE', `/v1/fraud-guard/blocks/${id}`, { auth })).body);
        answers.push((await logged.call('GET', '/v1/fraud-guard/decisions', { auth })).body);
        answers.push((await logged.call('GET', '/v1/fraud-guard/stats?window=30d', { auth })).body);
        answers.push((await logged.call('GET', '/v1/audit-log', { auth })).body);
        for (let i = 10; i < 14; i++) answers.push((await logged.call('POST', '/v1/otp/send', { auth, body: { phone_number: gb(i, '777') } })).body);
        assert.ok(answers.some((a) => a.includes('budget.exhausted')), 'the budget refusal was among the answers');
        assert.ok(answers.some((a) => a.includes('fraud.blocked')), 'the block refusal was among the answers');
        assert.ok(answers.some((a) => a.includes('phone.number_type_blocked')), 'the type refusal was among the answers');

        // The fraud guard's own log lines: a conversion it could not count (the code is verified
        // all the same), and a route that fails unexpectedly. The capture must have seen them,
        // else "nothing in the logs" proves nothing.
        const fraud = logged.deps.fraud;
        const { converted, countConversion, stats } = fraud;
        // PostgreSQL marks the conversion in the approval and counts it with countConversion.
        fraud.converted = fraud.countConversion = async () => {
          throw new Error('counter store unavailable');
        };
        fraud.stats = async () => {
          throw new Error('stats store unavailable');
        };
        try {
          // A tenant of its own: the first one's budget is used up by now.
          const free = await logged.createTenant({ fraud_guard: guard() });
          keys.push(free.apiKey);
          const s3 = await accepted(logged, free.auth, gb(1, '888'));
          const c3 = await codeFor(logged, free.auth, gb(1, '888'));
          codes.push(c3);
          const v3 = await logged.call('POST', '/v1/otp/verify', { auth: free.auth, body: { challenge_id: s3.challenge_id, code: c3 } });
          assert.equal(v3.statusCode, 200, v3.body);
          answers.push(v3.body);
          const broken = await logged.call('GET', '/v1/fraud-guard/stats', { auth });
          assert.equal(broken.statusCode, 500);
          answers.push(broken.body);
          const lines = logged.logs.lines.map((l) => JSON.parse(l) as { msg: string; challenge_id?: string; err_message?: string });
          assert.ok(lines.some((l) => l.msg === 'could not count a verified code for the fraud guard' && l.challenge_id === s3.challenge_id), logged.logs.text().slice(0, 500));
          assert.ok(lines.some((l) => l.msg === 'unhandled error' && l.err_message === 'stats store unavailable'), logged.logs.text().slice(0, 500));
        } finally {
          fraud.converted = converted;
          fraud.countConversion = countConversion;
          fraud.stats = stats;
        }
        const all = answers.join('\n');
        const logs = logged.logs.text();
        for (const c of codes) {
          assert.ok(!all.includes(c), `an answer holds the code ${c.slice(0, 2)}…`);
          assert.ok(!logs.includes(c), `a log line holds the code ${c.slice(0, 2)}…`);
        }
        for (const secret of keys) {
          assert.ok(!all.includes(secret), `an answer holds ${secret.slice(0, 4)}…`);
          assert.ok(!logs.includes(secret), `a log line holds ${secret.slice(0, 4)}…`);
        }
      } finally {
        await logged.close();
      }
    });
  });
}

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { newId } from '../../src/domain/ids.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { accepted, blocks, de, decisions, gb, guard, minutesOf, moved, refused, rowsOf, scrape, send, sendAndVerify } from './fraud-guard-support.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

for (const dialect of await testDialects()) {
  describe(`fraud guard: tripwires, blocks and modes (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 5, 10, 12));
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    test('a pumping run against one prefix is refused after the floor; other numbers of the tenant still get codes', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 5, ratio: 0 } }) });
      const m0 = await scrape(t);
      for (let i = 0; i < 5; i++) await accepted(t, auth, gb(i));
      const startedAt = clock.now();
      const p = await refused(t, auth, gb(5), 403, 'fraud.blocked');
      assert.equal(p.rule, 'prefix_hour');
      assert.match(p.block_id!, /^fgb_/);
      assert.equal(p.blocked_until, new Date(startedAt + 15 * MINUTE).toISOString());
      // The block stands: the next number of the range is refused by the same block.
      clock.advance(MINUTE);
      const again = await refused(t, auth, gb(6), 403, 'fraud.blocked');
      assert.equal(again.block_id, p.block_id);
      // The rest of the tenant's traffic goes on: the same country in another range, another country.
      await accepted(t, auth, gb(6, '999'));
      await accepted(t, auth, de(1));

      const [block, ...others] = await blocks(t, auth);
      assert.deepEqual(others, []);
      assert.deepEqual(block, {
        id: p.block_id,
        action: 'block',
        kind: 'prefix',
        key: '+447400123',
        rule: 'prefix_hour',
        reason: 'unverified in 1 h 6 > max(5, 0 × verified in 24 h 0)',
        figures: { unverified: 6, floor: 5, ratio: 0, verified_24h: 0, threshold: 5 },
        level: 0,
        hits: 2,
        created_at: new Date(startedAt).toISOString(),
        expires_at: p.blocked_until,
        lifted_at: null,
        lifted_by: null,
      });
      assert.deepEqual(await decisions(t, auth), [block]);

      const m1 = await scrape(t);
      assert.deepEqual(moved(m0, m1, 'otpgate_fraud_decisions_total'), { 'action=block,rule=prefix_hour': 1, 'action=refused,rule=prefix_hour': 1 });
      assert.deepEqual(moved(m0, m1, 'otpgate_otp_sends_total'), { 'outcome=accepted': 7, 'outcome=fraud_blocked': 2 });
      // Refused sends leave no challenge and no message.
      assert.equal(await rowsOf(t, 'challenges', tenantId), 7);
      assert.equal(await rowsOf(t, 'messages', tenantId), 7);
    });

    test('the narrowest key is blocked first: the prefix, then its country', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 3, ratio: 0 }, country_hour: { floor: 3, ratio: 0 } }) });
      for (let i = 0; i < 3; i++) await accepted(t, auth, gb(i));
      assert.equal((await refused(t, auth, gb(3), 403, 'fraud.blocked')).rule, 'prefix_hour');
      assert.deepEqual((await blocks(t, auth)).map((b) => [b.kind, b.key]), [['prefix', '+447400123']]);
      // Another range of the country: the country's unverified codes (3, refused sends not counted) now trip it.
      const c = await refused(t, auth, gb(1, '999'), 403, 'fraud.blocked');
      assert.equal(c.rule, 'country_hour');
      assert.deepEqual((await blocks(t, auth)).map((b) => [b.kind, b.key, b.rule]).sort(), [
        ['country', 'GB', 'country_hour'],
        ['prefix', '+447400123', 'prefix_hour'],
      ]);
      await accepted(t, auth, de(1));
    });

    test('bombing one number: codes since its last verified one block the number, resends included; a verification starts the count again', async () => {
      const { auth } = await t.createTenant({ max_sends_per_phone_per_hour: 100, fraud_guard: guard({ number_day: { max: 4 } }) });
      const victim = gb(7);
      // A code, verified: the count starts after it.
      await sendAndVerify(t, auth, victim);
      for (let i = 0; i < 4; i++) {
        clock.advance(31_000); // past the resend cooldown; each of these is a resend of a pending code
        await accepted(t, auth, victim);
      }
      clock.advance(31_000);
      const startedAt = clock.now();
      const p = await refused(t, auth, victim, 403, 'fraud.blocked');
      assert.equal(p.rule, 'number_day');
      assert.match(String(p.detail), /phone number/);
      const [block] = await blocks(t, auth);
      assert.deepEqual([block!.kind, block!.key, block!.reason, block!.figures], ['number', victim, '5 codes in 24 h since the last verified one > 4', { unverified: 5, max: 4 }]);
      // Only that number: its neighbours in the range and the purposes' other numbers go on.
      await accepted(t, auth, gb(8));
      // When the block ends, the count still stands: the next code trips it again, for longer.
      clock.advance(15 * MINUTE + 1);
      const again = await refused(t, auth, victim, 403, 'fraud.blocked');
      assert.notEqual(again.block_id, p.block_id);
      assert.equal(again.blocked_until, new Date(clock.now() + 30 * MINUTE).toISOString());
      assert.ok(clock.now() > startedAt);
      // A day later the codes have aged out.
      clock.advance(24 * HOUR);
      await accepted(t, auth, victim);
    });

    test('prefix_day: a prefix that gets a few unverified codes every hour is blocked once the day holds more than the floor', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 3, ratio: 0 }, prefix_day: { floor: 4, ratio: 1 } }) });
      // Under two codes an hour never trip the hour rule (floor 3) …
      for (let i = 0; i < 4; i++) {
        await accepted(t, auth, gb(10 + i, '456'));
        clock.advance(40 * MINUTE);
      }
      // … but the fifth within 24 h passes the day's floor of 4.
      const p = await refused(t, auth, gb(20, '456'), 403, 'fraud.blocked');
      assert.equal(p.rule, 'prefix_day');
      const [block] = await blocks(t, auth);
      assert.deepEqual([block!.kind, block!.key, block!.reason], ['prefix', '+447400456', 'unverified in 24 h 5 > max(4, 1 × verified 0)']);
    });

    test("a lifted prefix's traffic before the lift stays out of its day, hours later too", async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ prefix_day: { floor: 2, ratio: 0 } }) });
      // Early in an hour, so that the lift falls in the hour of the codes before it.
      clock.advance(HOUR - (clock.now() % HOUR) + 10 * MINUTE);
      await accepted(t, auth, gb(0, '789'));
      await accepted(t, auth, gb(1, '789'));
      const p = await refused(t, auth, gb(2, '789'), 403, 'fraud.blocked');
      assert.equal(p.rule, 'prefix_day');
      clock.advance(MINUTE);
      const lift = await t.call('DELETE', `/v1/fraud-guard/blocks/${p.block_id}`, { auth });
      assert.equal(lift.statusCode, 204, lift.body);
      // Three hours on, the day still holds the two codes from before the lift; they are not counted.
      clock.advance(3 * HOUR);
      await accepted(t, auth, gb(3, '789'));
      await accepted(t, auth, gb(4, '789'));
      const again = await refused(t, auth, gb(5, '789'), 403, 'fraud.blocked');
      assert.equal(again.rule, 'prefix_day');
    });

    test('the number rule: a verified code resets it, and a lifted number starts counting afresh', async () => {
      const { auth } = await t.createTenant({ max_sends_per_phone_per_hour: 100, fraud_guard: guard({ number_day: { max: 2 } }) });
      const n = gb(9);
      await accepted(t, auth, n);
      await t.drainOutbox(); // the inbox shows the latest delivery first
      clock.advance(31_000);
      // The second code is verified: the three after it start from nothing.
      const v = await sendAndVerify(t, auth, n);
      assert.ok(v.code);
      clock.advance(31_000);
      await accepted(t, auth, n);
      clock.advance(31_000);
      await accepted(t, auth, n);
      clock.advance(31_000);
      const p = await refused(t, auth, n, 403, 'fraud.blocked');
      assert.equal(p.rule, 'number_day');
      const lift = await t.call('DELETE', `/v1/fraud-guard/blocks/${p.block_id}`, { auth });
      assert.equal(lift.statusCode, 204, lift.body);
      clock.advance(31_000);
      await accepted(t, auth, n);
      clock.advance(31_000);
      await accepted(t, auth, n);
      clock.advance(31_000);
      assert.equal((await refused(t, auth, n, 403, 'fraud.blocked')).rule, 'number_day');
    });

    test('number-range velocity: near-consecutive numbers of one prefix block it; scattered ones do not', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ prefix_velocity: { numbers: 3, span: 10, window_minutes: 10 } }) });
      await accepted(t, auth, gb(100));
      await accepted(t, auth, gb(150));
      await accepted(t, auth, gb(105)); // 100, 105, 150: no 3 within 10
      const p = await refused(t, auth, gb(108), 403, 'fraud.blocked'); // 100, 105, 108
      assert.equal(p.rule, 'prefix_velocity');
      const [b] = await blocks(t, auth);
      assert.equal(b?.key, '+447400123');
      assert.equal(b?.figures.closest_span, 8);
    });

    test('number-range velocity at the top of a busy prefix: a walk is found past the prefix’s first 200 numbers', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ prefix_velocity: { numbers: 2, span: 1, window_minutes: 10 } }) });
      // 201 numbers of the prefix in the window, none within 1 of another.
      for (let s = 0; s <= 400; s += 2) await accepted(t, auth, gb(s));
      await accepted(t, auth, gb(900));
      const p = await refused(t, auth, gb(901), 403, 'fraud.blocked');
      assert.equal(p.rule, 'prefix_velocity');
      const [b] = await blocks(t, auth);
      assert.deepEqual([b?.key, b?.figures.closest_span, b?.figures.distinct_numbers], ['+447400123', 1, 2]);
    });

    test('number-range velocity judges the send’s own number: a run sent while the guard was off blocks only its walk’s next number', async () => {
      const velocity = { prefix_velocity: { numbers: 3, span: 10, window_minutes: 10 } };
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard(velocity, { mode: 'off' }) });
      for (const s of [100, 101, 102]) await accepted(t, auth, gb(s));
      const on = await t.call('PATCH', `/v1/tenants/${tenantId}`, { auth: adminAuth, body: { settings: { fraud_guard: guard(velocity) } } });
      assert.equal(on.statusCode, 200, on.body);
      // 100–102 are a run of three within 2 (sent uncounted), but 500, 700 and 900 are not
      // part of it; at 900 the prefix has the two counted sends that make the rule read.
      for (const s of [500, 700, 900]) await accepted(t, auth, gb(s));
      assert.deepEqual(await blocks(t, auth), []);
      const p = await refused(t, auth, gb(103), 403, 'fraud.blocked');
      assert.equal(p.rule, 'prefix_velocity');
      const [b] = await blocks(t, auth);
      assert.equal(b?.figures.closest_span, 2);
    });

    test('number-range velocity leaves the tenant’s test numbers out: their codes are not traffic', async () => {
      const { auth } = await t.createTenant({
        fraud_guard: guard({ prefix_velocity: { numbers: 3, span: 10, window_minutes: 10 } }),
        test_numbers: [
          { phone_number: gb(101), code: '123456' },
          { phone_number: gb(102), code: '123456' },
        ],
      });
      await accepted(t, auth, gb(101));
      await accepted(t, auth, gb(102));
      await accepted(t, auth, gb(100));
      await accepted(t, auth, gb(150));
      // With the test numbers' codes, 100, 101, 102 and 103 would be four within 3.
      await accepted(t, auth, gb(103));
      assert.deepEqual(await blocks(t, auth), []);
      // The real numbers still trip it: 100, 103 and 104 are three within 4.
      const p = await refused(t, auth, gb(104), 403, 'fraud.blocked');
      assert.equal(p.rule, 'prefix_velocity');
      const [block] = await blocks(t, auth);
      assert.equal(block?.figures.closest_span, 4);
    });

    test('record_only refuses nothing and records everything it would have done', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 2, ratio: 0 } }, { mode: 'record_only', blocked_countries: ['FR'] }) });
      const m0 = await scrape(t);
      for (let i = 0; i < 6; i++) await accepted(t, auth, gb(i));
      await accepted(t, auth, '+449098790000'); // premium rate
      await accepted(t, auth, '+33612345601'); // a blocked country
      await accepted(t, auth, '+33612345602');

      assert.deepEqual(await blocks(t, auth), [], 'would-blocks are not blocks');
      const log = await decisions(t, auth);
      const byRule = Object.fromEntries(log.map((d) => [d.rule, d]));
      assert.deepEqual(Object.keys(byRule).sort(), ['country_policy', 'number_type', 'prefix_hour']);
      for (const d of log) assert.equal(d.action, 'would_block');
      assert.equal(byRule.prefix_hour!.key, '+447400123');
      assert.equal(byRule.prefix_hour!.hits, 4, 'the 3rd send made it; the 4th to 6th it would have refused');
      assert.equal(byRule.prefix_hour!.figures.unverified, 3);
      assert.equal(byRule.number_type!.key, 'premium_rate');
      assert.equal(byRule.country_policy!.key, 'FR');
      assert.equal(byRule.country_policy!.hits, 2);
      assert.deepEqual(await decisions(t, auth, '?action=would_block'), log);
      assert.deepEqual(await decisions(t, auth, '?action=block'), []);
      // A would-block is a record, not a block: there is nothing to lift.
      const lift = await t.call('DELETE', `/v1/fraud-guard/blocks/${byRule.prefix_hour!.id}`, { auth });
      assert.equal(lift.statusCode, 404, lift.body);
      assert.equal(lift.json().code, 'fraud.block_not_found');

      const m1 = await scrape(t);
      assert.deepEqual(moved(m0, m1, 'otpgate_fraud_decisions_total'), {
        'action=would_block,rule=prefix_hour': 1,
        'action=would_refuse,rule=prefix_hour': 3,
        'action=would_block,rule=number_type': 1,
        'action=would_block,rule=country_policy': 1,
        'action=would_refuse,rule=country_policy': 1,
      });
      assert.deepEqual(moved(m0, m1, 'otpgate_otp_sends_total'), { 'outcome=accepted': 9 });
      assert.equal(await rowsOf(t, 'messages', tenantId), 9);
    });

    test('mode off records nothing and refuses nothing', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 1, ratio: 0 }, prefix_velocity: { numbers: 2, span: 10 } }, { mode: 'off', blocked_countries: ['FR'] }) });
      const m0 = await scrape(t);
      for (let i = 0; i < 5; i++) await accepted(t, auth, gb(i));
      await accepted(t, auth, '+449098790000');
      await accepted(t, auth, '+33612345601');
      assert.deepEqual(await decisions(t, auth), []);
      assert.equal(await rowsOf(t, 'fraud_counters', tenantId), 0);
      assert.equal(await rowsOf(t, 'fraud_decisions', tenantId), 0);
      const stats = (await t.call('GET', '/v1/fraud-guard/stats', { auth })).json<{ countries: unknown[]; prefixes: unknown[] }>();
      assert.deepEqual([stats.countries, stats.prefixes], [[], []]);
      assert.deepEqual(moved(m0, await scrape(t), 'otpgate_fraud_decisions_total'), {});
    });

    test('a lifted block stops refusing at once; it is audited with who lifted it; a new block within 24 h lasts twice as long', async () => {
      const own = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 2, ratio: 0 } }) });
      const other = await t.createTenant({ fraud_guard: guard() });
      const { auth } = own;
      await accepted(t, auth, gb(0));
      await accepted(t, auth, gb(1));
      const first = await refused(t, auth, gb(2), 403, 'fraud.blocked');
      const id = first.block_id!;

      // Another tenant cannot lift it, nor see it.
      const foreign = await t.call('DELETE', `/v1/fraud-guard/blocks/${id}`, { auth: other.auth });
      assert.equal(foreign.statusCode, 404, foreign.body);
      assert.equal(foreign.json().code, 'fraud.block_not_found');
      assert.deepEqual(await blocks(t, other.auth), []);
      assert.equal((await blocks(t, auth)).length, 1, 'the other tenant’s attempt changed nothing');
      const unknown = await t.call('DELETE', '/v1/fraud-guard/blocks/fgb_01m80q85m97d6hr2r51xbrp0zp', { auth });
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().code, 'fraud.block_not_found');

      clock.advance(MINUTE);
      const lift = await t.call('DELETE', `/v1/fraud-guard/blocks/${id}`, { auth });
      assert.equal(lift.statusCode, 204, lift.body);
      assert.equal(lift.body, '');
      assert.deepEqual(await blocks(t, auth), []);
      const [logged] = await decisions(t, auth);
      assert.equal(logged?.lifted_at, new Date(clock.now()).toISOString());
      assert.equal(logged?.lifted_by, own.keyId);
      const audit = (await t.call('GET', '/v1/audit-log', { auth })).json<{ items: Array<{ action: string; actor: string; target: string; details: Record<string, unknown> }> }>().items;
      const entry = audit.filter((a) => a.action === 'fraud_guard.block_lifted');
      assert.equal(entry.length, 1);
      assert.deepEqual(entry[0], { ...entry[0], actor: own.keyId, target: id, details: { rule: 'prefix_hour', kind: 'prefix', key: '+447400123' } });

      // Lifting twice: there is no block to lift.
      const twice = await t.call('DELETE', `/v1/fraud-guard/blocks/${id}`, { auth });
      assert.equal(twice.statusCode, 404);
      assert.equal(twice.json().code, 'fraud.block_not_found');

      // The lift holds: the range gets codes again, although its earlier codes were never verified.
      await accepted(t, auth, gb(2));
      await accepted(t, auth, gb(3));

      // The pumping goes on an hour later: the next block of the key is escalated to 30 min.
      clock.advance(HOUR);
      await accepted(t, auth, gb(10));
      await accepted(t, auth, gb(11));
      const second = await refused(t, auth, gb(12), 403, 'fraud.blocked');
      assert.notEqual(second.block_id, id);
      const [b2] = await blocks(t, auth);
      assert.equal(b2?.level, 1);
      assert.equal(minutesOf(b2!), 30);
      assert.equal(second.blocked_until, new Date(clock.now() + 30 * MINUTE).toISOString());

      // An operator (admin key, acting on the tenant) lifts that one too; the audit names the admin.
      const byAdmin = await t.call('DELETE', `/v1/fraud-guard/blocks/${second.block_id}`, { auth: adminAuth, headers: { 'x-tenant-id': own.tenantId } });
      assert.equal(byAdmin.statusCode, 204, byAdmin.body);
      const log = (await t.call('GET', `/v1/tenants/${own.tenantId}/audit-log`, { auth: adminAuth })).json<{ items: Array<{ action: string; actor: string; target: string }> }>().items;
      assert.ok(log.some((a) => a.action === 'fraud_guard.block_lifted' && a.actor === 'admin' && a.target === second.block_id), JSON.stringify(log));
    });

    test('blocks expire; a repeat within 24 h doubles, up to the cap; after 24 h a block starts over', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ prefix_velocity: { numbers: 3, span: 10, window_minutes: 10 } }, { block_minutes: 200 }) });
      const pump = async (base: number) => {
        await accepted(t, auth, gb(base));
        await accepted(t, auth, gb(base + 1));
        return refused(t, auth, gb(base + 2), 403, 'fraud.blocked');
      };
      const b0 = await pump(0);
      assert.equal(b0.blocked_until, new Date(clock.now() + 200 * MINUTE).toISOString());
      clock.advance(200 * MINUTE - 1);
      assert.equal((await refused(t, auth, gb(500), 403, 'fraud.blocked')).block_id, b0.block_id, 'in force until its last millisecond');
      clock.advance(1);
      assert.deepEqual(await blocks(t, auth), [], 'expired');
      await accepted(t, auth, gb(600));

      const lengths: number[] = [];
      for (let i = 1; i <= 3; i++) {
        const b = await pump(i * 100);
        const d = (await decisions(t, auth)).find((x) => x.id === b.block_id)!;
        assert.equal(d.level, i);
        lengths.push(minutesOf(d));
        clock.advance(minutesOf(d) * MINUTE);
      }
      assert.deepEqual(lengths, [400, 720, 720]);

      clock.advance(25 * HOUR);
      const fresh = await pump(700);
      const d = (await decisions(t, auth)).find((x) => x.id === fresh.block_id)!;
      assert.equal(d.level, 0);
      assert.equal(minutesOf(d), 200);
      const all = await decisions(t, auth);
      assert.equal(all.length, 5, 'every block stays in the decision log');
      assert.deepEqual(all.map((x) => x.created_at), all.map((x) => x.created_at).sort().reverse(), 'newest first');
      // Paged two at a time, the pages hold the same decisions in the same order.
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const r = await t.call('GET', `/v1/fraud-guard/decisions?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { auth });
        assert.equal(r.statusCode, 200, r.body);
        const page = r.json<{ items: Array<{ id: string }>; next_cursor: string | null }>();
        assert.ok(page.items.length <= 2);
        paged.push(...page.items.map((x) => x.id));
        cursor = page.next_cursor;
      } while (cursor);
      assert.deepEqual(paged, all.map((x) => x.id));
    });

    test('the safe list is never blocked by a tripwire, but budgets and the type gate still apply', async () => {
      const { auth } = await t.createTenant({
        fraud_guard: guard({ prefix_hour: { floor: 2, ratio: 0 } }, { safe_list: ['+447400123', gb(7, '999'), '+449098790000'] }),
        budget: { daily_messages: 10 },
      });
      for (let i = 0; i < 6; i++) await accepted(t, auth, gb(i));
      // Another range of the same country is judged as usual…
      await accepted(t, auth, gb(1, '999'));
      await accepted(t, auth, gb(2, '999'));
      await refused(t, auth, gb(3, '999'), 403, 'fraud.blocked');
      // …but a safe-listed number in it is not refused, block or no block.
      await accepted(t, auth, gb(7, '999'));
      assert.equal((await refused(t, auth, '+449098790000', 422, 'phone.number_type_blocked')).number_type, 'premium_rate');
      await accepted(t, auth, gb(8));
      const over = await refused(t, auth, gb(9), 429, 'budget.exhausted');
      assert.equal(over.budget, 'daily_messages');
    });

    test('test numbers never count and are never blocked', async () => {
      const testNumber = gb(999);
      const { auth, tenantId } = await t.createTenant({
        fraud_guard: guard({ prefix_hour: { floor: 1, ratio: 0 }, ip_day: { floor: 1, ratio: 0 } }),
        test_numbers: [{ phone_number: testNumber, code: '424242' }],
        resend_cooldown_seconds: 0,
        budget: { daily_messages: 2 },
      });
      for (let i = 0; i < 6; i++) {
        const s = await accepted(t, auth, testNumber, { client_ip: '198.51.100.7' });
        assert.equal(s.message_id, null);
      }
      assert.equal(await rowsOf(t, 'fraud_counters', tenantId), 0, 'test numbers are not counted');
      await accepted(t, auth, gb(0));
      await refused(t, auth, gb(1), 403, 'fraud.blocked');
      const s = await accepted(t, auth, testNumber, { client_ip: '198.51.100.7' });
      const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code: '424242' } });
      assert.equal(v.statusCode, 200, v.body);
      const usage = (await t.call('GET', '/v1/fraud-guard/stats', { auth })).json<{ budget: { day: { messages: number } }; prefixes: Array<{ prefix: string; sent: number; verified: number }> }>();
      assert.equal(usage.budget.day.messages, 1, 'test numbers use no budget');
      assert.deepEqual(usage.prefixes.map((p) => [p.prefix, p.sent, p.verified]), [['+447400123', 1, 0]]);
    });

    test('the number type gate and blocked countries refuse before anything is written', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard({}, { blocked_countries: ['DE'] }) });
      const m0 = await scrape(t);
      for (const [number, type] of [
        ['+449098790000', 'premium_rate'],
        ['+19005551234', 'premium_rate'],
        ['+448001111', 'toll_free'],
        ['+18002752273', 'toll_free'],
        ['+611300655506', 'shared_cost'],
        ['+443001233333', 'uan'],
        ['+447640123456', 'pager'],
        ['+41860791234567', 'voicemail'],
        ['+447031234567', 'personal_number'],
      ] as const) {
        const p = await refused(t, auth, number, 422, 'phone.number_type_blocked');
        assert.equal(p.number_type, type, number);
      }
      await refused(t, auth, de(1), 403, 'phone.country_blocked');
      await accepted(t, auth, gb(1));
      assert.equal(await rowsOf(t, 'challenges', tenantId), 1);
      assert.equal(await rowsOf(t, 'fraud_decisions', tenantId), 0, 'a static refusal is not a block');
      const m1 = await scrape(t);
      assert.deepEqual(moved(m0, m1, 'otpgate_otp_sends_total'), { 'outcome=number_type_blocked': 9, 'outcome=country_blocked': 1, 'outcome=accepted': 1 });
      assert.deepEqual(moved(m0, m1, 'otpgate_fraud_decisions_total'), { 'action=refused,rule=number_type': 9, 'action=refused,rule=country_policy': 1 });

      // The blocked types are the tenant's choice.
      const open = await t.createTenant({ fraud_guard: guard({}, { blocked_number_types: ['mobile'] }) });
      await accepted(t, open.auth, '+449098790000');
      assert.equal((await refused(t, open.auth, gb(1), 422, 'phone.number_type_blocked')).number_type, 'mobile');
    });

    test('a resend of a code still valid is never tripped by a rule and adds no code, but an active block refuses it', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 1, ratio: 0 } }) });
      await accepted(t, auth, gb(0));
      clock.advance(31_000); // past the resend cooldown, within the code's 5 minutes
      await accepted(t, auth, gb(0));
      clock.advance(31_000);
      await accepted(t, auth, gb(0));
      const rows = await t.deps.store.db.selectFrom('fraud_counters').select(['sent', 'segments']).where('tenant_id', '=', tenantId).where('key', '=', 'p:+447400123').execute();
      assert.deepEqual(
        rows.reduce((a, r) => [a[0]! + Number(r.sent), a[1]! + Number(r.segments)], [0, 0]),
        [1, 3],
        'one code, three messages',
      );
      const block = await refused(t, auth, gb(1), 403, 'fraud.blocked');
      clock.advance(31_000);
      assert.equal((await refused(t, auth, gb(0), 403, 'fraud.blocked')).block_id, block.block_id);
    });

    test('a send to a blocked key answers the block without a stack of new decisions, across many refusals', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 1, ratio: 0 } }) });
      await accepted(t, auth, gb(0));
      const ids = new Set<string>();
      for (let i = 1; i < 30; i++) ids.add((await refused(t, auth, gb(i), 403, 'fraud.blocked')).block_id!);
      assert.equal(ids.size, 1);
      assert.equal(await rowsOf(t, 'fraud_decisions', tenantId), 1);
      assert.equal((await blocks(t, auth))[0]?.hits, 29);
      const r = await send(t, auth, gb(40));
      assert.equal(r.statusCode, 403);
    });

    test('a 12-hour block made 11 hours ago still holds when a node reads the tenant’s decisions afresh, among months of ended ones', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 1000, ratio: 0 } }) });
      const now = clock.now();
      // Ids made at the decisions' own times, as they would be on a clock that ids follow.
      const decision = (made: number, minutes: number, key: string) => ({
        id: newId('fgb', made), tenant_id: tenantId, action: 'block' as const, kind: 'prefix' as const, key, rule: 'prefix_hour', reason: 'r', figures: '{}',
        level: 6, hits: 1, created_at: made, expires_at: made + minutes * MINUTE, lifted_at: null, lifted_by: null,
      });
      const ended = Array.from({ length: 500 }, (_, i) => decision(now - (13 + 4 * i) * HOUR, 720, `p:+447400${String(600 + (i % 50))}`));
      for (let i = 0; i < ended.length; i += 100) await t.deps.store.db.insertInto('fraud_decisions').values(ended.slice(i, i + 100)).execute();
      const live = decision(now - 11 * HOUR, 720, 'p:+447400555');
      await t.deps.store.db.insertInto('fraud_decisions').values(live).execute();
      const p = await refused(t, auth, gb(1, '555'), 403, 'fraud.blocked');
      assert.equal(p.block_id, live.id);
      assert.equal(p.blocked_until, new Date(now + HOUR).toISOString());
      await accepted(t, auth, gb(1, '601'));
      // The console's list of blocks in force reads the same recent decisions.
      assert.deepEqual((await blocks(t, auth)).map((b: { id: string }) => b.id), [live.id]);
    });
  });
}

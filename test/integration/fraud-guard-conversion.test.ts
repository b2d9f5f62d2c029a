import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { accepted, codeFor, de, fr, gb, guard, refused, sendAndVerify } from './fraud-guard-support.js';

const HOUR = 3_600_000;

/** The sums of the tenant's counter rows, by key. */
async function counters(t: TestApp, tenantId: string): Promise<Record<string, { sent: number; verified: number }>> {
  const rows = await t.deps.store.db.selectFrom('fraud_counters').select(['key', 'sent', 'verified']).where('tenant_id', '=', tenantId).execute();
  const out: Record<string, { sent: number; verified: number }> = {};
  for (const r of rows) {
    const c = (out[r.key] ??= { sent: 0, verified: 0 });
    c.sent += Number(r.sent);
    c.verified += Number(r.verified);
  }
  return out;
}

async function feedback(t: TestApp, auth: string, messageId: string, body: unknown = { outcome: 'verified' }) {
  return t.call('POST', `/v1/messages/${messageId}/feedback`, { auth, body });
}

for (const dialect of await testDialects()) {
  describe(`fraud guard: conversion, feedback and client IPs (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 6, 1, 12));
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    test('a country whose codes were verified yesterday stays open where one without history is blocked', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ country_day: { floor: 4, ratio: 0.5 } }) });
      // Day 1: 20 codes to GB, every one verified (spread over ranges; the prefix rules are quiet).
      for (let i = 0; i < 20; i++) await sendAndVerify(t, auth, gb(i * 37));
      // Day 2, past the 24-hour window: only the best verified day (20) speaks for GB.
      clock.advance(26 * HOUR);
      for (let i = 0; i < 10; i++) await accepted(t, auth, gb(i * 41, '555'));
      const gbBlock = await refused(t, auth, gb(999, '555'), 403, 'fraud.blocked');
      assert.equal(gbBlock.rule, 'country_day');
      // DE has no history: the floor (4) decides.
      for (let i = 0; i < 4; i++) await accepted(t, auth, de(i * 100));
      assert.equal((await refused(t, auth, de(999), 403, 'fraud.blocked')).rule, 'country_day');

      const items = (await t.call('GET', '/v1/fraud-guard/blocks', { auth })).json<{ items: Array<{ key: string; figures: Record<string, number> }> }>().items;
      const byKey = Object.fromEntries(items.map((b) => [b.key, b.figures]));
      assert.deepEqual(byKey.GB, { unverified: 11, floor: 4, ratio: 0.5, best_day_verified: 20, verified_24h: 0, threshold: 10 });
      assert.deepEqual(byKey.DE, { unverified: 5, floor: 4, ratio: 0.5, best_day_verified: 0, verified_24h: 0, threshold: 4 });
    });

    test('a prefix with verified traffic is not blocked where an unverified one is', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 3, ratio: 2 } }) });
      for (let i = 0; i < 3; i++) await sendAndVerify(t, auth, gb(i));
      // Range 123: 3 verified → threshold max(3, 2 × 3) = 6 unverified.
      for (let i = 10; i < 16; i++) await accepted(t, auth, gb(i));
      assert.equal((await refused(t, auth, gb(16), 403, 'fraud.blocked')).rule, 'prefix_hour');
      // Range 999: nothing verified → the floor, 3.
      for (let i = 0; i < 3; i++) await accepted(t, auth, gb(i, '999'));
      assert.equal((await refused(t, auth, gb(3, '999'), 403, 'fraud.blocked')).rule, 'prefix_hour');
    });

    test('a verified code counts in the hour of its send, once', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: guard(), otp_ttl_seconds: 3600 });
      // Sent at :50, verified 15 minutes later, in the next hour.
      clock.set(Math.floor(clock.now() / HOUR) * HOUR + HOUR + 50 * 60_000);
      const sentBucket = Math.floor(clock.now() / HOUR) * HOUR;
      const s = await accepted(t, auth, gb(1));
      const code = await codeFor(t, auth, gb(1));
      clock.advance(15 * 60_000);
      assert.equal((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } })).statusCode, 200);
      const rows = await t.deps.store.db.selectFrom('fraud_counters').select(['key', 'bucket', 'sent', 'verified']).where('tenant_id', '=', tenantId).where('key', '=', 'p:+447400123').execute();
      assert.deepEqual(
        rows.map((r) => [Number(r.bucket), Number(r.sent), Number(r.verified)]),
        [[sentBucket, 1, 1]],
        'the verification went to the send’s bucket, not the hour it happened in',
      );
      // Reported as used as well: it is not counted again.
      const again = await feedback(t, auth, s.message_id);
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().counted, false);
      assert.deepEqual((await counters(t, tenantId))['p:+447400123'], { sent: 1, verified: 1 });
    });

    test('feedback counts a code checked elsewhere as converted; twice is harmless; another tenant’s message is 404; an event message is 422', async () => {
      const own = await t.createTenant({ fraud_guard: guard({ prefix_hour: { floor: 2, ratio: 1 } }) });
      const other = await t.createTenant({ fraud_guard: guard() });
      const { auth, tenantId } = own;
      const a = await accepted(t, auth, gb(0));
      const b = await accepted(t, auth, gb(1));
      for (const m of [a, b]) {
        const r = await feedback(t, auth, m.message_id);
        assert.equal(r.statusCode, 200, r.body);
        assert.deepEqual(r.json(), { message_id: m.message_id, outcome: 'verified', counted: true });
      }
      const after = await counters(t, tenantId);
      assert.deepEqual(after['p:+447400123'], { sent: 2, verified: 2 });
      assert.deepEqual(after['c:GB'], { sent: 2, verified: 2 });
      const converted = await t.deps.store.db.selectFrom('challenges').select('converted_at').where('id', '=', a.challenge_id).executeTakeFirstOrThrow();
      assert.equal(Number(converted.converted_at), clock.now());

      // Twice: answered, not counted, nothing moves.
      const twice = await feedback(t, auth, a.message_id);
      assert.equal(twice.statusCode, 200);
      assert.equal(twice.json().counted, false);
      assert.deepEqual(await counters(t, tenantId), after);

      // Another tenant's message, an unknown one: 404, and the message is untouched.
      const c = await accepted(t, other.auth, gb(5));
      const foreign = await feedback(t, auth, c.message_id);
      assert.equal(foreign.statusCode, 404, foreign.body);
      assert.equal(foreign.json().code, 'message.not_found');
      assert.deepEqual(await counters(t, other.tenantId), { 'c:GB': { sent: 1, verified: 0 }, 'p:+447400123': { sent: 1, verified: 0 } });
      assert.equal((await feedback(t, auth, 'msg_01m80q85m97d6hr2r51xbrp0zp')).statusCode, 404);

      // An event message carries no code.
      const event = await t.call('POST', '/v1/messages', { auth, body: { to: gb(7), body: 'Your parcel is on its way' } });
      assert.equal(event.statusCode, 202, event.body);
      const na = await feedback(t, auth, event.json().id);
      assert.equal(na.statusCode, 422, na.body);
      assert.equal(na.json().code, 'fraud.feedback_not_applicable');

      // With both codes converted the range takes two more before the floor-and-ratio (2) trips.
      await accepted(t, auth, gb(2));
      await accepted(t, auth, gb(3));
      assert.equal((await refused(t, auth, gb(4), 403, 'fraud.blocked')).rule, 'prefix_hour');
    });

    test('with the guard off, feedback marks the code converted and counts nothing', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: { mode: 'off' } });
      const s = await accepted(t, auth, gb(0));
      const r = await feedback(t, auth, s.message_id);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().counted, true);
      assert.deepEqual(await counters(t, tenantId), {}, 'the guard is off: no counters');
    });

    test('with the guard off, a verified code is marked converted in the same write as its approval', async () => {
      const { auth, tenantId } = await t.createTenant({ fraud_guard: { mode: 'off' } });
      const s = await accepted(t, auth, gb(5));
      const code = await codeFor(t, auth, gb(5));
      assert.equal((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } })).statusCode, 200);
      const row = await t.deps.store.db.selectFrom('challenges').select(['status', 'converted_at', 'verified_at']).where('id', '=', s.challenge_id).executeTakeFirstOrThrow();
      assert.equal(row.status, 'verified');
      assert.equal(Number(row.converted_at), Number(row.verified_at));
      assert.deepEqual(await counters(t, tenantId), {}, 'the guard is off: no counters');
      // Feedback afterwards finds it counted already.
      assert.equal((await feedback(t, auth, s.message_id)).json().counted, false);
    });

    test('IP signals: too many destination countries from one IP block it; other IPs and sends without client_ip go on', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ ip_countries: { max: 2 } }) });
      const ip = '203.0.113.7';
      await accepted(t, auth, gb(0), { client_ip: ip });
      await accepted(t, auth, de(0), { client_ip: ip });
      await accepted(t, auth, gb(1), { client_ip: ip }); // GB again: still two countries
      const p = await refused(t, auth, fr(0), 403, 'fraud.blocked', { client_ip: ip });
      assert.equal(p.rule, 'ip_countries');
      const [block] = (await t.call('GET', '/v1/fraud-guard/blocks', { auth })).json<{ items: Array<{ kind: string; key: string; figures: Record<string, number> }> }>().items;
      assert.deepEqual([block?.kind, block?.key, block?.figures], ['ip', ip, { countries: 3, max: 2 }]);
      // The IP is blocked, whatever the destination.
      assert.equal((await refused(t, auth, gb(2), 403, 'fraud.blocked', { client_ip: ip })).block_id, p.block_id);
      await accepted(t, auth, fr(1), { client_ip: '203.0.113.8' });
      await accepted(t, auth, fr(2));
      await accepted(t, auth, fr(3), { client_ip: '2001:db8::7' });
    });

    test('IP signals: unverified codes from one IP above max(floor, ratio × its verified codes)', async () => {
      const { auth } = await t.createTenant({ fraud_guard: guard({ ip_day: { floor: 3, ratio: 2 } }) });
      const office = '198.51.100.20';
      const script = '198.51.100.66';
      // The office verified 2: threshold max(3, 2 × 2) = 4.
      await sendAndVerify(t, auth, gb(10), { client_ip: office });
      await sendAndVerify(t, auth, de(10), { client_ip: office });
      for (let i = 0; i < 4; i++) await accepted(t, auth, gb(20 + i * 50), { client_ip: office });
      assert.equal((await refused(t, auth, gb(400), 403, 'fraud.blocked', { client_ip: office })).rule, 'ip_day');
      // The script verified nothing: the floor, 3.
      for (let i = 0; i < 3; i++) await accepted(t, auth, de(500 + i * 50), { client_ip: script });
      assert.equal((await refused(t, auth, de(900), 403, 'fraud.blocked', { client_ip: script })).rule, 'ip_day');
      // The IP rules look back 24 h: a day later both are open again.
      clock.advance(25 * HOUR);
      await accepted(t, auth, de(901), { client_ip: script });
    });
  });
}

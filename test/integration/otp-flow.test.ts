import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

const PHONE = '+14155552671';

async function latestCode(t: TestApp, auth: string, phone = PHONE): Promise<string> {
  await t.drainOutbox();
  const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth });
  const body = inbox.json<{ items: Array<{ body: string }> }>().items[0]?.body ?? '';
  const code = /(\d{4,10})/.exec(body)?.[1];
  assert.ok(code, `no code in the inbox for ${phone}`);
  return code;
}

for (const dialect of await testDialects()) {
  describe(`passcode flow (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 12));
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    test('send → inbox → verify, once', async () => {
      const { auth } = await t.createTenant({ app_name: 'Acme' });
      const sent = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+1 (415) 555-2671', purpose: 'login' } });
      assert.equal(sent.statusCode, 202, sent.body);
      const s = sent.json();
      assert.equal(s.phone_number, PHONE);
      assert.match(s.challenge_id, /^chl_/);
      assert.match(s.message_id, /^msg_/);
      assert.equal(new Date(s.expires_at).getTime() - clock.now(), 300_000);
      assert.equal(new Date(s.resend_available_at).getTime() - clock.now(), 30_000);

      const code = await latestCode(t, auth);
      assert.equal(code.length, 6);
      const ok = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.json(), { verified: true, challenge_id: s.challenge_id, verification_id: s.verification_id, phone_number: PHONE, purpose: 'login' });
      assert.match(s.verification_id, /^ver_/);

      const again = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'otp.already_verified');

      const state = await t.call('GET', `/v1/otp/challenges/${s.challenge_id}`, { auth });
      assert.equal(state.json().status, 'verified');
      assert.ok(!state.body.includes(code), 'challenge state must not reveal the code');

      const msg = await t.call('GET', `/v1/messages/${s.message_id}`, { auth });
      assert.equal(msg.json().status, 'sent');
      assert.equal(msg.json().provider, 'Inbox');
      assert.ok(!msg.body.includes(code), 'message log must mask the code');
      assert.match(msg.json().body, /\*{6} is your Acme login code/);
      assert.equal(msg.json().attempt_log.length, 1);

      const stats = (await t.call('GET', '/v1/stats?window=24h', { auth })).json();
      const total = stats.buckets.reduce((acc: { sends: number; verified: number }, b: { sends: number; verified: number }) => ({ sends: acc.sends + b.sends, verified: acc.verified + b.verified }), { sends: 0, verified: 0 });
      assert.deepEqual(total, { sends: 1, verified: 1 });
    });

    test('wrong codes count down, then lock', async () => {
      const { auth } = await t.createTenant({ max_verify_attempts: 3 });
      const s = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).json();
      const code = await latestCode(t, auth);
      const wrong = code === '000000' ? '111111' : '000000';
      const r1 = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code: wrong } });
      assert.equal(r1.statusCode, 400);
      assert.equal(r1.json().code, 'otp.invalid');
      assert.equal(r1.json().attempts_remaining, 2);
      const r2 = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code: wrong } });
      assert.equal(r2.json().attempts_remaining, 1);
      const r3 = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code: wrong } });
      assert.equal(r3.statusCode, 429);
      assert.equal(r3.json().code, 'otp.attempts_exhausted');
      // Even the right code no longer works.
      const r4 = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } });
      assert.equal(r4.statusCode, 429);
      assert.equal(r4.json().code, 'otp.attempts_exhausted');
    });

    test('a code expires with its TTL', async () => {
      const { auth } = await t.createTenant({ otp_ttl_seconds: 60 });
      const s = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).json();
      const code = await latestCode(t, auth);
      clock.advance(60_001);
      const r = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } });
      assert.equal(r.statusCode, 410);
      assert.equal(r.json().code, 'otp.expired');
      assert.equal((await t.call('GET', `/v1/otp/challenges/${s.challenge_id}`, { auth })).json().status, 'expired');
    });

    // Before verifications each send superseded the pending code (`otp.superseded`); a resend
    // now joins the verification and, under the default `same_code` policy, repeats its code
    // (docs/verifications.md; the policies are tested in verifications.test.ts).
    test('a resend joins the verification: the first message’s code verifies, by challenge and by phone and purpose', async () => {
      const { auth } = await t.createTenant({ resend_cooldown_seconds: 0 });
      const first = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE, purpose: 'mfa' } })).json();
      const firstCode = await latestCode(t, auth);
      const second = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE, purpose: 'mfa' } })).json();
      assert.equal(second.verification_id, first.verification_id);
      assert.equal(await latestCode(t, auth), firstCode);
      const byPhone = await t.call('POST', '/v1/otp/verify', { auth, body: { phone_number: PHONE, purpose: 'mfa', code: firstCode } });
      assert.equal(byPhone.statusCode, 200, byPhone.body);
      assert.equal(byPhone.json().challenge_id, second.challenge_id);
      const old = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: first.challenge_id, code: firstCode } });
      assert.equal(old.statusCode, 409);
      assert.equal(old.json().code, 'otp.already_verified');
    });

    test('resend cooldown and the hourly cap per phone answer 429 with Retry-After', async () => {
      const { auth } = await t.createTenant({ resend_cooldown_seconds: 30, max_sends_per_phone_per_hour: 2 });
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).statusCode, 202);
      const cool = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
      assert.equal(cool.statusCode, 429);
      assert.equal(cool.json().code, 'otp.resend_cooldown');
      assert.equal(cool.headers['retry-after'], '30');
      clock.advance(31_000);
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).statusCode, 202);
      clock.advance(31_000);
      const capped = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
      assert.equal(capped.statusCode, 429);
      assert.equal(capped.json().code, 'otp.rate_limited');
      assert.ok(Number(capped.headers['retry-after']) > 3000);
      // Another purpose still shares the per-phone cap; another phone does not.
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE, purpose: 'mfa' } })).statusCode, 429);
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155552672' } })).statusCode, 202);
      clock.advance(3_600_000);
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).statusCode, 202);
    });

    test('per-IP hourly cap applies when client_ip is given', async () => {
      const { auth } = await t.createTenant({ max_sends_per_ip_per_hour: 2 });
      for (const p of ['+14155550101', '+14155550102']) {
        assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: p, client_ip: '203.0.113.9' } })).statusCode, 202);
      }
      clock.advance(600_000);
      const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550103', client_ip: '203.0.113.9' } });
      assert.equal(r.statusCode, 429);
      assert.equal(r.json().code, 'otp.rate_limited');
      // The IP's oldest send of the hour frees its slot 50 minutes from now.
      assert.equal(r.headers['retry-after'], '3000');
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550103', client_ip: '203.0.113.10' } })).statusCode, 202);
    });

    test('allowed countries block other countries', async () => {
      const { auth } = await t.createTenant({ allowed_countries: ['GB'] });
      const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
      assert.equal(r.statusCode, 403);
      assert.equal(r.json().code, 'phone.country_blocked');
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+447400123456' } })).statusCode, 202);
    });

    test('test numbers get their fixed code and send nothing', async () => {
      const { auth } = await t.createTenant({ test_numbers: [{ phone_number: '+1 415 555 0199', code: '424242' }] });
      const s = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550199' } });
      assert.equal(s.statusCode, 202);
      assert.equal(s.json().message_id, null);
      await t.drainOutbox();
      const inbox = await t.call('GET', '/v1/inbox', { auth });
      assert.equal(inbox.json().items.length, 0);
      const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.json().challenge_id, code: '424242' } });
      assert.equal(v.statusCode, 200);
    });

    test('fictional numbers (Ofcom drama ranges libphonenumber rejects) work as test numbers, and only as test numbers', async () => {
      const bad = await t.call('POST', '/v1/tenants', { auth: adminAuth, body: { name: 'Drama', settings: { test_numbers: [{ phone_number: '+44 1632 970001', code: '111111' }] } } });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.equal(bad.json().code, 'tenant.invalid_settings');
      const { auth, tenantId } = await t.createTenant({ test_numbers: [{ phone_number: '+44 7700 900123', code: '135790' }, { phone_number: '+44 1632 960001', code: '246802' }] });
      const tenant = (await t.call('GET', `/v1/tenants/${tenantId}`, { auth: adminAuth })).json();
      assert.deepEqual(tenant.settings.test_numbers.map((n: { phone_number: string }) => n.phone_number), ['+447700900123', '+441632960001']);
      for (const [phone, code] of [['+44 7700 900123', '135790'], ['+441632960001', '246802']] as const) {
        const s = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } });
        assert.equal(s.statusCode, 202, s.body);
        assert.equal(s.json().message_id, null);
        const v = await t.call('POST', '/v1/otp/verify', { auth, body: { phone_number: phone, code } });
        assert.equal(v.statusCode, 200, v.body);
      }
      // Another number of the same fictional range is not one of the tenant's test numbers: invalid, as before.
      const other = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+447700900124' } });
      assert.equal(other.statusCode, 400);
      assert.equal(other.json().code, 'phone.invalid');
      await t.drainOutbox();
      assert.equal((await t.call('GET', '/v1/inbox', { auth })).json().items.length, 0);
    });

    test('code length, TTL and templates follow the tenant settings', async () => {
      const { auth } = await t.createTenant({ otp_length: 8, otp_ttl_seconds: 600, app_name: 'Zed', webotp_domain: 'zed.example', android_app_hash: 'FA+9qCX9VSu' });
      await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
      await t.drainOutbox();
      const body = (await t.call('GET', '/v1/inbox', { auth })).json().items[0].body as string;
      const code = /(\d{8})/.exec(body)?.[1];
      assert.ok(code);
      assert.match(body, /Zed/);
      assert.match(body, /10 min/);
      const lines = body.split('\n');
      assert.equal(lines.at(-1), `@zed.example #${code}`);
      assert.ok(lines.includes('FA+9qCX9VSu'));
    });

    test('Idempotency-Key: same body replays without a second SMS; another body is 409', async () => {
      const { auth } = await t.createTenant();
      const headers = { 'idempotency-key': 'order-42' };
      const a = await t.call('POST', '/v1/otp/send', { auth, headers, body: { phone_number: PHONE } });
      const b = await t.call('POST', '/v1/otp/send', { auth, headers, body: { phone_number: PHONE } });
      assert.equal(a.statusCode, 202);
      assert.equal(b.statusCode, 202);
      assert.deepEqual(b.json(), a.json());
      await t.drainOutbox();
      assert.equal((await t.call('GET', '/v1/inbox', { auth })).json().items.length, 1);
      const c = await t.call('POST', '/v1/otp/send', { auth, headers, body: { phone_number: '+14155552672' } });
      assert.equal(c.statusCode, 409);
      assert.equal(c.json().code, 'request.idempotency_conflict');
    });

    test('a challenge of another tenant is not found', async () => {
      const a = await t.createTenant();
      const b = await t.createTenant();
      const s = (await t.call('POST', '/v1/otp/send', { auth: a.auth, body: { phone_number: PHONE } })).json();
      const code = await latestCode(t, a.auth);
      const r = await t.call('POST', '/v1/otp/verify', { auth: b.auth, body: { challenge_id: s.challenge_id, code } });
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'otp.challenge_not_found');
      assert.equal((await t.call('GET', `/v1/otp/challenges/${s.challenge_id}`, { auth: b.auth })).statusCode, 404);
      assert.equal((await t.call('GET', `/v1/messages/${s.message_id}`, { auth: b.auth })).statusCode, 404);
      // The admin may act for tenant A with X-Tenant-Id.
      const asAdmin = await t.call('GET', `/v1/otp/challenges/${s.challenge_id}`, { auth: adminAuth, headers: { 'x-tenant-id': a.tenantId } });
      assert.equal(asAdmin.statusCode, 200);
    });
  });
}

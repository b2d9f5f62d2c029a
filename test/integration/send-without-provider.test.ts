import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sidOf } from '../../src/domain/twilio-sids.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/**
 * A send that could go nowhere (no provider saved, no platform Default: production without
 * OTPGATE_DEFAULT_PROVIDER) answers 409 provider.not_configured, as the test SMS does, and
 * stores nothing. Development's Inbox Default keeps every other suite sending.
 */
const PHONE = '+14155552671';
const TW = twilioFixtures.withSenderNumber;

for (const dialect of await testDialects()) {
  describe(`a send with no usable provider (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, env: { OTPGATE_ENV: 'production' } });
    });
    after(async () => t.close());

    const rows = async (tenantId: string) => ({
      messages: (await t.deps.store.db.selectFrom('messages').select('id').where('tenant_id', '=', tenantId).execute()).length,
      challenges: (await t.deps.store.db.selectFrom('challenges').select('id').where('tenant_id', '=', tenantId).execute()).length,
    });

    test('409 provider.not_configured for a passcode and an event SMS, and nothing is stored', async () => {
      const { auth, tenantId } = await t.createTenant();
      const sends = [
        await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } }),
        await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE }, headers: { 'idempotency-key': 'k1' } }),
        await t.call('POST', '/v1/messages', { auth, body: { to: PHONE, body: 'Your parcel is on its way.' } }),
      ];
      for (const res of sends) {
        assert.equal(res.statusCode, 409, res.body);
        assert.equal(res.json().code, 'provider.not_configured');
        assert.match(res.json().detail, /no provider is configured/i);
      }
      assert.deepEqual(await rows(tenantId), { messages: 0, challenges: 0 });
      // The same key, once a provider is saved, is a new send (the refusal was not kept).
      const saved = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Twilio', twilio: TW } });
      assert.equal(saved.statusCode, 200, saved.body);
      const sent = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE }, headers: { 'idempotency-key': 'k1' } });
      assert.equal(sent.statusCode, 202, sent.body);
      assert.equal((await t.call('POST', '/v1/messages', { auth, body: { to: '+14155552672', body: 'Your parcel is on its way.' } })).statusCode, 202);
      assert.deepEqual(await rows(tenantId), { messages: 2, challenges: 1 });
    });

    test('the Twilio Verify API and a platform receiver refuse it too, each in its own error form', async () => {
      const { auth, apiKey, tenantId } = await t.createTenant();
      // Twilio Verify: Delivery channel disabled (60223), as for a channel otpgate does not deliver.
      const basic = `Basic ${Buffer.from(`${sidOf(tenantId, 'ten')}:${apiKey}`).toString('base64')}`;
      const form = (f: Record<string, string>) => new URLSearchParams(f).toString();
      const inject = (url: string, body: string) => t.app.inject({ method: 'POST', url, headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: body });
      const service = await inject('/v2/Services', form({ FriendlyName: 'Shop' }));
      assert.equal(service.statusCode, 201, service.body);
      const v = await inject(`/v2/Services/${service.json().sid}/Verifications`, form({ To: PHONE, Channel: 'sms' }));
      assert.equal(v.statusCode, 400, v.body);
      assert.equal(v.json().code, 60223);
      assert.match(v.json().message, /no SMS provider is configured/);
      // Mosaic's custom gateway contract: its call is refused with 409, nothing queued.
      const key = 'mosaic-no-provider-key-0123456789';
      assert.equal((await t.call('PUT', '/v1/receivers/mosaic', { auth, body: { enabled: true, secrets: [key] } })).statusCode, 200);
      const relayed = await t.app.inject({ method: 'POST', url: `/v1/receivers/mosaic/${tenantId}`, headers: { 'x-api-key': key, 'content-type': 'application/json' }, payload: JSON.stringify({ phone_number: PHONE, sender_id: 'Shop', message: 'Your code is 123456' }) });
      assert.equal(relayed.statusCode, 409, relayed.body);
      assert.ok(!relayed.body.includes('123456'), 'the code is not echoed');
      const unsigned = await t.app.inject({ method: 'POST', url: `/v1/receivers/mosaic/${tenantId}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ phone_number: PHONE, sender_id: 'Shop', message: 'Your code is 123456' }) });
      assert.equal(unsigned.statusCode, 401);
      // Each call is counted by platform and outcome.
      const metrics = (await t.call('GET', '/metrics')).body;
      assert.match(metrics, /otpgate_receiver_calls_total\{platform="mosaic",outcome="refused"\} 1\b/);
      assert.match(metrics, /otpgate_receiver_calls_total\{platform="mosaic",outcome="unauthenticated"\} 1\b/);
      assert.deepEqual(await rows(tenantId), { messages: 0, challenges: 0 });
    });
  });
}

test('a platform Default is a usable provider for a tenant with none of its own', async () => {
  const t = await createTestApp({ env: { OTPGATE_ENV: 'production', OTPGATE_DEFAULT_PROVIDER: 'Twilio', OTPGATE_DEFAULT_PROVIDER_CONFIG: JSON.stringify(TW) } });
  try {
    const { auth } = await t.createTenant();
    const res = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
    assert.equal(res.statusCode, 202, res.body);
  } finally {
    await t.close();
  }
});

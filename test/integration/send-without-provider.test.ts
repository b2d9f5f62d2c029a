import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
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

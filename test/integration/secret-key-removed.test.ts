import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/**
 * Values sealed under a key that is no longer among OTPGATE_SECRET_KEY's (an operator dropped
 * the old id after a rotation, or restored another server's data) never turn a request into a
 * 500: a queued message fails at once with its reason, and a `same_code` resend starts a new
 * verification with a new code instead of repeating the one it cannot read.
 */
const otherKey = Buffer.alloc(32, 9).toString('base64');

for (const dialect of await testDialects()) {
  describe(`values sealed under a removed secret key (${dialect})`, () => {
    const apps: TestApp[] = [];
    after(async () => {
      for (const a of apps.reverse()) await a.close();
    });

    test('the queued message fails with its reason, and a same_code resend starts a new verification', async () => {
      const first = await createTestApp({ dialect });
      apps.push(first);
      const { auth } = await first.createTenant({ resend_policy: 'same_code', resend_cooldown_seconds: 0 });
      const sent = await first.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550161' } });
      assert.equal(sent.statusCode, 202, sent.body);
      const { verification_id: before, message_id: messageId } = sent.json<{ verification_id: string; message_id: string }>();

      // The same data, served with only another key: the first key's id is gone.
      const second = await createTestApp({ dialect, dbUrl: first.dbUrl, env: { OTPGATE_SECRET_KEY: `k2:${otherKey}` } });
      apps.push(second);
      await second.drainOutbox();
      const message = await second.deps.store.db.selectFrom('messages').select(['status', 'error_kind', 'error_message', 'body_sealed']).where('id', '=', messageId).executeTakeFirstOrThrow();
      assert.deepEqual(message, { status: 'failed', error_kind: 'internal', error_message: 'The message body cannot be opened with the configured secret keys.', body_sealed: null });
      assert.doesNotMatch(second.logs.text(), /delivery failed unexpectedly/);

      const resent = await second.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550161' } });
      assert.equal(resent.statusCode, 202, resent.body);
      const after = resent.json<{ verification_id: string }>().verification_id;
      assert.notEqual(after, before, 'a new verification');
      const old = await second.deps.store.db.selectFrom('verifications').select('status').where('id', '=', before).executeTakeFirstOrThrow();
      assert.equal(old.status, 'canceled');
      assert.match(second.logs.text(), /cannot be opened with the configured secret keys; the resend starts a new verification/);
      // The new verification's code is sealed under the key now in use: a further resend repeats it.
      const again = await second.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550161' } });
      assert.equal(again.statusCode, 202, again.body);
      assert.equal(again.json<{ verification_id: string }>().verification_id, after);
    });
  });
}

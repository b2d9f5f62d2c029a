import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createManualClock } from '../../src/domain/clock.js';
import { KEY_USE_RECORD_MS } from '../../src/services/api-key-service.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

for (const dialect of await testDialects()) {
  describe(`API key last use (${dialect})`, () => {
    const clock = createManualClock(Date.UTC(2026, 10, 22, 12));
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    async function lastUsed(tenantId: string, keyId: string): Promise<string | null> {
      // The use is written off the request's path: give the write a moment.
      await sleep(50);
      const list = await t.call('GET', `/v1/tenants/${tenantId}/api-keys`, { auth: adminAuth });
      assert.equal(list.statusCode, 200, list.body);
      const key = list.json<{ items: Array<{ id: string; last_used_at: string | null }> }>().items.find((k) => k.id === keyId);
      assert.ok(key, 'the key is listed');
      return key.last_used_at;
    }

    test('never used → null; a call sets it; within a minute it is not written again; after, it moves on', async () => {
      const { tenantId, keyId, auth } = await t.createTenant();
      assert.equal(await lastUsed(tenantId, keyId), null);

      const first = clock.now();
      assert.equal((await t.call('GET', '/v1/messages', { auth })).statusCode, 200);
      assert.equal(await lastUsed(tenantId, keyId), new Date(first).toISOString());

      clock.advance(KEY_USE_RECORD_MS - 1000);
      assert.equal((await t.call('GET', '/v1/messages', { auth })).statusCode, 200);
      assert.equal(await lastUsed(tenantId, keyId), new Date(first).toISOString(), 'not written again within the minute');

      clock.advance(2000);
      assert.equal((await t.call('GET', '/v1/messages', { auth })).statusCode, 200);
      assert.equal(await lastUsed(tenantId, keyId), new Date(clock.now()).toISOString());
    });

    test('an access token from the key counts as a use of the key; a wrong key records nothing', async () => {
      const { tenantId, keyId, apiKey } = await t.createTenant(undefined, 'Tokens');
      const wrong = await t.call('GET', '/v1/messages', { auth: `Bearer ${apiKey}x` });
      assert.equal(wrong.statusCode, 401);
      assert.equal(await lastUsed(tenantId, keyId), null);
      clock.advance(KEY_USE_RECORD_MS * 2);
      const tok = await t.app.inject({
        method: 'POST',
        url: '/oauth2/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=client_credentials&client_id=${keyId}&client_secret=${encodeURIComponent(apiKey)}`,
      });
      assert.equal(tok.statusCode, 200, tok.body);
      assert.equal(await lastUsed(tenantId, keyId), new Date(clock.now()).toISOString());
      assert.ok(!t.logs.text().includes(apiKey), 'the key is never logged');
    });
  });
}

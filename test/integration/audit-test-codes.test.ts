import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/** A test number's fixed code verifies for real: the audit log keeps the number, never the code. */
const NUMBER = '+14155550100';
const CODE = '481516';
const CODE2 = '234242';

for (const dialect of await testDialects()) {
  describe(`audit log and test numbers (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(async () => t.close());

    test('tenant create and update record the number with its code masked, in the answer and the row', async () => {
      const { tenantId } = await t.createTenant({ test_numbers: [{ phone_number: NUMBER, code: CODE }] });
      const patched = await t.call('PATCH', `/v1/tenants/${tenantId}`, { auth: adminAuth, body: { settings: { test_numbers: [{ phone_number: NUMBER, code: CODE2 }] } } });
      assert.equal(patched.statusCode, 200, patched.body);
      const log = await t.call('GET', `/v1/tenants/${tenantId}/audit-log?limit=100`, { auth: adminAuth });
      const byAction = (a: string) => log.json().items.find((e: { action: string }) => e.action === a);
      assert.deepEqual(byAction('tenant.created').details.settings.test_numbers, [{ phone_number: NUMBER, code: '******' }]);
      assert.deepEqual(byAction('tenant.updated').details.settings.test_numbers, [{ phone_number: NUMBER, code: '******' }]);
      const rows = await t.deps.store.db.selectFrom('audit_log').select('details').where('tenant_id', '=', tenantId).execute();
      const raw = rows.map((r) => r.details).join('\n');
      assert.ok(raw.includes(NUMBER), 'the number is recorded');
      assert.ok(!raw.includes(CODE) && !raw.includes(CODE2), 'no code in the stored audit rows');
      // The code itself still works: the mask is the log's only.
      const { auth } = await t.createTenant({ test_numbers: [{ phone_number: NUMBER, code: CODE }] });
      const sent = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: NUMBER } });
      assert.equal((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: sent.json().challenge_id, code: CODE } })).statusCode, 200);
    });

    test('an entry written before the mask is masked when read', async () => {
      const { tenantId } = await t.createTenant();
      await t.deps.store.db
        .insertInto('audit_log')
        .values({ id: 'aud_0000000000zzzzzzzzzzzzzzzz', tenant_id: tenantId, actor: 'admin', action: 'tenant.updated', target: tenantId, details: JSON.stringify({ settings: { test_numbers: [{ phone_number: NUMBER, code: CODE }] } }), created_at: t.deps.clock.now() })
        .execute();
      for (const [url, headers] of [[`/v1/tenants/${tenantId}/audit-log`, {}], ['/v1/audit-log', { 'x-tenant-id': tenantId }]] as const) {
        const res = await t.call('GET', url, { auth: adminAuth, headers });
        assert.equal(res.statusCode, 200, res.body);
        assert.ok(!res.body.includes(CODE), `${url} shows the code`);
        assert.ok(res.body.includes(NUMBER));
      }
    });
  });
}

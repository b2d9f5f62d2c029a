import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createManualClock } from '../../src/domain/clock.js';
import { newId } from '../../src/domain/ids.js';
import { createHousekeeping } from '../../src/services/housekeeping-service.js';
import { TEST_ADMIN_KEY, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/**
 * Deleting a tenant (DELETE /v1/tenants/{id}): it is gone from every read at once, with its
 * keys and whatever it still had waiting to be sent; its rows then go in bounded batches
 * (housekeeping), its own row last, while another tenant's rows stay as they were. Before, one
 * statement cascaded through all of it: seconds of SQLite's request thread for a large tenant
 * (docs/performance.md).
 */
const admin = `Bearer ${TEST_ADMIN_KEY}`;

for (const dialect of await testDialects()) {
  describe(`tenant deletion (${dialect})`, () => {
    const clock = createManualClock(Date.now());
    let t: TestApp;

    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    /** Every table with a tenant_id: how many rows each holds of `tenantId`. */
    async function rowsOf(tenantId: string): Promise<Record<string, number>> {
      const db = t.deps.store.db;
      const tables =
        dialect === 'sqlite'
          ? (await sql<{ name: string }>`select m.name from sqlite_master m, pragma_table_info(m.name) c where m.type = 'table' and c.name = 'tenant_id'`.execute(db)).rows.map((r) => r.name)
          : (await sql<{ name: string }>`select table_name as name from information_schema.columns where column_name = 'tenant_id' and table_schema = current_schema()`.execute(db)).rows.map((r) => r.name);
      assert.ok(tables.length >= 15, tables.join());
      const out: Record<string, number> = {};
      for (const table of tables.sort()) {
        const n = Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where tenant_id = ${tenantId}`.execute(db)).rows[0]!.n);
        if (n > 0) out[table] = n;
      }
      return out;
    }

    /** A tenant with a little of everything: codes, messages, Inbox items, audit, counters, a decision, events. */
    async function tenantWithData(name: string) {
      const tenant = await t.createTenant({ resend_cooldown_seconds: 0 }, name);
      for (let i = 0; i < 6; i++) {
        const r = await t.call('POST', '/v1/otp/send', { auth: tenant.auth, body: { phone_number: `+1415555${String(100 + i).padStart(4, '0')}` } });
        assert.equal(r.statusCode, 202, r.body);
      }
      await t.drainOutbox();
      const db = t.deps.store.db;
      const now = clock.now();
      await db.insertInto('fraud_counters').values(Array.from({ length: 8 }, (_, i) => ({ tenant_id: tenant.tenantId, key: `p:+1415555${i}`, bucket: now - (now % 3_600_000), sent: 1, verified: 0, segments: 1, cost_micros: 0 }))).execute();
      await db
        .insertInto('fraud_decisions')
        .values({ id: newId('fgb'), tenant_id: tenant.tenantId, action: 'block', kind: 'prefix', key: 'p:+1415555', rule: 'r', reason: 'r', figures: '{}', level: 1, hits: 1, created_at: now, expires_at: now + 60_000, lifted_at: null, lifted_by: null })
        .execute();
      const endpoint = newId('whe');
      await db
        .insertInto('event_endpoints')
        .values({ id: endpoint, tenant_id: tenant.tenantId, url: 'https://hooks.example.com/otp', description: null, events: null, secret_sealed: 'x', previous_secret_sealed: null, previous_secret_until: null, enabled: 1, disabled_reason: null, failing_since: null, created_at: now, updated_at: now })
        .execute();
      const delivery = (status: 'queued' | 'delivered') => ({
        id: newId('evd'), event_id: newId('evt'), tenant_id: tenant.tenantId, endpoint_id: endpoint, type: 'message.sent', payload: '{}', status, attempts: 0, next_attempt_at: now + 3_600_000,
        lease_owner: null, lease_until: null, last_attempt_at: null, last_http_status: null, last_error: null, created_at: now, updated_at: now,
      });
      await db.insertInto('event_deliveries').values([delivery('delivered'), delivery('delivered'), delivery('queued')]).execute();
      return tenant;
    }

    /** A message still waiting to be sent. */
    async function waiting(auth: string): Promise<void> {
      const queued = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550199' } });
      assert.equal(queued.statusCode, 202, queued.body);
    }

    test('gone at once; its rows in bounded batches, its row last; another tenant untouched; two nodes may purge at once', async () => {
      const gone = await tenantWithData('Gone');
      const kept = await tenantWithData('Kept');
      await waiting(gone.auth);
      await waiting(kept.auth);
      const goneBefore = await rowsOf(gone.tenantId);
      for (const table of ['challenges', 'messages', 'message_attempts', 'inbox_messages', 'verifications', 'audit_log', 'fraud_counters', 'fraud_decisions', 'event_deliveries', 'api_keys']) {
        assert.ok((goneBefore[table] ?? 0) > 0, `the tenant has rows in ${table}`);
      }
      const inboxBefore = goneBefore.inbox_messages!;

      // The message still queued for the deleted tenant: gone with it, never sent.
      const gone2 = await t.createTenant({}, 'Gone too');
      await waiting(gone2.auth);

      for (const id of [gone.tenantId, gone2.tenantId]) assert.equal((await t.call('DELETE', `/v1/tenants/${id}`, { auth: admin })).statusCode, 204);
      // Gone from every read at once.
      assert.equal((await t.call('GET', `/v1/tenants/${gone.tenantId}`, { auth: admin })).json().code, 'tenant.not_found');
      assert.equal((await t.call('PATCH', `/v1/tenants/${gone.tenantId}`, { auth: admin, body: { name: 'Back' } })).statusCode, 404);
      assert.equal((await t.call('DELETE', `/v1/tenants/${gone.tenantId}`, { auth: admin })).statusCode, 404, 'deleted once');
      // Its key, still in this node's cache of keys, finds no tenant.
      const refused = await t.call('POST', '/v1/otp/send', { auth: gone.auth, body: { phone_number: '+14155550100' } });
      assert.equal(refused.statusCode, 404, refused.body);
      assert.equal(refused.json().code, 'tenant.not_found');
      assert.equal((await t.call('GET', '/v1/messages', { auth: admin, headers: { 'x-tenant-id': gone.tenantId } })).statusCode, 404);
      const listed = (await t.call('GET', '/v1/tenants?limit=100', { auth: admin })).json().items.map((x: { id: string }) => x.id);
      assert.ok(listed.includes(kept.tenantId) && !listed.includes(gone.tenantId) && !listed.includes(gone2.tenantId));
      const after = await rowsOf(gone.tenantId);
      assert.equal(after.api_keys, undefined);
      assert.equal(after.messages, goneBefore.messages! - 1, 'the waiting message went with it');
      assert.equal(after.event_deliveries, 2, 'the waiting event went with it');
      const endpoints = await t.deps.store.db.selectFrom('event_endpoints').select('enabled').where('tenant_id', '=', gone.tenantId).execute();
      assert.deepEqual(endpoints.map((e) => e.enabled), [0], 'its event endpoint is off: nothing in flight emits to it');
      assert.equal(after.tenants, undefined, 'tenants has no tenant_id');
      await t.drainOutbox();
      assert.equal((await rowsOf(gone.tenantId)).inbox_messages, inboxBefore, 'nothing more was sent for it');
      const keptBefore = await rowsOf(kept.tenantId);
      assert.equal(keptBefore.inbox_messages, 7, 'the kept tenant’s waiting message was sent');
      const g2 = await rowsOf(gone2.tenantId);
      assert.deepEqual([g2.challenges, g2.messages, g2.inbox_messages], [1, undefined, undefined], 'the other deleted tenant’s one message was never sent');

      // Housekeeping: one row a unit, 25 units a run at most (maxBatchesPerRun 1 × 25): a run
      // takes part of the tenant, the next ones the rest.
      const housekeeping = () => createHousekeeping(t.deps, { batchSize: 1, maxBatchesPerRun: 1, restFactor: 0 });
      const total = Object.values(after).reduce((a, b) => a + b, 0);
      assert.ok(total > 25, `${total} rows: more than a run's 25`);
      const first = await housekeeping().runOnce();
      const left = Object.values(await rowsOf(gone.tenantId)).reduce((a, b) => a + b, 0);
      assert.ok(first.deletedTenants > 25 && left > 0 && left < total, `the first run: ${first.deletedTenants} rows gone, ${left} of ${total} left`);
      // Two nodes' runs at once until both tenants are gone.
      for (let run = 0; run < 20; run++) {
        const left = await t.deps.store.db.selectFrom('tenants').select('id').where('id', 'in', [gone.tenantId, gone2.tenantId]).execute();
        if (left.length === 0) break;
        await Promise.all([housekeeping().runOnce(), housekeeping().runOnce()]);
      }
      assert.deepEqual(await rowsOf(gone.tenantId), {});
      assert.deepEqual(await rowsOf(gone2.tenantId), {});
      assert.equal((await t.deps.store.db.selectFrom('tenants').select('id').where('id', '=', gone.tenantId).execute()).length, 0, 'its row last');
      assert.deepEqual(await rowsOf(kept.tenantId), keptBefore, 'the other tenant keeps every row');
      assert.equal((await housekeeping().runOnce()).deletedTenants, 0);
      // The platform's audit log keeps the deletion.
      const audit = await t.deps.store.db.selectFrom('audit_log').select(['action', 'target']).where('tenant_id', 'is', null).where('action', '=', 'tenant.deleted').execute();
      assert.deepEqual(audit.map((a) => a.target).sort(), [gone.tenantId, gone2.tenantId].sort());
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCounterBatcher } from '../../src/services/counter-batcher.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { guard } from '../integration/fraud-guard-support.js';
import { postgresSkipReason, statementsOf } from './support.js';

const skip = await postgresSkipReason('fraud-guard counts in batches');

// src/services/counter-batcher.ts: on PostgreSQL the sends' and verifies' counts share upserts.
describe('fraud-guard counts in batches (PostgreSQL)', { skip }, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ dialect: 'postgres' });
  });
  after(async () => t?.close());

  const verified = (key: string, bucket: number) => ({ key, bucket, delta: { sent: 0, verified: 1, segments: 0, costMicros: 0 } });

  async function countersOf(tenantId: string) {
    return t.deps.store.db.selectFrom('fraud_counters').select(['key', 'bucket', 'verified']).where('tenant_id', '=', tenantId).orderBy('key').orderBy('bucket').execute();
  }

  test('the counts of one turn are one upsert, summed per tenant, key and bucket; each promise settles after it', async () => {
    const a = await t.createTenant();
    const b = await t.createTenant();
    const batcher = createCounterBatcher(t.deps.store.db);
    const hour = Date.UTC(2026, 11, 4, 9);
    const statements = await statementsOf(() =>
      Promise.all([
        batcher.add(a.tenantId, [verified('c:GB', hour), verified('p:+447400123', hour)]),
        batcher.add(a.tenantId, [verified('c:GB', hour), verified('p:+447400124', hour)]),
        batcher.add(b.tenantId, [verified('c:GB', hour)]),
        batcher.add(a.tenantId, [verified('c:GB', hour - 3_600_000)]),
      ]),
    );
    assert.equal(statements.filter((s) => /insert into "?fraud_counters/.test(s)).length, 1, statements.join('\n'));
    assert.deepEqual(await countersOf(a.tenantId), [
      { key: 'c:GB', bucket: hour - 3_600_000, verified: 1 },
      { key: 'c:GB', bucket: hour, verified: 2 },
      { key: 'p:+447400123', bucket: hour, verified: 1 },
      { key: 'p:+447400124', bucket: hour, verified: 1 },
    ]);
    assert.deepEqual(await countersOf(b.tenantId), [{ key: 'c:GB', bucket: hour, verified: 1 }]);

    // Later counts add to the same rows.
    await batcher.add(b.tenantId, [verified('c:GB', hour)]);
    assert.deepEqual(await countersOf(b.tenantId), [{ key: 'c:GB', bucket: hour, verified: 2 }]);
  });

  test('a batch that fails is written again tenant by tenant: only the failing tenant’s counts fail', async () => {
    const kept = await t.createTenant();
    const batcher = createCounterBatcher(t.deps.store.db);
    const hour = Date.UTC(2026, 11, 4, 10);
    const [gone, ok] = await Promise.allSettled([
      batcher.add('ten_does_not_exist', [verified('c:GB', hour)]),
      batcher.add(kept.tenantId, [verified('c:GB', hour)]),
    ]);
    assert.equal(gone.status, 'rejected');
    assert.equal(ok.status, 'fulfilled');
    assert.deepEqual(await countersOf(kept.tenantId), [{ key: 'c:GB', bucket: hour, verified: 1 }]);
  });

  test('concurrent verifies through the API: every verified code is counted once', async () => {
    const { auth, tenantId } = await t.createTenant({ fraud_guard: guard(), resend_cooldown_seconds: 0 });
    const phones = Array.from({ length: 12 }, (_, i) => `+44740012${String(3000 + i * 7)}`);
    const sent: Array<{ challenge_id: string; phone: string }> = [];
    for (const phone of phones) {
      const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } });
      assert.equal(r.statusCode, 202, r.body);
      sent.push({ challenge_id: r.json().challenge_id, phone });
    }
    await t.drainOutbox();
    const codes = await Promise.all(
      sent.map(async (s) => {
        const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(s.phone)}`, { auth });
        return /(\d{6})/.exec(inbox.json<{ items: Array<{ body: string }> }>().items[0]!.body)![1]!;
      }),
    );
    const answers = await Promise.all(sent.map((s, i) => t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code: codes[i] } })));
    for (const a of answers) assert.equal(a.json<{ verified: boolean }>().verified, true, a.body);
    const rows = await countersOf(tenantId);
    const country = rows.filter((r) => r.key === 'c:GB').reduce((n, r) => n + r.verified, 0);
    assert.equal(country, phones.length);
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createManualClock } from '../../src/domain/clock.js';
import { pgStatement } from '../../src/store/prepared.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { postgresSkipReason, queriesOf, withPg } from './support.js';
import { guardInputsManyText } from '../../src/store/queries/fraud.js';

const skip = await postgresSkipReason('named statements');

/**
 * The statements of the send, the verify and the delivery bookkeeping are prepared by name on
 * each PostgreSQL connection (src/store/prepared.ts), so the server parses and plans them once
 * per connection instead of on every run.
 */
describe('named statements on PostgreSQL', { skip }, () => {
  const clock = createManualClock(Date.UTC(2026, 11, 4, 9));
  let t: TestApp;
  before(async () => {
    // One connection: every statement runs on the connection that is then looked at.
    t = await createTestApp({ dialect: 'postgres', clock, env: { OTPGATE_PG_POOL_SIZE: '1' } });
  });
  after(async () => t?.close());

  test('the send and the verify go by name, and the server holds each statement once', async () => {
    const { auth } = await t.createTenant({ fraud_guard: { mode: 'off' } });
    const ids: string[] = [];
    const sends0 = await queriesOf(async () => {
      for (let i = 0; i < 3; i++) {
        const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: `+1415555${7000 + i}` } });
        assert.equal(r.statusCode, 202, r.body);
        ids.push((r.json() as { challenge_id: string }).challenge_id);
      }
    });
    await t.drainOutbox();
    const inbox = (await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent('+14155557000')}`, { auth })).json<{ items: Array<{ body: string }> }>();
    const code = /\b(\d{6})\b/.exec(inbox.items[0]!.body)![1]!;
    const queries = [
      ...sends0,
      ...(await queriesOf(async () => {
        const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: ids[0], code } });
        assert.equal(v.statusCode, 200, v.body);
      })),
    ];
    const sends = queries.filter((q) => q.text.includes('otpgate_send('));
    assert.equal(sends.length, 3, JSON.stringify(queries));
    assert.match(sends[0]!.name ?? '', /^og_[0-9a-f]{24}$/);
    assert.ok(sends.every((q) => q.name === sends[0]!.name), 'each send uses the same name');
    const verifies = queries.filter((q) => q.text.includes('otpgate_verify_'));
    assert.ok(verifies.length > 0 && verifies.every((q) => q.name?.startsWith('og_')), JSON.stringify(verifies));

    const held = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(t.deps.store.db);
    const send = held.rows.filter((r) => r.statement.includes('otpgate_send('));
    assert.deepEqual(send.map((r) => r.name), [sends[0]!.name], JSON.stringify(held.rows));
  });

  test('the delivery bookkeeping (claim, outcomes and their attempts) goes by name', async () => {
    const { auth } = await t.createTenant({ fraud_guard: { mode: 'off' } });
    const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155557100' } });
    assert.equal(r.statusCode, 202, r.body);
    const queries = await queriesOf(() => t.drainOutbox());
    const claim = queries.filter((q) => q.text.startsWith('select * from otpgate_claim('));
    const outcomes = queries.filter((q) => q.text === 'select otpgate_complete_batch($1::jsonb) as r');
    assert.ok(claim.length > 0 && claim.every((q) => q.name?.startsWith('og_')), JSON.stringify(queries));
    assert.ok(outcomes.length > 0 && outcomes.every((q) => q.name?.startsWith('og_')), JSON.stringify(queries));
  });

  test('with the fraud guard on, its read and the send that counts go by name', async () => {
    const { auth } = await t.createTenant({ fraud_guard: { mode: 'enforce' } });
    const queries = await queriesOf(async () => {
      const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155557200', client_ip: '198.51.100.7' } });
      assert.equal(r.statusCode, 202, r.body);
    });
    for (const [what, is] of [['the guard read', (text: string) => text === guardInputsManyText], ['the send and its counts', (text: string) => /otpgate_send_batch\(/.test(text)]] as const) {
      const found = queries.filter((q) => is(q.text));
      assert.equal(found.length, 1, `${what}: ${JSON.stringify(queries)}`);
      assert.match(found[0]!.name ?? '', /^og_/, what);
    }
  });

  test('a named statement whose table changed under it fails once, and the next run prepares it again on a new connection', async () => {
    await sql`create table named_probe (a int)`.execute(t.deps.store.db);
    await sql`insert into named_probe values (1)`.execute(t.deps.store.db);
    const probe = pgStatement<Record<string, number>>('select * from named_probe');
    assert.deepEqual((await probe.execute(t.deps.store.db, [])).rows, [{ a: 1 }]);

    // Another node's migration: the prepared `select *` would now return another row type.
    const url = t.dbUrl;
    await withPg(url, (c) => c.query('alter table named_probe add column b int default 2'));
    await assert.rejects(probe.execute(t.deps.store.db, []), /cached plan must not change result type/);
    assert.deepEqual((await probe.execute(t.deps.store.db, [])).rows, [{ a: 1, b: 2 }]);
  });
});

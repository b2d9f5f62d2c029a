import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createOutcomeBatcher } from '../../src/dispatcher/outcome-batcher.js';
import { createRemoteWriteServer } from '../../src/dispatcher/remote-writes.js';
import type { Store } from '../../src/store/db.js';
import { batchOutcomeColumns, type ClaimedMessage } from '../../src/store/queries/messages.js';
import { postgresSkipReason, statementsOf } from './support.js';

const skip = await postgresSkipReason('delivery outcomes in batches');

// src/dispatcher/outcome-batcher.ts: on PostgreSQL the dispatcher's outcomes share a statement
// (migration 0027), or a transaction when they cannot.
describe('delivery outcomes committed in batches (PostgreSQL)', { skip }, () => {
  let t: TestApp;
  let auth: string;
  let tenantId: string;
  let units = 0;
  let counted: Store;

  before(async () => {
    t = await createTestApp({ dialect: 'postgres' });
    ({ auth, tenantId } = await t.createTenant({ resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 1000 }));
    const store = t.deps.store;
    // The same store, counting its write units (each one a transaction on PostgreSQL).
    counted = { ...store, writes: { write: (unit) => ((units += 1), store.writes.write(unit)) } };
  });
  after(async () => {
    await t?.close();
  });

  async function claimed(phones: string[], owner: string, as = auth): Promise<string[]> {
    const ids: string[] = [];
    for (const phone of phones) {
      const r = await t.call('POST', '/v1/otp/send', { auth: as, body: { phone_number: phone } });
      assert.equal(r.statusCode, 202, r.body);
      ids.push(r.json().message_id);
    }
    const now = Date.now();
    const [claim] = await createRemoteWriteServer(t.deps.store, t.deps.events)([{ kind: 'claim', owner, now, leaseUntil: now + 60_000, limit: 100, expiredLeases: false }]);
    assert.ok(claim?.ok);
    const got = (claim.value as ClaimedMessage[]).map((m) => m.id);
    for (const id of ids) assert.ok(got.includes(id), `${id} claimed`);
    return ids;
  }

  const sentBy = (id: string, owner: string) => {
    const now = Date.now();
    return { messageId: id, tenantId, owner, update: { status: 'sent' as const, lease_owner: null, lease_until: null, updated_at: now, sent_at: now }, attempt: undefined };
  };

  test('the outcomes of one turn go in one transaction, and each settles with its own answer', async () => {
    const ids = await claimed(['+14155550141', '+14155550142', '+14155550143'], 'dsp_batch');
    const batcher = createOutcomeBatcher(counted, t.deps.events);
    units = 0;
    const answers = await Promise.all([...ids.map((id) => batcher.record(sentBy(id, 'dsp_batch'))), batcher.record(sentBy(ids[0]!, 'dsp_someone_else'))]);
    assert.deepEqual(answers, [true, true, true, false], 'the last one holds no lease');
    assert.equal(units, 1, 'one transaction for the four');
    const rows = await t.deps.store.db.selectFrom('messages').select(['id', 'status', 'lease_owner']).where('id', 'in', ids).orderBy('id').execute();
    assert.deepEqual(rows.map((r) => [r.status, r.lease_owner]), ids.map(() => ['sent', null]));
  });

  test('a batch of outcomes, each for another message, is one statement with no transaction around it', async () => {
    const ids = await claimed(['+14155550146', '+14155550147', '+14155550148'], 'dsp_unit');
    const batcher = createOutcomeBatcher(counted, t.deps.events);
    const now = Date.now();
    const withAttempt = (id: string, n: number) => ({
      ...sentBy(id, 'dsp_unit'),
      attempt: { id: `att_unit_${n}`, message_id: id, tenant_id: tenantId, attempt_no: 1, provider: 'Inbox', slot: 'primary', started_at: now, latency_ms: 1, outcome: 'accepted' as const, error_kind: null, provider_code: null, http_status: null, error_message: null, provider_message_id: null },
    });
    let answers: boolean[] = [];
    units = 0;
    const statements = await statementsOf(async () => {
      answers = await Promise.all(ids.map((id, n) => batcher.record(withAttempt(id, n))));
    });
    assert.deepEqual(answers, [true, true, true]);
    assert.deepEqual(statements, ['select otpgate_complete_batch($1::jsonb) as r'], 'the outcomes, their attempts and the endpoints’ read in one statement');
    assert.equal(units, 0, 'no transaction');
    const attempts = await t.deps.store.db.selectFrom('message_attempts').select(['id', 'message_id', 'outcome', 'latency_ms']).where('id', 'like', 'att_unit_%').orderBy('id').execute();
    assert.deepEqual(attempts, ids.map((id, n) => ({ id: `att_unit_${n}`, message_id: id, outcome: 'accepted', latency_ms: 1 })));
  });

  test('a final outcome’s event is queued in the same statement for each enabled endpoint that wants it; a tenant with more endpoints than ids is asked again once', async () => {
    const other = await t.createTenant({ resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 1000 });
    const endpoint = async (events?: string[]) => {
      const r = await t.call('POST', '/v1/event-endpoints', { auth: other.auth, body: { url: 'http://127.0.0.1:9/hook', ...(events ? { events } : {}) } });
      assert.equal(r.statusCode, 201, r.body);
      return r.json().id as string;
    };
    const all = await endpoint();
    const sentOnly = await endpoint(['message.sent']);
    await endpoint(['verification.approved']);
    const disabled = await endpoint();
    await t.deps.store.db.updateTable('event_endpoints').set({ enabled: 0 }).where('id', '=', disabled).execute();
    const [delivered, failed, later] = await claimed(['+14155550161', '+14155550162', '+14155550163'], 'dsp_events', other.auth);
    const [mine] = await claimed(['+14155550164'], 'dsp_events');
    const batcher = createOutcomeBatcher(counted, t.deps.events);
    const now = Date.now();
    const failure = {
      messageId: failed!,
      tenantId: other.tenantId,
      owner: 'dsp_events',
      update: { status: 'failed' as const, lease_owner: null, lease_until: null, updated_at: now, provider: 'Inbox', error_kind: 'permanent', error_code: '21211', error_message: 'not a number' },
      attempt: undefined,
    };
    const deliveredOutcome = { ...sentBy(delivered!, 'dsp_events'), tenantId: other.tenantId, update: { ...sentBy(delivered!, 'dsp_events').update, provider: 'Inbox', provider_message_id: 'pm_1' } };
    units = 0;
    let answers: boolean[] = [];
    const statements = await statementsOf(async () => {
      answers = await Promise.all([batcher.record(deliveredOutcome), batcher.record(failure), batcher.record(sentBy(mine!, 'dsp_events'))]);
    });
    assert.deepEqual(answers, [true, true, true]);
    assert.deepEqual(statements, ['select otpgate_complete_batch($1::jsonb) as r', 'select otpgate_complete_batch($1::jsonb) as r'], 'asked again with enough ids');
    assert.equal(units, 0);
    const deliveries = await t.deps.store.db.selectFrom('event_deliveries').selectAll().where('tenant_id', 'in', [other.tenantId, tenantId]).where('type', 'like', 'message.%').execute();
    const of = (messageId: string) => deliveries.filter((d) => (JSON.parse(d.payload) as { data: { message_id: string } }).data.message_id === messageId);
    assert.deepEqual(of(delivered!).map((d) => d.endpoint_id).sort(), [all, sentOnly].sort(), 'message.sent: the endpoint of every event and the one of message.sent');
    assert.deepEqual(of(failed!).map((d) => d.endpoint_id), [all], 'message.failed: only the endpoint of every event');
    assert.deepEqual(of(mine!), [], 'a tenant without endpoints gets none');
    assert.equal(new Set(deliveries.map((d) => d.id)).size, deliveries.length, 'each delivery its own id');
    const [first, second] = of(delivered!);
    assert.equal(first!.event_id, second!.event_id, 'one event, one delivery per endpoint');
    assert.match(first!.id, /^evd_/);
    assert.match(first!.event_id, /^evt_/);
    for (const d of deliveries) assert.deepEqual([d.status, d.attempts, d.lease_owner, d.delivered_at, d.tenant_id], ['queued', 0, null, null, other.tenantId]);
    const body = JSON.parse(first!.payload) as { type: string; timestamp: string; data: Record<string, unknown> };
    assert.deepEqual({ ...body, timestamp: undefined }, { type: 'message.sent', timestamp: undefined, data: { message_id: delivered!, provider: 'Inbox', provider_message_id: 'pm_1' } });
    assert.equal(new Date(body.timestamp).getTime(), Number(first!.created_at));
    assert.deepEqual((JSON.parse(of(failed!)[0]!.payload) as { data: unknown }).data, { message_id: failed!, provider: 'Inbox', error_kind: 'permanent', error_code: '21211', error_message: 'not a number' });

    // The batcher keeps the count it was told: the next batch of that tenant is one statement.
    const again = await statementsOf(async () => {
      assert.deepEqual(await batcher.record({ ...sentBy(later!, 'dsp_events'), tenantId: other.tenantId }), true);
    });
    assert.deepEqual(again, ['select otpgate_complete_batch($1::jsonb) as r']);
    const laterDeliveries = await t.deps.store.db.selectFrom('event_deliveries').select('endpoint_id').where('tenant_id', '=', other.tenantId).where('payload', 'like', `%${later!}%`).execute();
    assert.deepEqual(laterDeliveries.map((d) => d.endpoint_id).sort(), [all, sentOnly].sort());
  });

  test('the outcomes’ statement and the claim commit without waiting for the log’s flush, and only their own transaction', async () => {
    const settingAfter = (call: string) =>
      t.deps.store.db.transaction().execute(async (trx) => {
        await sql.raw(call).execute(trx);
        return (await sql<{ s: string }>`select current_setting('synchronous_commit') as s`.execute(trx)).rows[0]!.s;
      });
    assert.equal(await settingAfter(`select otpgate_complete_batch('[]'::jsonb)`), 'off');
    assert.equal(await settingAfter(`select * from otpgate_claim('dsp_none', 0, 1, 1, false)`), 'off', 'a claim too (migration 0028)');
    assert.equal(await settingAfter('select 1'), 'on', 'the next transaction on the connection flushes again');
  });

  test('the statement sets every column the application lets through to it, and those are columns of messages', async () => {
    const def = (await sql<{ d: string }>`select pg_get_functiondef('otpgate_complete_batch(jsonb)'::regprocedure) as d`.execute(t.deps.store.db)).rows[0]!.d;
    const set = /set \(([^)]*)\) =/.exec(def)![1]!.split(',').map((c) => c.trim());
    assert.deepEqual([...set].sort(), [...batchOutcomeColumns].sort());
    const columns = await sql<{ c: string }>`select column_name as c from information_schema.columns where table_name = 'messages' and table_schema = current_schema()`.execute(t.deps.store.db);
    for (const c of set) assert.ok(columns.rows.some((r) => r.c === c), c);
  });

  test('an outcome that names a message twice, or a column the statement does not set, takes the transaction', async () => {
    const [twice, odd] = await claimed(['+14155550171', '+14155550172'], 'dsp_odd');
    const batcher = createOutcomeBatcher(counted, t.deps.events);
    units = 0;
    assert.deepEqual(await Promise.all([batcher.record(sentBy(twice!, 'dsp_odd')), batcher.record(sentBy(twice!, 'dsp_odd'))]), [true, false]);
    assert.equal(units, 1);
    const update = { ...sentBy(odd!, 'dsp_odd').update, purpose: 'login' };
    assert.deepEqual(await batcher.record({ ...sentBy(odd!, 'dsp_odd'), update }), true);
    assert.equal(units, 2);
  });

  test('outcomes that change different columns, or whose lease is gone, get each its own answer and row', async () => {
    const [sent, retried, lost] = await claimed(['+14155550151', '+14155550152', '+14155550153'], 'dsp_mixed');
    const batcher = createOutcomeBatcher(counted, t.deps.events);
    const now = Date.now();
    const retry = {
      messageId: retried!,
      tenantId,
      owner: 'dsp_mixed',
      update: { status: 'queued' as const, lease_owner: null, lease_until: null, updated_at: now, next_attempt_at: now + 30_000, attempts: 1, error_kind: 'transient', error_message: 'try again' },
      attempt: undefined,
    };
    // Sent at this test's `now`, which the row is checked against.
    const sentAt = { ...sentBy(sent!, 'dsp_mixed'), update: { status: 'sent' as const, lease_owner: null, lease_until: null, updated_at: now, sent_at: now } };
    let answers: boolean[] = [];
    const statements = await statementsOf(async () => {
      answers = await Promise.all([batcher.record(sentAt), batcher.record(retry), batcher.record(sentBy(lost!, 'dsp_not_the_owner'))]);
    });
    assert.deepEqual(answers, [true, true, false]);
    assert.deepEqual(statements, ['select otpgate_complete_batch($1::jsonb) as r'], 'outcomes that change different columns in one statement');
    const rows = await t.deps.store.db
      .selectFrom('messages')
      .select(['id', 'status', 'lease_owner', 'next_attempt_at', 'attempts', 'error_kind', 'error_message', 'sent_at'])
      .where('id', 'in', [sent!, retried!, lost!])
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    assert.deepEqual({ ...byId.get(sent!), id: undefined }, { id: undefined, status: 'sent', lease_owner: null, next_attempt_at: byId.get(sent!)!.next_attempt_at, attempts: byId.get(sent!)!.attempts, error_kind: null, error_message: null, sent_at: now });
    assert.deepEqual([byId.get(retried!)!.status, byId.get(retried!)!.lease_owner, byId.get(retried!)!.next_attempt_at, byId.get(retried!)!.attempts, byId.get(retried!)!.error_kind, byId.get(retried!)!.error_message], ['queued', null, now + 30_000, 1, 'transient', 'try again']);
    assert.deepEqual([byId.get(lost!)!.status, byId.get(lost!)!.lease_owner], ['sending', 'dsp_mixed'], 'an outcome without the lease changes nothing');
  });

  test('an outcome that fails does not undo the others of its batch', async () => {
    // The bad outcome is for another message than the good one: the two are tried again
    // concurrently, and neither's answer may depend on which gets its row first.
    const [good, other] = await claimed(['+14155550144', '+14155550145'], 'dsp_fail');
    const batcher = createOutcomeBatcher(counted, t.deps.events);
    units = 0;
    const now = Date.now();
    // An attempt naming a message that does not exist: its insert breaks the foreign key.
    const bad = {
      ...sentBy(other!, 'dsp_fail'),
      attempt: { id: 'att_batch_bad', message_id: 'msg_does_not_exist', tenant_id: tenantId, attempt_no: 1, provider: 'Inbox', slot: 'primary', started_at: now, latency_ms: 1, outcome: 'accepted' as const, error_kind: null, provider_code: null, http_status: null, error_message: null, provider_message_id: null },
    };
    const [badAnswer, goodAnswer] = await Promise.allSettled([batcher.record(bad), batcher.record(sentBy(good!, 'dsp_fail'))]);
    assert.equal(badAnswer.status, 'rejected');
    assert.deepEqual(goodAnswer, { status: 'fulfilled', value: true });
    assert.equal(units, 3, 'the batch, then each outcome alone');
    const row = await t.deps.store.db.selectFrom('messages').select('status').where('id', '=', good!).executeTakeFirstOrThrow();
    assert.equal(row.status, 'sent');
    const undone = await t.deps.store.db.selectFrom('messages').select('status').where('id', '=', other!).executeTakeFirstOrThrow();
    assert.notEqual(undone.status, 'sent', 'the bad outcome rolled back whole');
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createManualClock } from '../../src/domain/clock.js';
import { newId } from '../../src/domain/ids.js';
import { approveInOneCall } from '../../src/store/queries/verify.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { postgresSkipReason, statementsOf, withPg } from './support.js';

/**
 * The verify in one or two statements on PostgreSQL (migration 0018): `otpgate_verify_named`
 * approves a right code for the named challenge at once, else reads as `otpgate_verify_read`
 * does (the challenge, its verification and its pending codes); `otpgate_verify_approve`
 * approves, closes the codes, marks the conversion and queues the event. The verify suites run
 * on both engines for the answers; these check what only this path can get wrong.
 */

const skip = await postgresSkipReason('verify functions');

let phoneSeq = 0;
const nextPhone = () => `+1415555${String(7000 + phoneSeq++).padStart(4, '0')}`;

describe('the verify in one or two statements (postgres)', { skip }, () => {
  const clock = createManualClock(Date.UTC(2026, 11, 4, 9));
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ dialect: 'postgres', clock });
  });
  after(async () => t?.close());

  /** Sends a code to a new phone and returns its challenge, message and the code from the inbox. */
  async function sent(auth: string): Promise<{ phone: string; challengeId: string; messageId: string; code: string }> {
    const phone = nextPhone();
    const s = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } });
    assert.equal(s.statusCode, 202, s.body);
    await t.drainOutbox();
    const inbox = (await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth })).json<{ items: Array<{ body: string }> }>();
    const code = /\b(\d{6})\b/.exec(inbox.items[0]!.body)![1]!;
    return { phone, challengeId: s.json().challenge_id, messageId: s.json().message_id, code };
  }

  async function addEndpoint(auth: string, events?: string[]): Promise<string> {
    const r = await t.call('POST', '/v1/event-endpoints', { auth, body: { url: 'http://127.0.0.1:9/hook', ...(events ? { events } : {}) } });
    assert.equal(r.statusCode, 201, r.body);
    return r.json().id;
  }

  const deliveriesOf = (tenantId: string) =>
    t.deps.store.db.selectFrom('event_deliveries').select(['endpoint_id', 'event_id', 'type', 'payload']).where('tenant_id', '=', tenantId).where('type', '=', 'verification.approved').execute();

  test('a right code for the named challenge is one statement with the guard off, two with it on (the count)', async () => {
    for (const [mode, expected] of [['off', 1], ['enforce', 2]] as const) {
      const { auth } = await t.createTenant({ fraud_guard: { mode } });
      const warm = await sent(auth);
      await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: warm.challengeId, code: warm.code } });
      const s = await sent(auth);
      let answer: Record<string, unknown> = {};
      const statements = await statementsOf(async () => {
        const r = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challengeId, code: s.code } });
        assert.equal(r.statusCode, 200, r.body);
        answer = r.json();
      });
      assert.equal(statements.length, expected, `${mode}:\n${statements.join('\n')}`);
      assert.match(statements[0]!, /otpgate_verify_named/);
      const row = await t.deps.store.db.selectFrom('challenges').select(['status', 'verified_at', 'converted_at', 'verification_id']).where('id', '=', s.challengeId).executeTakeFirstOrThrow();
      assert.deepEqual({ ...row, verification_id: undefined }, { status: 'verified', verified_at: clock.now(), converted_at: clock.now(), verification_id: undefined });
      assert.deepEqual(answer, { verified: true, challenge_id: s.challengeId, verification_id: row.verification_id, phone_number: s.phone, purpose: 'login' });
      const v = await t.deps.store.db.selectFrom('verifications').select(['status', 'approved_at', 'code_sealed']).where('id', '=', row.verification_id!).executeTakeFirstOrThrow();
      assert.deepEqual(v, { status: 'approved', approved_at: clock.now(), code_sealed: null });
    }
  });

  test('a resend’s code entered against the first challenge, by phone, and a wrong code: read, then checked here', async () => {
    const { auth } = await t.createTenant({ resend_cooldown_seconds: 0, resend_policy: 'new_code' });
    const first = await sent(auth);
    clock.advance(1000);
    const again = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: first.phone } });
    assert.equal(again.statusCode, 202, again.body);
    await t.drainOutbox();
    const inbox = (await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(first.phone)}`, { auth })).json<{ items: Array<{ body: string }> }>();
    const codes = inbox.items.map((i) => /\b(\d{6})\b/.exec(i.body)![1]!);
    const newest = codes.find((c) => c !== first.code)!;
    assert.ok(newest, 'the resend has a code of its own');
    const wrong = ['000000', '111111', '222222'].find((c) => !codes.includes(c))!;
    let status = 0;
    let statements = await statementsOf(async () => {
      status = (await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: first.challengeId, code: wrong } })).statusCode;
    });
    assert.equal(status, 400);
    assert.match(statements[0]!, /otpgate_verify_named/);
    assert.ok(statements.some((q) => /^update "verifications"/.test(q)), `the wrong attempt counted:\n${statements.join('\n')}`);
    statements = await statementsOf(async () => {
      const r = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: first.challengeId, code: newest } });
      status = r.statusCode;
      assert.equal(r.json().challenge_id, again.json().challenge_id, 'the code that matched');
    });
    assert.equal(status, 200);
    assert.deepEqual(statements.map((q) => /otpgate_verify_\w+/.exec(q)?.[0]), ['otpgate_verify_named', 'otpgate_verify_approve']);
    const other = await sent(auth);
    statements = await statementsOf(async () => {
      status = (await t.call('POST', '/v1/otp/verify', { auth, body: { phone_number: other.phone, code: other.code } })).statusCode;
    });
    assert.equal(status, 200);
    assert.deepEqual(statements.map((q) => /otpgate_verify_\w+/.exec(q)?.[0]), ['otpgate_verify_read', 'otpgate_verify_approve']);
  });

  test('a wrong code for the only live code is one statement, up to the last attempt, which the transaction ends', async () => {
    const { auth, tenantId } = await t.createTenant({ max_verify_attempts: 3 });
    await addEndpoint(auth, ['verification.failed']);
    const s = await sent(auth);
    const wrong = s.code === '000000' ? '111111' : '000000';
    for (const remaining of [2, 1]) {
      let r: Awaited<ReturnType<TestApp['call']>> | undefined;
      const statements = await statementsOf(async () => {
        r = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challengeId, code: wrong } });
      });
      assert.equal(r!.statusCode, 400, r!.body);
      assert.equal(r!.json().code, 'otp.invalid');
      assert.equal(r!.json().attempts_remaining, remaining);
      assert.equal(statements.length, 1, statements.join('\n'));
    }
    const last = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challengeId, code: wrong } });
    assert.equal(last.statusCode, 429, last.body);
    assert.equal(last.json().code, 'otp.attempts_exhausted');
    const c = await t.deps.store.db.selectFrom('challenges').select(['status', 'verification_id']).where('id', '=', s.challengeId).executeTakeFirstOrThrow();
    assert.equal(c.status, 'locked');
    const v = await t.deps.store.db.selectFrom('verifications').select(['status', 'attempts']).where('id', '=', c.verification_id!).executeTakeFirstOrThrow();
    assert.deepEqual(v, { status: 'max_attempts_reached', attempts: 3 });
    const failed = await t.deps.store.db.selectFrom('event_deliveries').select('payload').where('tenant_id', '=', tenantId).where('type', '=', 'verification.failed').execute();
    assert.equal(failed.length, 1);
    assert.equal(JSON.parse(failed[0]!.payload).data.attempts, 3);
    const right = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challengeId, code: s.code } });
    assert.equal(right.json().code, 'otp.attempts_exhausted', 'the right code after the last attempt');
  });

  test('by phone and purpose, the newest challenge; another tenant’s challenge is not found', async () => {
    const a = await t.createTenant();
    const b = await t.createTenant();
    const s = await sent(a.auth);
    const other = await t.call('POST', '/v1/otp/verify', { auth: b.auth, body: { challenge_id: s.challengeId, code: s.code } });
    assert.equal(other.statusCode, 404);
    assert.equal(other.json().code, 'otp.challenge_not_found');
    const byPhone = await t.call('POST', '/v1/otp/verify', { auth: a.auth, body: { phone_number: s.phone, code: s.code } });
    assert.equal(byPhone.statusCode, 200, byPhone.body);
    assert.equal(byPhone.json().challenge_id, s.challengeId);
    const again = await t.call('POST', '/v1/otp/verify', { auth: a.auth, body: { phone_number: s.phone, code: s.code } });
    assert.equal(again.json().code, 'otp.already_verified');
  });

  test('the event: one delivery per endpoint that wants it; more endpoints than the call carries ids go through the transaction', async () => {
    const few = await t.createTenant();
    const every = await addEndpoint(few.auth);
    const approvedOnly = await addEndpoint(few.auth, ['verification.approved']);
    await addEndpoint(few.auth, ['message.sent']);
    const s = await sent(few.auth);
    assert.equal((await t.call('POST', '/v1/otp/verify', { auth: few.auth, body: { challenge_id: s.challengeId, code: s.code } })).statusCode, 200);
    const rows = await deliveriesOf(few.tenantId);
    assert.deepEqual(rows.map((r) => r.endpoint_id).sort(), [every, approvedOnly].sort());
    assert.equal(new Set(rows.map((r) => r.event_id)).size, 1, 'one event, the same webhook id at each endpoint');
    const payload = JSON.parse(rows[0]!.payload) as { type: string; data: Record<string, unknown> };
    assert.equal(payload.type, 'verification.approved');
    const c = await t.deps.store.db.selectFrom('challenges').select('verification_id').where('id', '=', s.challengeId).executeTakeFirstOrThrow();
    assert.deepEqual(payload.data, { verification_id: c.verification_id, challenge_id: s.challengeId, purpose: 'login', approved_at: new Date(clock.now()).toISOString() });

    const many = await t.createTenant();
    const endpoints: string[] = [];
    for (let i = 0; i < 6; i++) endpoints.push(await addEndpoint(many.auth));
    const m = await sent(many.auth);
    let status = 0;
    const statements = await statementsOf(async () => {
      status = (await t.call('POST', '/v1/otp/verify', { auth: many.auth, body: { challenge_id: m.challengeId, code: m.code } })).statusCode;
    });
    assert.equal(status, 200);
    assert.ok(statements.some((q) => /^begin/i.test(q)), `the transaction path was taken:\n${statements.join('\n')}`);
    const manyRows = await deliveriesOf(many.tenantId);
    assert.deepEqual(manyRows.map((r) => r.endpoint_id).sort(), endpoints.sort());
    assert.equal(new Set(manyRows.map((r) => r.event_id)).size, 1);
  });

  test('a code first reported used by feedback counts once for the fraud guard', async () => {
    const { auth, tenantId } = await t.createTenant({ fraud_guard: { mode: 'enforce' } });
    const s = await sent(auth);
    const fb = await t.call('POST', `/v1/messages/${s.messageId}/feedback`, { auth, body: { outcome: 'verified' } });
    assert.equal(fb.statusCode, 200, fb.body);
    assert.equal(fb.json().counted, true);
    const reportedAt = clock.now();
    clock.advance(1000);
    assert.equal((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challengeId, code: s.code } })).statusCode, 200);
    const verified = await t.deps.store.db.selectFrom('fraud_counters').select(sql<number>`sum(verified)`.as('n')).where('tenant_id', '=', tenantId).where('key', 'like', 'c:%').executeTakeFirstOrThrow();
    assert.equal(Number(verified.n), 1);
    const row = await t.deps.store.db.selectFrom('challenges').select(['status', 'converted_at']).where('id', '=', s.challengeId).executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: 'verified', converted_at: reportedAt });
  });

  test('approve: exactly once; a matched code superseded after the check is still marked converted', async () => {
    const { auth, tenantId } = await t.createTenant();
    const s = await sent(auth);
    const c = await t.deps.store.db.selectFrom('challenges').select(['verification_id']).where('id', '=', s.challengeId).executeTakeFirstOrThrow();
    // As a resend would between the verify's read and its approval.
    await t.deps.store.db.updateTable('challenges').set({ status: 'superseded' }).where('id', '=', s.challengeId).execute();
    const call = () =>
      approveInOneCall(t.deps.store.db, {
        tenant_id: tenantId,
        verification_id: c.verification_id!,
        challenge_id: s.challengeId,
        now: clock.now(),
        mark_converted: true,
        event_type: 'verification.approved',
        event_id: newId('evt', clock.now()),
        payload: '{}',
        delivery_ids: [newId('evd', clock.now())],
      });
    const [first, second] = await Promise.all([call(), call()]);
    assert.deepEqual([first, second].sort((x, y) => Number(y.approved) - Number(x.approved)), [{ approved: true, converted: true }, { approved: false, converted: false }]);
    const row = await t.deps.store.db.selectFrom('challenges').select(['status', 'converted_at']).where('id', '=', s.challengeId).executeTakeFirstOrThrow();
    assert.deepEqual(row, { status: 'superseded', converted_at: clock.now() });
  });
  test('challenges keeps 15 % of each page free, so closing codes is mostly a heap-only update (migration 0020)', async () => {
    const { tenantId } = await t.createTenant();
    const now = clock.now();
    // Enough rows to fill several pages: without the free room the first page would be full.
    const rows = Array.from({ length: 300 }, (_, i) => ({
      id: newId('chl', now + i),
      tenant_id: tenantId,
      phone: `+1415556${String(i).padStart(4, '0')}`,
      purpose: 'login',
      code_hash: 'h'.repeat(43),
      status: 'pending' as const,
      attempts: 0,
      max_attempts: 5,
      client_ip: '198.51.100.7',
      is_test: 0,
      message_id: null,
      created_at: now + i,
      expires_at: now + 600_000,
      resend_available_at: now,
      verified_at: null,
      verification_id: newId('ver', now + i),
    }));
    await t.deps.store.db.insertInto('challenges').values(rows).execute();
    await withPg(t.dbUrl, async (client) => {
      await client.query('begin');
      // Each row closed once, as verifies do; within one transaction nothing is pruned, so only
      // the room left free on each page can hold the new versions.
      for (const r of rows) await client.query(`update challenges set status = 'verified', verified_at = $2, converted_at = $2 where id = $1`, [r.id, now]);
      const hot = await client.query<{ n: string }>(`select pg_stat_get_xact_tuples_hot_updated('challenges'::regclass) as n`);
      // About 67 here with the room (a few of the 300 fit on each page), 2 without it.
      assert.ok(Number(hot.rows[0]!.n) >= 40, `heap-only updates: ${hot.rows[0]!.n} of ${rows.length}`);
      await client.query('rollback');
    });
  });
});

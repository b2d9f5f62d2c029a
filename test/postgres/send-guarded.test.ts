import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { isPostgresReachable } from '../helpers/databases.js';
import { de, fr, gb, guard } from '../integration/fraud-guard-support.js';
import { keyUseRecorded, statementsOf } from './support.js';
import { guardInputsManyText } from '../../src/store/queries/fraud.js';

/**
 * The send of a tenant whose fraud guard is on, in one statement on PostgreSQL
 * (`otpgate_send_guarded`, migration 0021): judged from one read made outside any lock,
 * written in one call, then counted (in a batch with concurrent counts); a send the guard
 * refuses, counts a hit on or trips a rule for keeps the transaction. Each scenario runs for two tenants that differ only in a
 * budget far out of reach, which keeps the second on the transaction, and compares what they
 * answered and what they stored.
 */

const reachable = await isPostgresReachable();
if (!reachable && process.env.CI === 'true') throw new Error('PostgreSQL is required in CI');

type Answer = { status: number; code: string | undefined; rule: string | undefined };

describe('the guarded send in one statement (postgres)', { skip: !reachable && 'PostgreSQL does not answer' }, () => {
  const clock = createManualClock(Date.UTC(2026, 11, 4, 9, 30));
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ dialect: 'postgres', clock });
  });
  after(async () => t?.close());

  // A budget (even one never reached) is charged in the send's transaction.
  const slowPath = { budget: { daily_messages: 1_000_000 } };
  let range = 100;

  async function call(auth: string, phone: string, extra: Record<string, unknown> = {}): Promise<Answer> {
    const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone, ...extra } });
    const body = r.json<{ code?: string; rule?: string }>();
    return { status: r.statusCode, code: body.code, rule: body.rule };
  }

  /** A tenant's counters and decisions, comparable across tenants (prefixes by position). */
  async function stored(tenantId: string, prefix: string) {
    const db = t.deps.store.db;
    const counters = await db
      .selectFrom('fraud_counters')
      .select(['key', 'bucket', 'sent', 'verified', 'segments', 'cost_micros'])
      .where('tenant_id', '=', tenantId)
      .orderBy('key')
      .orderBy('bucket')
      .execute();
    const decisions = await db
      .selectFrom('fraud_decisions')
      .select(['action', 'kind', 'key', 'rule', 'level', 'hits'])
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at')
      .orderBy('key')
      .execute();
    const plain = (x: unknown) => JSON.parse(JSON.stringify(x).replaceAll(prefix, 'PREFIX')) as unknown;
    return { counters: plain(counters.map((c) => ({ ...c, bucket: Number(c.bucket), cost_micros: Number(c.cost_micros) }))), decisions: plain(decisions) };
  }

  /** Runs `scenario` on both paths (each with its own number range) and checks answers and stored rows agree. */
  async function sameOnBothPaths(settings: Record<string, unknown>, scenario: (auth: string, phone: (n: number) => string, keyId: string) => Promise<Answer[]>) {
    const start = clock.now();
    const runs: Array<{ answers: Answer[]; stored: unknown }> = [];
    for (const extra of [{}, slowPath]) {
      clock.set(start);
      const { auth, tenantId, keyId } = await t.createTenant({ ...settings, ...extra });
      const r = String(range++);
      const answers = await scenario(auth, (n) => gb(n, r), keyId);
      runs.push({ answers, stored: await stored(tenantId, `+447400${r}`) });
    }
    assert.deepEqual(runs[0], runs[1]);
    return runs[0]!;
  }

  test('a first code is judged by one read, then written and counted by one call, with no transaction', async () => {
    const { auth, tenantId, keyId } = await t.createTenant({ fraud_guard: guard(), sms_prices: { GB: 0.04 } });
    await call(auth, gb(0, '099')); // templates, the tenant and the country's best day are cached from here
    await keyUseRecorded(t.deps.store.db, keyId);
    const phone = gb(1, '099');
    let answer: Answer | undefined;
    const statements = await statementsOf(async () => {
      answer = await call(auth, phone, { client_ip: '198.51.100.7' });
    });
    assert.equal(answer?.status, 202);
    assert.ok(!statements.some((s) => /^\s*(begin|commit)\b/i.test(s) || /pg_advisory/.test(s)), `no transaction of the application's own:\n${statements.join('\n')}`);
    assert.equal(statements.length, 2, `one read (the latest code, the decisions, the counters), one call that counts too:\n${statements.join('\n')}`);
    assert.equal(statements[0], guardInputsManyText);
    // Only the batch function counts: a send on its own is a batch of one.
    assert.match(statements[1]!, /otpgate_send_batch\(/);
    const counters = await t.deps.store.db.selectFrom('fraud_counters').select(['key', 'sent', 'segments', 'cost_micros']).where('tenant_id', '=', tenantId).orderBy('key').execute();
    assert.deepEqual(
      counters.map((c) => ({ ...c, cost_micros: Number(c.cost_micros) })),
      [
        { key: 'c:GB', sent: 2, segments: 2, cost_micros: 80_000 },
        { key: 'i:198.51.100.7', sent: 1, segments: 1, cost_micros: 40_000 },
        { key: 'p:+447400099', sent: 2, segments: 2, cost_micros: 80_000 },
        { key: 'x:198.51.100.7|GB', sent: 1, segments: 1, cost_micros: 40_000 },
      ],
    );
  });

  test('a pumping run against one prefix: the same refusals, blocks and counts on both paths', async () => {
    const { answers } = await sameOnBothPaths({ fraud_guard: guard({ prefix_hour: { floor: 3, ratio: 0 } }) }, async (auth, phone) => {
      const a: Answer[] = [];
      for (let i = 0; i < 6; i++) {
        a.push(await call(auth, phone(i * 37), { client_ip: '203.0.113.5' }));
        clock.advance(1000);
      }
      return a;
    });
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 202, 403, 403, 403]);
    assert.equal(answers[3]!.rule, 'prefix_hour');
  });

  test("an IP past ip_countries.max: its countries come with the one read, and both paths refuse the same send", async () => {
    const ip = '203.0.113.9';
    const reads: string[][] = [];
    const { answers } = await sameOnBothPaths({ fraud_guard: guard({ ip_countries: { max: 2 } }) }, async (auth, phone, keyId) => {
      const a: Answer[] = [];
      a.push(await call(auth, phone(1), { client_ip: ip }));
      a.push(await call(auth, de(1), { client_ip: ip }));
      await keyUseRecorded(t.deps.store.db, keyId);
      // The IP has sent two codes: a third can pass the limit, so its countries are read.
      reads.push(await statementsOf(async () => void a.push(await call(auth, phone(2), { client_ip: ip }))));
      a.push(await call(auth, fr(1), { client_ip: ip }));
      clock.advance(1000);
      return a;
    });
    assert.deepEqual(answers.map((a) => [a.status, a.rule]), [[202, undefined], [202, undefined], [202, undefined], [403, 'ip_countries']]);
    assert.equal(reads[0]!.length, 2, reads[0]!.join('\n'));
    assert.equal(reads[0]![0], guardInputsManyText);
    assert.match(reads[0]![1]!, /otpgate_send_batch\(/);
  });

  test('record_only: would-blocks recorded and their hits counted the same on both paths, nothing refused', async () => {
    const { answers } = await sameOnBothPaths({ fraud_guard: guard({ prefix_hour: { floor: 2, ratio: 0 } }, { mode: 'record_only' }) }, async (auth, phone) => {
      const a: Answer[] = [];
      for (let i = 0; i < 5; i++) {
        a.push(await call(auth, phone(i * 41)));
        clock.advance(1000);
      }
      return a;
    });
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 202, 202, 202]);
  });

  test('bombing one number: its unverified codes are judged under the lock, with the same block on both paths', async () => {
    const { answers } = await sameOnBothPaths({ resend_cooldown_seconds: 0, otp_ttl_seconds: 60, fraud_guard: guard({ number_day: { max: 3 } }) }, async (auth, phone) => {
      const a: Answer[] = [];
      for (let i = 0; i < 5; i++) {
        a.push(await call(auth, phone(7)));
        clock.advance(61_000); // each code expired: every send starts a verification
      }
      return a;
    });
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 202, 403, 403]);
    assert.equal(answers[3]!.rule, 'number_day');
  });

  test('the statement holds only for the latest code judged: another one answers fallback and writes nothing', async () => {
    const { auth, tenantId } = await t.createTenant({ fraud_guard: guard() });
    const phone = gb(3, '098');
    await call(auth, phone);
    const db = t.deps.store.db;
    const count = async () => Number((await sql<{ n: string }>`select count(*) as n from challenges where tenant_id = ${tenantId}`.execute(db)).rows[0]!.n);
    const before = await count();
    const args = {
      tenant_id: tenantId,
      phone,
      purpose: 'login',
      expect_latest: null,
    };
    const r = await sql<{ r: { outcome: string } }>`select otpgate_send_guarded(${JSON.stringify(args)}::jsonb) as r`.execute(db);
    assert.deepEqual(r.rows[0]!.r, { outcome: 'fallback' });
    assert.equal(await count(), before);
  });

  test('a send that would join the open verification is rolled back with OG003 and takes the transaction', async () => {
    const { auth, tenantId } = await t.createTenant({ resend_cooldown_seconds: 0, fraud_guard: guard() });
    const phone = gb(4, '098');
    const first = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } });
    const db = t.deps.store.db;
    const latest = first.json<{ challenge_id: string; verification_id: string }>();
    const now = clock.now();
    const row = { tenant_id: tenantId, phone, purpose: 'login', status: 'pending', attempts: 0, max_attempts: 5, created_at: now, expires_at: now + 600_000 };
    const args = {
      ...row,
      now,
      live_clock: false,
      client_ip: null,
      amount: null,
      payee: null,
      resend_policy: 'new_code',
      count_caps: false,
      max_per_phone: 100,
      max_per_ip: 100,
      live_codes: 3,
      idempotency_key: null,
      challenge: { ...row, id: 'chl_og003', code_hash: 'x', client_ip: null, is_test: 0, message_id: 'msg_og003', resend_available_at: now, verified_at: null },
      verification: { ...row, id: 'ver_og003', code_sealed: null, amount: null, payee: null, updated_at: now, approved_at: null },
      message: {
        id: 'msg_og003', tenant_id: tenantId, kind: 'otp', challenge_id: 'chl_og003', purpose: 'login', to_phone: phone, body_sealed: 'x', body_masked: 'x',
        sender_id: null, encoding: 'GSM-7', segments: 1, status: 'queued', attempts: 0, chain_index: 0, chain_attempts: 0, next_attempt_at: now,
        lease_until: null, lease_owner: null, expires_at: now + 600_000, provider: null, provider_message_id: null, error_kind: null, error_code: null,
        error_message: null, created_at: now, updated_at: now, sent_at: null, delivered_at: null,
      },
      idempotency: null,
      expect_latest: latest.challenge_id,
    };
    await assert.rejects(sql`select otpgate_send_guarded(${JSON.stringify(args)}::jsonb)`.execute(db), (err: { code?: string }) => err.code === 'OG003');
    assert.equal((await db.selectFrom('challenges').select('id').where('id', '=', 'chl_og003').execute()).length, 0);

    // Through the API the resend joins, by the transaction.
    const statements: string[] = [];
    let second: { verification_id: string } | undefined;
    statements.push(
      ...(await statementsOf(async () => {
        second = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } })).json();
      })),
    );
    assert.equal(second?.verification_id, latest.verification_id);
    assert.ok(statements.some((s) => /pg_advisory_xact_lock/.test(s)) && !statements.some((s) => /otpgate_send_guarded/.test(s)), statements.join('\n'));
  });

  test('concurrent first codes: one per phone is accepted, and the counters hold exactly the accepted sends', async () => {
    const { auth, tenantId } = await t.createTenant({ resend_cooldown_seconds: 30, fraud_guard: guard() });
    const phones = Array.from({ length: 6 }, (_, i) => gb(i * 11, '097'));
    const answers = await Promise.all(phones.flatMap((p) => Array.from({ length: 4 }, () => call(auth, p))));
    assert.equal(answers.filter((a) => a.status === 202).length, phones.length);
    assert.ok(answers.every((a) => a.status === 202 || a.code === 'otp.resend_cooldown'), JSON.stringify(answers));
    const counters = await t.deps.store.db.selectFrom('fraud_counters').select(['key', 'sent']).where('tenant_id', '=', tenantId).orderBy('key').execute();
    assert.deepEqual(counters, [
      { key: 'c:GB', sent: phones.length },
      { key: 'p:+447400097', sent: phones.length },
    ]);
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createManualClock } from '../../src/domain/clock.js';
import { newId } from '../../src/domain/ids.js';
import { createHousekeeping } from '../../src/services/housekeeping-service.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

type Table = 'challenges' | 'verifications' | 'messages' | 'message_attempts' | 'inbox_messages' | 'audit_log' | 'fraud_decisions' | 'idempotency_keys';

async function count(t: TestApp, table: Table, tenantId?: string): Promise<number> {
  let q = t.deps.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
  if (tenantId) q = q.where('tenant_id', '=', tenantId);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** pg_dump is not always on PATH. */
function pgDumpBinary(): string {
  for (const p of ['/usr/bin/pg_dump', '/usr/lib/postgresql/15/bin/pg_dump']) if (existsSync(p)) return p;
  return 'pg_dump';
}

/**
 * Every byte a backup of the store would hold, as text: the SQLite file and its WAL as they are
 * (a copy of the data directory taken at that moment), or pg_dump's output.
 */
async function storeBytes(t: TestApp): Promise<string> {
  if (t.dbUrl.startsWith('sqlite:')) {
    const file = t.dbUrl.slice('sqlite:'.length);
    return [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f).toString('latin1')).join('\n');
  }
  const r = spawnSync(pgDumpBinary(), ['--data-only', '--no-owner', t.dbUrl], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

for (const dialect of await testDialects()) {
  describe(`retention purges exactly what is past its time (${dialect})`, () => {
    let t: TestApp;
    const clock = createManualClock(Date.now());
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    test('codes 7 days after expiry, messages with their attempts and inbox items after 30 days, audit after 365 days', async () => {
      const { tenantId, auth } = await t.createTenant();
      const t0 = clock.now();
      const sent = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550101' } });
      assert.equal(sent.statusCode, 202, sent.body);
      assert.equal((await t.call('POST', '/v1/messages', { auth, body: { to: '+14155550102', body: 'Your parcel is on its way' } })).statusCode, 202);
      await t.drainOutbox();
      const expiresAt = Date.parse(sent.json().expires_at);
      const old = {
        challenges: await count(t, 'challenges', tenantId),
        messages: await count(t, 'messages', tenantId),
        attempts: await count(t, 'message_attempts', tenantId),
        inbox: await count(t, 'inbox_messages', tenantId),
        audit: await count(t, 'audit_log', tenantId),
      };
      assert.deepEqual(old, { challenges: 1, messages: 2, attempts: 2, inbox: 2, audit: 2 });
      const run = async (options = {}) => createHousekeeping(t.deps, options).runOnce();

      // The code: kept until 7 days after it expired, to the millisecond.
      clock.set(expiresAt + 7 * DAY);
      const fresh = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: '+14155550103' } });
      assert.equal(fresh.statusCode, 202);
      await t.drainOutbox();
      let r = await run();
      assert.equal(r.codes, 0, 'exactly 7 days after expiry it is still kept');
      clock.advance(1);
      r = await run();
      assert.equal(r.codes, 2, 'the challenge and its verification go 1 ms later');
      assert.equal(await count(t, 'challenges', tenantId), 1, "the later send's challenge stays");
      assert.equal(await count(t, 'verifications', tenantId), 1);
      assert.equal(r.messages, 0);

      // Messages: 30 days after they were created; attempts 30 days after they were made.
      clock.set(t0 + 30 * DAY);
      assert.equal((await run()).messages, 0, 'exactly 30 days old: kept');
      clock.advance(1);
      r = await run({ batchSize: 1, maxBatchesPerRun: 1 });
      assert.equal(r.messages, 3, 'bounded: one batch of one row per table (attempts, messages, inbox)');
      r = await run();
      // 3, or 2 when the first run's message was the one whose attempt was left (it went with it).
      assert.ok(r.messages === 3 || r.messages === 2, JSON.stringify(r));
      assert.equal(await count(t, 'messages', tenantId), 1, "the later send's message stays");
      assert.equal(await count(t, 'message_attempts', tenantId), 1);
      assert.equal(await count(t, 'inbox_messages', tenantId), 1);
      assert.equal(r.audit, 0);
      const bytes = await storeBytes(t);
      assert.ok(!bytes.includes('14155550101') && !bytes.includes('14155550102'), 'no copy of a purged row is left in the store or its log');
      assert.ok(bytes.includes('14155550103'), 'the search finds a number that is stored');

      // Audit: 365 days.
      clock.set(t0 + 365 * DAY);
      assert.equal((await run()).audit, 0);
      const audited = await t.call('PATCH', `/v1/tenants/${tenantId}`, { auth: adminAuth, body: { name: 'Acme 2' } });
      assert.equal(audited.statusCode, 200);
      clock.advance(1);
      assert.equal((await run()).audit, 2, 'the two entries of the tenant and its key');
      assert.equal(await count(t, 'audit_log', tenantId), 1, 'the newer entry stays');
      assert.equal((await run()).audit, 0, 'a repeat finds nothing');
    });
  });

  describe(`phone numbers in kept rows become a keyed hash after OTPGATE_PHONE_RETENTION_DAYS (${dialect})`, () => {
    let t: TestApp;
    const clock = createManualClock(Date.now());
    before(async () => {
      t = await createTestApp({ dialect, clock, env: { OTPGATE_PHONE_RETENTION_DAYS: '2' } });
    });
    after(async () => t.close());

    test('rows past the line get h:…, newer rows keep the number; export and erasure still find them', async () => {
      const { tenantId, auth } = await t.createTenant();
      const old = '+14155550111';
      const young = '+14155550112';
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: old } })).statusCode, 202);
      assert.equal((await t.call('POST', '/v1/messages', { auth, body: { to: old, body: 'Hello' } })).statusCode, 202);
      await t.drainOutbox();
      await t.deps.store.db
        .insertInto('fraud_decisions')
        .values({ id: newId('fgb'), tenant_id: tenantId, action: 'block', kind: 'number', key: `n:${old}`, rule: 'number_day', reason: `${old}: 9 codes in 24 h`, figures: '{}', level: 0, hits: 0, created_at: clock.now(), expires_at: clock.now() + HOUR, lifted_at: null, lifted_by: null })
        .execute();
      clock.advance(2 * DAY);
      assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: young } })).statusCode, 202);
      await t.drainOutbox();

      const housekeeping = createHousekeeping(t.deps);
      assert.equal((await housekeeping.runOnce()).hashedPhones, 0, 'exactly 2 days old: kept in clear');
      clock.advance(1);
      // challenge, verification, 2 messages, 2 inbox items, the block
      assert.equal((await createHousekeeping(t.deps, { batchSize: 1 }).runOnce()).hashedPhones, 7);
      assert.equal((await housekeeping.runOnce()).hashedPhones, 0, 'a repeat reads nothing new');

      const phones = async (table: 'challenges' | 'verifications') => (await t.deps.store.db.selectFrom(table).select('phone').orderBy('id').execute()).map((r) => r.phone);
      const [hashed, clear] = await phones('challenges');
      assert.match(hashed!, /^h:[A-Za-z0-9_-]{43}$/);
      assert.equal(clear, young);
      assert.deepEqual((await phones('verifications'))[0], hashed);
      const toPhones = (await t.deps.store.db.selectFrom('messages').select('to_phone').orderBy('id').execute()).map((r) => r.to_phone);
      assert.deepEqual(toPhones, [hashed, hashed, young]);
      const block = await t.deps.store.db.selectFrom('fraud_decisions').select(['key', 'reason']).executeTakeFirstOrThrow();
      assert.equal(block.key, `n:${hashed}`);
      assert.ok(!block.reason.includes(old) && block.reason.includes(hashed!), block.reason);
      const bytes = await storeBytes(t);
      assert.ok(!bytes.includes(old.slice(1)), 'no copy of the number in clear is left in the store or its log');
      assert.ok(bytes.includes(young.slice(1)), 'the search finds a number that is stored');

      const exported = await t.call('POST', '/v1/phones/export', { auth, body: { phone_number: old } });
      assert.equal(exported.statusCode, 200, exported.body);
      const data = exported.json().data;
      assert.equal(data.challenges.length, 1);
      assert.equal(data.messages.length, 2);
      assert.equal(data.inbox_messages.length, 2);
      assert.equal(data.fraud_decisions.length, 1);
      const erased = await t.call('POST', '/v1/phones/erase', { auth, body: { phone_number: old } });
      assert.equal(erased.statusCode, 200, erased.body);
      assert.equal(erased.json().erased.challenges, 1);
      assert.equal(erased.json().erased.messages, 2);
      assert.ok(!(await t.deps.store.db.selectFrom('messages').select('to_phone').execute()).some((r) => r.to_phone === hashed));
    });
  });

  describe(`housekeeping runs at once on several nodes without doing anything twice (${dialect})`, () => {
    let t: TestApp;
    const clock = createManualClock(Date.now());
    before(async () => {
      t = await createTestApp({ dialect, clock, env: { OTPGATE_PHONE_RETENTION_DAYS: '1' } });
    });
    after(async () => t.close());

    test('three runs in parallel hash each number once and purge each row once', async () => {
      const { auth } = await t.createTenant();
      const n = 30;
      for (let i = 0; i < n; i++) assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: `+1415555${String(2000 + i)}` } })).statusCode, 202);
      await t.drainOutbox();
      const parallel = async () => {
        // Each its own housekeeping, as on separate nodes; small batches so they overlap.
        const runs = await Promise.all([1, 2, 3].map(() => createHousekeeping(t.deps, { batchSize: 4, maxBatchesPerRun: 100 }).runOnce()));
        return runs.reduce((sum, r) => ({ hashed: sum.hashed + r.hashedPhones, codes: sum.codes + r.codes, messages: sum.messages + r.messages }), { hashed: 0, codes: 0, messages: 0 });
      };
      clock.advance(DAY + 1);
      assert.deepEqual(await parallel(), { hashed: 4 * n, codes: 0, messages: 0 }, 'challenges, verifications, messages, inbox items: each hashed once');
      const clear = await t.deps.store.db.selectFrom('messages').select('to_phone').where('to_phone', 'like', '+%').execute();
      assert.deepEqual(clear, []);
      clock.advance(30 * DAY);
      const purged = await parallel();
      assert.deepEqual({ ...purged, messages: undefined }, { hashed: 0, codes: 2 * n, messages: undefined });
      // A message's delete cascades to its attempts: when one run deletes messages while another
      // still walks the attempts, those attempts go uncounted. Never more than once, though.
      assert.ok(purged.messages >= 2 * n && purged.messages <= 3 * n, `messages, attempts and inbox items purged: ${purged.messages}`);
      for (const table of ['challenges', 'verifications', 'messages', 'message_attempts', 'inbox_messages'] as const) assert.equal(await count(t, table), 0, table);
      assert.doesNotMatch(t.logs.text(), /housekeeping could not/);
    });
  });

  describe(`per-number export and erasure (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp({ dialect });
    });
    after(async () => t.close());

    const A = '+447400123456';
    const B = '+447400123789';
    const NOBODY = '+14155550199';

    test('export holds every row about the number and nothing else; erasure leaves it nowhere, keeps the stats and repeats as 0', async () => {
      const one = await t.createTenant({ fraud_guard: { mode: 'off', safe_list: [A] } }, 'One');
      const two = await t.createTenant({}, 'Two');
      const send = async (auth: string, phone: string, headers: Record<string, string> = {}) => {
        const r = await t.call('POST', '/v1/otp/send', { auth, headers, body: { phone_number: phone } });
        assert.equal(r.statusCode, 202, r.body);
        return r.json<{ challenge_id: string; message_id: string }>();
      };
      const a = await send(one.auth, A, { 'idempotency-key': 'login-a-1' });
      await send(one.auth, B);
      assert.equal((await t.call('POST', '/v1/messages', { auth: one.auth, body: { to: A, body: `Hello ${A}, your order shipped` } })).statusCode, 202);
      const other = await send(two.auth, A);
      await t.drainOutbox();
      const wrong = await t.call('POST', '/v1/otp/verify', { auth: one.auth, body: { challenge_id: a.challenge_id, code: '000000' } });
      assert.ok([200, 400].includes(wrong.statusCode), wrong.body);
      // What providers and the fraud guard write about a number: an error text echoing it, a number block.
      await t.deps.store.db.updateTable('message_attempts').set({ error_message: `The 'To' number ${A} is not valid` }).where('message_id', '=', a.message_id).execute();
      await t.deps.store.db
        .insertInto('fraud_decisions')
        .values({ id: newId('fgb'), tenant_id: one.tenantId, action: 'would_block', kind: 'number', key: `n:${A}`, rule: 'number_day', reason: `${A}: 9 codes in 24 h`, figures: '{}', level: 0, hits: 1, created_at: Date.now(), expires_at: Date.now() + HOUR, lifted_at: null, lifted_by: null })
        .execute();
      // An event a tenant's endpoint was sent about a block of the number (disabled: nothing delivers it here).
      const endpointId = newId('whe');
      await t.deps.store.db
        .insertInto('event_endpoints')
        .values({ id: endpointId, tenant_id: one.tenantId, url: 'https://hooks.example.com/otp', description: null, events: null, secret_sealed: 'x', previous_secret_sealed: null, previous_secret_until: null, enabled: 0, disabled_reason: 'test', failing_since: null, created_at: Date.now(), updated_at: Date.now() })
        .execute();
      await t.deps.store.db
        .insertInto('event_deliveries')
        .values({ id: newId('evd'), event_id: newId('evt'), tenant_id: one.tenantId, endpoint_id: endpointId, type: 'fraud.blocked', payload: JSON.stringify({ type: 'fraud.blocked', data: { kind: 'number', key: A } }), status: 'failed', attempts: 1, next_attempt_at: 0, lease_owner: null, lease_until: null, last_attempt_at: null, last_http_status: 500, last_error: null, created_at: Date.now(), updated_at: Date.now(), delivered_at: null })
        .execute();
      const bodies = (await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(A)}`, { auth: one.auth })).json().items.map((i: { body: string }) => i.body);
      assert.equal(bodies.length, 2);

      // Export: every table's rows for the number, nothing of another number or tenant.
      const exp = await t.call('POST', '/v1/phones/export', { auth: one.auth, body: { phone_number: '+44 7400 123456' } });
      assert.equal(exp.statusCode, 200, exp.body);
      const e = exp.json();
      assert.equal(e.phone_number, A);
      const sizes = Object.fromEntries(Object.entries(e.data as Record<string, unknown[]>).map(([k, v]) => [k, v.length]));
      assert.deepEqual(sizes, {
        challenges: 1,
        verifications: 1,
        messages: 2,
        message_attempts: 2,
        inbox_messages: 2,
        idempotency_keys: 1,
        audit_log: 1,
        fraud_decisions: 1,
        event_deliveries: 1,
        tenant_settings: 1,
      });
      assert.equal(e.data.challenges[0].id, a.challenge_id);
      assert.equal(e.data.audit_log[0].action, 'tenant.created');
      const text = exp.body;
      assert.ok(!text.includes(B), 'no other number');
      assert.ok(!text.includes(two.tenantId) && !text.includes(other.challenge_id), 'nothing of the other tenant');
      // The passcode's SMS as the inbox shows it (with the code); the event SMS has no code and is exported.
      const withCode = bodies.filter((b: string) => !b.startsWith('Hello'));
      assert.equal(withCode.length, 1);
      for (const secret of ['code_hash', 'code_sealed', 'body_sealed', 'request_hash', 'key_hash', ...withCode]) assert.ok(!text.includes(secret), `the export holds ${secret}`);

      const exp2 = (await t.call('POST', '/v1/phones/export', { auth: two.auth, body: { phone_number: A } })).json();
      assert.deepEqual(exp2.data.challenges.map((c: { id: string }) => c.id), [other.challenge_id]);
      assert.ok(!JSON.stringify(exp2).includes(a.challenge_id));

      // Bad input changes nothing; a number with no data gives an empty export and a 0-row erasure.
      const before = { audit: await count(t, 'audit_log'), messages: await count(t, 'messages') };
      for (const path of ['/v1/phones/export', '/v1/phones/erase']) {
        const bad = await t.call('POST', path, { auth: one.auth, body: { phone_number: '12' } });
        assert.equal(bad.statusCode, 400);
        assert.equal(bad.json().code, 'phone.invalid');
        assert.equal((await t.call('POST', path, { auth: one.auth, body: { phone_number: A, tenant_id: two.tenantId } })).json().code, 'request.invalid');
        assert.equal((await t.call('POST', path, { body: { phone_number: A } })).statusCode, 401);
      }
      assert.deepEqual({ audit: await count(t, 'audit_log'), messages: await count(t, 'messages') }, before);
      const empty = (await t.call('POST', '/v1/phones/export', { auth: one.auth, body: { phone_number: NOBODY } })).json();
      assert.equal(empty.total_rows, 0);
      assert.ok(Object.values(empty.data as Record<string, unknown[]>).every((rows) => rows.length === 0));
      assert.equal((await t.call('POST', '/v1/phones/erase', { auth: one.auth, body: { phone_number: NOBODY } })).json().total_rows, 0);

      // Erasure.
      const stats = async () => (await t.call('GET', '/v1/stats?window=24h', { auth: one.auth })).json().buckets;
      const statsBefore = await stats();
      const erase = await t.call('POST', '/v1/phones/erase', { auth: one.auth, body: { phone_number: A } });
      assert.equal(erase.statusCode, 200, erase.body);
      assert.deepEqual(erase.json().erased, {
        challenges: 1,
        verifications: 1,
        messages: 2,
        message_attempts: 1,
        inbox_messages: 2,
        idempotency_keys: 1,
        audit_log: 1,
        fraud_decisions: 1,
        event_deliveries: 1,
        tenant_settings: 1,
      });
      assert.deepEqual(await stats(), statsBefore, 'the stats totals are unchanged');
      const again = (await t.call('POST', '/v1/phones/erase', { auth: one.auth, body: { phone_number: A } })).json();
      assert.equal(again.total_rows, 0, JSON.stringify(again));
      const after = (await t.call('POST', '/v1/phones/export', { auth: one.auth, body: { phone_number: A } })).json();
      for (const [table, rows] of Object.entries(after.data as Record<string, Array<{ action?: string }>>)) {
        if (table === 'audit_log') assert.ok(rows.every((r) => r.action?.startsWith('phone.')), JSON.stringify(rows));
        else assert.equal(rows.length, 0, table);
      }
      const audit = (await t.call('GET', '/v1/audit-log', { auth: one.auth })).json().items;
      assert.ok(audit.some((r: { action: string; details: { total_rows: number } }) => r.action === 'phone.erased' && r.details.total_rows === 12));
      const tenantOne = (await t.call('GET', `/v1/tenants/${one.tenantId}`, { auth: adminAuth })).json();
      assert.deepEqual(tenantOne.settings.fraud_guard.safe_list, []);

      // The other tenant's rows about the same number are untouched.
      assert.deepEqual((await t.call('POST', '/v1/phones/export', { auth: two.auth, body: { phone_number: A } })).json().data.challenges.map((c: { id: string; phone: string }) => [c.id, c.phone]), [
        [other.challenge_id, A],
      ]);
      const bytes = await storeBytes(t);
      assert.ok(bytes.includes(A), 'the search finds a number that is stored');

      // Once the second tenant erases it too, no table, backup or log line holds it.
      assert.equal((await t.call('POST', '/v1/phones/erase', { auth: two.auth, body: { phone_number: A } })).json().erased.challenges, 1);
      const clean = await storeBytes(t);
      assert.ok(!clean.includes(A), `${dialect}: the store still holds ${A}`);
      assert.ok(!clean.includes(A.slice(1)), `${dialect}: the store still holds the digits of ${A}`);
      assert.ok(clean.includes(B), 'B is still there');
      assert.ok(!t.logs.text().includes(A.slice(1)), 'no log line names the number');
    });

    test('an export and an erasure walk the tenant’s messages and Inbox past one page (5,000 rows)', async () => {
      const { tenantId, auth } = await t.createTenant({}, 'Walked');
      const C = '+14155550142';
      const n = 5_100;
      const t0 = Date.now() - HOUR;
      const id = (prefix: string, i: number) => `${prefix}_${String(t0 + i).padStart(13, '0')}${String(i).padStart(13, '0')}`;
      // The number's rows are the oldest and the newest: the walk starts at the newest, so the
      // oldest is found only on its second page.
      const phoneOf = (i: number) => (i === 0 || i === n - 1 ? C : `+1415555${String(1000 + (i % 8000)).padStart(4, '0')}`);
      const messages = Array.from({ length: n }, (_, i) => ({
        id: id('msg', i), tenant_id: tenantId, kind: 'otp' as const, challenge_id: null, purpose: 'login', to_phone: phoneOf(i),
        body_sealed: null, body_masked: 'code ******', sender_id: null, encoding: 'GSM-7', segments: 1, status: 'delivered' as const, attempts: 1, chain_index: 0,
        chain_attempts: 1, next_attempt_at: t0 + i, lease_until: null, lease_owner: null, expires_at: t0 + i + 300_000, provider: 'Inbox', provider_message_id: null,
        error_kind: null, error_code: null, error_message: null, created_at: t0 + i, updated_at: t0 + i, sent_at: t0 + i, delivered_at: null,
      }));
      const inbox = messages.map((m, i) => ({ id: id('inb', i), tenant_id: tenantId, message_id: m.id, to_phone: m.to_phone, body_sealed: t.deps.secretBox.seal('Hello', id('inb', i)), created_at: m.created_at }));
      for (let i = 0; i < n; i += 500) {
        await t.deps.store.db.insertInto('messages').values(messages.slice(i, i + 500)).execute();
        await t.deps.store.db.insertInto('inbox_messages').values(inbox.slice(i, i + 500)).execute();
      }

      const expRes = await t.call('POST', '/v1/phones/export', { auth, body: { phone_number: C } });
      assert.equal(expRes.statusCode, 200, expRes.body);
      const exp = expRes.json();
      assert.deepEqual(exp.data.messages.map((m: { id: string }) => m.id), [id('msg', 0), id('msg', n - 1)]);
      assert.deepEqual(exp.data.inbox_messages.map((m: { id: string }) => m.id), [id('inb', 0), id('inb', n - 1)]);
      // The API's list by number reads a window of 5,000 of the tenant's items at a time: the
      // first page holds the newest row and a cursor below the window, the second the oldest.
      const list = async (cursor?: string) => {
        const r = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(C)}&limit=5${cursor ? `&cursor=${cursor}` : ''}`, { auth });
        assert.equal(r.statusCode, 200, r.body);
        return r.json<{ items: Array<{ id: string }>; next_cursor: string | null }>();
      };
      const first = await list();
      assert.deepEqual(first.items.map((m) => m.id), [id('inb', n - 1)]);
      assert.equal(first.next_cursor, id('inb', n - 5_000), 'the window’s lowest id');
      const second = await list(first.next_cursor!);
      assert.deepEqual(second.items.map((m) => m.id), [id('inb', 0)]);
      assert.equal(second.next_cursor, null);
      const all = (await t.call('GET', '/v1/inbox?limit=2', { auth })).json();
      assert.deepEqual(all.items.map((m: { id: string }) => m.id), [id('inb', n - 1), id('inb', n - 2)], 'without a number: the newest items');
      const erased = (await t.call('POST', '/v1/phones/erase', { auth, body: { phone_number: C } })).json();
      assert.equal(erased.erased.messages, 2);
      assert.equal(erased.erased.inbox_messages, 2);
      assert.equal(await count(t, 'inbox_messages', tenantId), n - 2, 'only the number’s Inbox rows are gone');
    });

    test('an export and an erasure walk idempotency keys, audit entries and event deliveries past one window (5,000 rows)', async () => {
      const { tenantId, auth } = await t.createTenant({}, 'Walked too');
      const C = '+14155550143';
      const n = 5_100;
      const t0 = Date.now() - HOUR;
      // The number is in the oldest and the newest row of each: the walk finds the newest only in its second window.
      const named = (i: number) => i === 0 || i === n - 1;
      const db = t.deps.store.db;
      const endpoint = newId('whe', t0);
      await db
        .insertInto('event_endpoints')
        .values({ id: endpoint, tenant_id: tenantId, url: 'https://hooks.example.com/otp', description: null, events: null, secret_sealed: 'x', previous_secret_sealed: null, previous_secret_until: null, enabled: 1, disabled_reason: null, failing_since: null, created_at: t0, updated_at: t0 })
        .execute();
      const idem = Array.from({ length: n }, (_, i) => ({
        tenant_id: tenantId, key: `key-${String(i).padStart(5, '0')}`, route: 'POST /v1/otp/send', request_hash: 'h', status_code: 202,
        response: JSON.stringify({ to: named(i) ? C : '+14155550000' }), created_at: t0 + i, expires_at: t0 + HOUR * 24,
      }));
      const audit = Array.from({ length: n }, (_, i) => ({
        id: newId('aud', t0 + i), tenant_id: tenantId, actor: 'admin', actor_type: null, actor_email: null, action: 'tenant.updated', target: tenantId,
        details: JSON.stringify({ test_numbers: [named(i) ? C : '+14155550000'] }), created_at: t0 + i,
      }));
      const events = Array.from({ length: n }, (_, i) => ({
        id: newId('evd', t0 + i), event_id: newId('evt', t0 + i), tenant_id: tenantId, endpoint_id: endpoint, type: 'message.failed', payload: '{}', status: 'delivered' as const, attempts: 1,
        next_attempt_at: t0 + i, lease_owner: null, lease_until: null, last_attempt_at: null, last_http_status: 200, last_error: named(i) ? `the provider refused ${C}` : null, created_at: t0 + i, updated_at: t0 + i,
      }));
      for (let i = 0; i < n; i += 500) {
        await db.insertInto('idempotency_keys').values(idem.slice(i, i + 500)).execute();
        await db.insertInto('audit_log').values(audit.slice(i, i + 500)).execute();
        await db.insertInto('event_deliveries').values(events.slice(i, i + 500)).execute();
      }
      const exp = (await t.call('POST', '/v1/phones/export', { auth, body: { phone_number: C } })).json();
      assert.deepEqual(exp.data.idempotency_keys.map((r: { key: string }) => r.key), ['key-00000', 'key-05099']);
      assert.deepEqual(exp.data.audit_log.map((r: { id: string }) => r.id), [audit[0]!.id, audit[n - 1]!.id]);
      assert.deepEqual(exp.data.event_deliveries.map((r: { id: string }) => r.id), [events[0]!.id, events[n - 1]!.id]);
      const erased = (await t.call('POST', '/v1/phones/erase', { auth, body: { phone_number: C } })).json();
      assert.equal(erased.erased.idempotency_keys, 2);
      assert.equal(erased.erased.event_deliveries, 2);
      const left = await db.selectFrom('event_deliveries').select('id').where('endpoint_id', '=', endpoint).where('last_error', 'like', `%${C}%`).execute();
      assert.equal(left.length, 0, 'no event delivery names the number any more');
    });

    test('a message still queued for an erased number is never sent; its code no longer verifies', async () => {
      const { auth } = await t.createTenant();
      const phone = '+14155550177';
      const sent = (await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone } })).json();
      const erased = (await t.call('POST', '/v1/phones/erase', { auth, body: { phone_number: phone } })).json();
      assert.equal(erased.erased.messages, 1);
      await t.drainOutbox();
      const message = (await t.call('GET', `/v1/messages/${sent.message_id}`, { auth })).json();
      assert.equal(message.status, 'failed');
      assert.equal((await t.call('GET', '/v1/inbox', { auth })).json().items.length, 0, 'nothing was delivered');
      const verify = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: sent.challenge_id, code: '123456' } });
      assert.ok(verify.statusCode >= 400 && verify.statusCode < 500, verify.body);
    });
  });
}

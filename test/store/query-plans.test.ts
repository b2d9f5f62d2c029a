import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kysely, sql, SqliteDialect } from 'kysely';
import { createStore, migrateToLatest, type Store } from '../../src/store/db.js';
import { findLatestCode } from '../../src/store/queries/challenges.js';
import { nearestNumbers } from '../../src/store/queries/fraud.js';
import type { Database } from '../../src/store/schema.js';
import SqliteDatabase from '../../src/store/sqlite-driver.js';
import { createTestDatabase, testDialects } from '../helpers/databases.js';

/**
 * The lookups behind the per-IP cap and delivery receipts are served by their (partial)
 * indexes on both engines (migrations 0004, 0005), and so are the dispatcher's lookups of the
 * queue: a partial `… WHERE x IS NOT NULL` index only helps
 * if the planner proves `x = ?` implies it, which this test holds each engine to.
 */
/** The fixture's verifications: one a minute from here, the newest 100 of 2,000 pending. */
const verificationsT0 = Date.UTC(2026, 0, 1);

const lookups = [
  // The per-phone hourly cap and the latest code of a phone: one index keyed by phone (0019).
  {
    index: 'challenges_latest',
    query: sql`select count(*) from challenges where tenant_id = ${'ten_a'} and phone = ${'+447400123456'} and created_at > ${0}`,
  },
  {
    index: 'challenges_latest',
    query: sql`select * from challenges where tenant_id = ${'ten_a'} and phone = ${'+447400123456'} and purpose = ${'login'} order by created_at desc, id desc limit 1`,
  },
  {
    index: 'challenges_ip',
    query: sql`select count(*) from challenges where tenant_id = ${'ten_a'} and client_ip = ${'203.0.113.9'} and created_at > ${0}`,
  },
  {
    index: 'messages_due',
    query: sql`select id from messages where status = 'queued' and next_attempt_at <= ${0} order by next_attempt_at limit 10`,
  },
  // Events (migration 0013): the emit's read in every final delivery's transaction, the
  // event worker's two claims, and an endpoint's delivery log.
  {
    index: 'event_endpoints_tenant',
    query: sql`select id, events from event_endpoints where tenant_id = ${'ten_a'} and enabled = 1`,
  },
  {
    index: 'event_deliveries_due',
    query: sql`select id from event_deliveries where status = 'queued' and next_attempt_at <= ${0} order by next_attempt_at limit 8`,
  },
  {
    index: 'event_deliveries_due',
    query: sql`select id from event_deliveries where status = 'sending' and lease_until < ${0} limit 8`,
  },
  {
    index: 'event_deliveries_endpoint',
    query: sql`select * from event_deliveries where tenant_id = ${'ten_a'} and endpoint_id = ${'whe_a'} order by id desc limit 21`,
  },
  {
    index: 'messages_due',
    query: sql`select count(*) from messages where status = 'queued'`,
  },
  {
    index: 'messages_sending_lease',
    query: sql`select count(*) from messages where status = 'sending'`,
  },
  {
    index: 'idempotency_expires',
    query: sql`select tenant_id, key from idempotency_keys where expires_at <= ${0} limit 500`,
  },
  {
    index: 'messages_provider_id',
    query: sql`select * from messages where tenant_id = ${'ten_a'} and provider = ${'Twilio'} and provider_message_id = ${'SM0123'}`,
  },
  // The fraud guard's reads on every send (src/store/queries/fraud.ts): counters of three keys,
  // an IP's destination countries, decisions in force, and a busy prefix's recent numbers.
  {
    index: 'fraud_counters_pk|PRIMARY KEY',
    query: sql`select key, bucket, sent, verified from fraud_counters where tenant_id = ${'ten_a'} and key in (${'c:GB'}, ${'p:+447400123'}, ${'i:203.0.113.9'}) and bucket >= ${30 * 3_600_000}`,
  },
  {
    index: 'fraud_counters_pk|PRIMARY KEY',
    query: sql`select key, max(bucket) from fraud_counters where tenant_id = ${'ten_a'} and key >= ${'x:203.0.113.9|'} and key < ${'x:203.0.113.9}'} and bucket >= ${30 * 3_600_000} group by key limit 300`,
  },
  {
    index: 'fraud_decisions_key',
    query: sql`select * from fraud_decisions where tenant_id = ${'ten_a'} and key in (${'n:+447400123456'}, ${'c:GB'}, ${'p:+447400123'}, ${''}) and expires_at > ${0} and lifted_at is null`,
  },
  // number_day: the codes of one number in 24 h, newest first.
  {
    index: 'challenges_latest',
    query: sql`select verified_at from challenges where tenant_id = ${'ten_a'} and phone = ${'+447400123456'} and created_at > ${0} order by created_at desc limit 10`,
  },
  // A verify reads the newest pending codes of its verification; housekeeping ends expired ones
  // (migration 0009).
  {
    index: 'challenges_verification',
    query: sql`select * from challenges where verification_id = ${'ver_a'} and status = 'pending' order by created_at desc, id desc limit 3`,
  },
  {
    index: 'verifications_pending',
    query: sql`select id from verifications where status = 'pending' and approved_at is null and expires_at <= ${0} limit 500`,
  },
  // A verify's approval and its wrong code change one pending verification by id (the
  // PostgreSQL functions' statements and the transaction path's): the primary key, not a walk
  // of every live pending verification through `verifications_pending` (migration 0032).
  {
    index: 'verifications_pkey|sqlite_autoindex_verifications_1',
    query: sql`update verifications set status = 'approved', approved_at = ${1}, updated_at = ${1}, code_sealed = null where id = ${'ver_00000000000000000000001950'} and status = 'pending' and expires_at > ${verificationsT0 + 1990 * 60_000} and attempts < max_attempts`,
  },
  {
    index: 'verifications_pkey|sqlite_autoindex_verifications_1',
    query: sql`update verifications set attempts = attempts + 1, updated_at = ${1} where tenant_id = ${'ten_a'} and id = ${'ver_00000000000000000000001950'} and status = 'pending' and expires_at > ${verificationsT0 + 1990 * 60_000} and attempts + 1 < max_attempts`,
  },
  // Data lifecycle (src/store/queries/lifecycle.ts): the boundary seek and each purge batch stay
  // on the primary key of time-ordered ids; an export walks a tenant's messages by messages_tenant.
  {
    index: 'messages_pkey|sqlite_autoindex_messages_1',
    query: sql`select id, created_at from messages where id >= ${'msg_00000000000000000000001000'} order by id limit 1`,
  },
  {
    index: 'messages_pkey|sqlite_autoindex_messages_1',
    query: sql`select id from messages where id < ${'msg_00000000000000000000001000'} and created_at < ${0} and status not in ('queued', 'sending') limit 500`,
  },
  {
    index: 'challenges_pkey|sqlite_autoindex_challenges_1',
    query: sql`select id from challenges where id < ${'chl_00000000000000000000001000'} and expires_at < ${0} limit 500`,
  },
  {
    index: 'audit_log_pkey|sqlite_autoindex_audit_log_1',
    query: sql`select id from audit_log where id < ${'aud_00000000000000000000001000'} and created_at < ${0} limit 500`,
  },
  // (with the one tenant of this data PostgreSQL rightly walks the primary key instead)
  {
    index: 'messages_tenant|messages_pkey',
    query: sql`select id, to_phone from messages where tenant_id = ${'ten_a'} and id < ${'msg_00000000000000000000001000'} order by id desc limit 5000`,
  },
  // The Inbox by number (the API's list, an export's walk): the tenant's newest rows by id (0029),
  // no index keyed by number for a delivery to write at random.
  {
    index: 'inbox_messages_tenant_id|inbox_messages_pkey',
    query: sql`select * from inbox_messages where tenant_id = ${'ten_a'} and to_phone = ${'+447400100010'} and id < ${'inb_00000000000000000000001900'} and id >= ${'inb_00000000000000000000001000'} order by id desc limit 21`,
  },
  {
    // The window's lowest id (src/store/queries/inbox.ts).
    index: 'inbox_messages_tenant_id|inbox_messages_pkey',
    query: sql`select id from inbox_messages where tenant_id = ${'ten_a'} and id < ${'inb_00000000000000000000001900'} order by id desc limit 1 offset 4999`,
  },
  {
    index: 'inbox_messages_tenant_id|inbox_messages_pkey',
    query: sql`select id, to_phone from inbox_messages where tenant_id = ${'ten_a'} and id < ${'inb_00000000000000000000001000'} order by id desc limit 5000`,
  },
  // The message log's filtered reads (src/store/queries/messages.ts): a window of the tenant's
  // messages by id, never a walk of the log by status, number or purpose.
  {
    index: 'messages_tenant|messages_pkey',
    query: sql`select id from messages where tenant_id = ${'ten_a'} and id < ${'msg_00000000000000000000001900'} and id >= ${'msg_00000000000000000000000100'} order by id desc limit 1 offset 4999`,
  },
  {
    index: 'messages_tenant|messages_pkey',
    query: sql`select * from messages where tenant_id = ${'ten_a'} and id < ${'msg_00000000000000000000001900'} and id >= ${'msg_00000000000000000000001000'} and status = 'failed' and purpose = ${'mfa'} order by id desc limit 26`,
  },
  {
    // A date's id: the tenant's first message from an id, and its last before one.
    index: 'messages_tenant|messages_pkey',
    query: sql`select created_at from messages where tenant_id = ${'ten_a'} and id >= ${'msg_00000000000000000000001000'} order by id asc limit 1`,
  },
  {
    index: 'messages_tenant|messages_pkey',
    query: sql`select created_at from messages where tenant_id = ${'ten_a'} and id < ${'msg_00000000000000000000001000'} order by id desc limit 1`,
  },
  // Stats (src/store/queries/stats.ts): a window's counts walk the window's ids, not every row
  // the tenant has (24 s for a 24-hour window of a 10 M-message store before).
  {
    index: 'messages_tenant|messages_pkey',
    query: sql`select cast(created_at / 3600000 as integer) as bucket, status, provider, count(*) from messages where tenant_id = ${'ten_a'} and id >= ${'msg_00000000000000000000001900'} and created_at >= ${0} and kind != 'test' group by cast(created_at / 3600000 as integer), status, provider`,
  },
  {
    index: 'challenges_pkey|sqlite_autoindex_challenges_1',
    query: sql`select cast(created_at / 3600000 as integer) as bucket, count(*) from challenges where tenant_id || '' = ${'ten_a'} and id >= ${'chl_00000000000000000000001900'} and created_at >= ${0} group by cast(created_at / 3600000 as integer)`,
  },
  // A deleted tenant (src/store/queries/tenants.ts): what it had waiting goes through the
  // queues' indexes, not its whole log; its rows go in batches through its own indexes.
  {
    index: 'messages_due',
    query: sql`delete from messages where status = 'queued' and tenant_id || '' = ${'ten_a'}`,
  },
  {
    index: 'event_deliveries_due',
    query: sql`delete from event_deliveries where status = 'queued' and tenant_id || '' = ${'ten_a'}`,
  },
  {
    index: 'messages_tenant|messages_pkey',
    query: sql`select id from messages where tenant_id = ${'ten_a'} limit 500`,
  },
  {
    index: 'challenges_latest|challenges_pkey',
    query: sql`select id from challenges where tenant_id = ${'ten_a'} limit 500`,
  },
  {
    index: 'message_attempts_tenant|message_attempts_pkey',
    query: sql`select id from message_attempts where tenant_id = ${'ten_a'} limit 500`,
  },
  // The guard's decisions in force (one node, src/services/fraud-guard.ts decisionsFor): the
  // tenant's decisions of the last day and a half by id, not the 90 days kept (PostgreSQL, with
  // the one tenant of this data, rightly takes the primary key's range).
  {
    index: 'fraud_decisions_tenant|fraud_decisions_pkey',
    query: sql`select * from fraud_decisions where tenant_id = ${'ten_a'} and id >= ${'fgb_00000000000000000000001900'} and expires_at > ${0} and ((expires_at > ${1} and lifted_at is null) or lifted_at > ${0})`,
  },
  {
    // The blocks in force (the console's list): those made in the last 12 hours.
    index: 'fraud_decisions_tenant|fraud_decisions_pkey',
    query: sql`select * from fraud_decisions where tenant_id = ${'ten_a'} and id >= ${'fgb_00000000000000000000001900'} and action = 'block' and expires_at > ${1} and lifted_at is null order by id desc limit 500`,
  },
  // The decision list filtered by action (migration 0031): the tenant's newest decisions of that
  // action, not a walk of the tenant's others (this data's 2,000 are blocks) to find them.
  {
    index: 'fraud_decisions_tenant_action',
    query: sql`select * from fraud_decisions where tenant_id = ${'ten_a'} and action = ${'would_block'} order by id desc limit 51`,
  },
  {
    index: 'fraud_decisions_tenant_action',
    query: sql`select * from fraud_decisions where tenant_id = ${'ten_a'} and action = ${'would_block'} and id < ${'fgb_00000000000000000000001900'} order by id desc limit 51`,
  },
  // Finished event deliveries past 30 days (housekeeping): the primary key's range below the
  // boundary, not the status index's walk of every finished delivery.
  {
    index: 'event_deliveries_pkey|sqlite_autoindex_event_deliveries_1',
    query: sql`select id from event_deliveries where id < ${'evd_00000000000000000000001000'} and created_at < ${0} and status || '' in ('delivered', 'failed') limit 500`,
  },
  {
    index: 'event_deliveries_pkey|sqlite_autoindex_event_deliveries_1',
    query: sql`select id, created_at from event_deliveries where id >= ${'evd_00000000000000000000001000'} order by id limit 1`,
  },
  // An export's or erasure's walks of what may name a number, a window at a time
  // (src/store/queries/phone-data.ts).
  {
    index: 'idempotency_keys_pk|sqlite_autoindex_idempotency_keys_1',
    query: sql`select key from idempotency_keys where tenant_id = ${'ten_a'} and key > ${'k'} order by key limit 1 offset 4999`,
  },
  {
    index: 'audit_log_tenant|audit_log_pkey',
    query: sql`select id from audit_log where tenant_id = ${'ten_a'} and id > ${'aud_00000000000000000000001000'} order by id limit 1 offset 4999`,
  },
  {
    index: 'event_deliveries_endpoint',
    query: sql`select id from event_deliveries where endpoint_id = ${'whe_a'} and id > ${'evd_00000000000000000000001000'} order by id limit 1 offset 4999`,
  },
  {
    index: 'event_deliveries_endpoint',
    query: sql`select id, payload from event_deliveries where endpoint_id = ${'whe_a'} and tenant_id = ${'ten_a'} and id > ${'evd_00000000000000000000001000'} and id <= ${'evd_00000000000000000000002000'} and (payload like ${'%+1415%'} or last_error like ${'%+1415%'}) order by id`,
  },
  // A window's edges, where statistics count in chunks (SQLite): each an index's range, never a
  // walk of the table.
  {
    index: 'messages_tenant|messages_pkey',
    query: sql`select id from messages where tenant_id = ${'ten_a'} and id >= ${'msg_00000000000000000000001000'} order by id limit 1 offset 5000`,
  },
  {
    index: 'challenges_pkey|sqlite_autoindex_challenges_1',
    query: sql`select id from challenges where id >= ${'chl_00000000000000000000001000'} order by id limit 1 offset 5000`,
  },
  {
    index: 'message_attempts_tenant',
    query: sql`select started_at from message_attempts where tenant_id = ${'ten_a'} and started_at >= ${0} order by started_at limit 1 offset 5000`,
  },
  // The fraud guard's totals per prefix in chunks (SQLite): the primary key's range of the
  // tenant's keys, one upper bound (src/store/queries/fraud.ts counterTotals).
  {
    index: 'fraud_counters_pk|fraud_counters USING PRIMARY KEY \\(tenant_id=\\? AND key>\\? AND key<\\?\\)',
    query: sql`select key from fraud_counters where tenant_id = ${'ten_a'} and key >= ${'p:+1415'} and key < ${'p;'} order by key, bucket limit 1 offset 5000`,
  },
  {
    index: 'fraud_counters_pk|fraud_counters USING PRIMARY KEY \\(tenant_id=\\? AND key>\\? AND key<\\?\\)',
    query: sql`select key, sum(sent) from fraud_counters where tenant_id = ${'ten_a'} and key >= ${'p:+1415'} and key < ${'p:+1416'} and bucket >= ${0} group by key`,
  },
  {
    index: 'challenges_latest',
    // One side of the velocity read (nearestNumbers): the numbers below one, nearest first.
    query: sql`select distinct phone from challenges where tenant_id = ${'ten_a'} and phone >= ${'+447400100980'} and phone < ${'+447400101000'} and length(phone) = ${13} and created_at > ${0} order by phone desc limit 3`,
  },
];

for (const dialect of await testDialects()) {
  describe(`query plans (${dialect})`, () => {
    let store: Store;
    let drop: () => Promise<void>;
    before(async () => {
      const db = await createTestDatabase(dialect);
      drop = db.drop;
      store = createStore(db.url);
      await migrateToLatest(store);
      // A tenant with months of decisions: on an empty table PostgreSQL rightly scans the tenant's
      // few rows, which is not the case the key index is for.
      await store.db.insertInto('tenants').values({ id: 'ten_a', name: 'a', settings: '{}', created_at: 0, updated_at: 0 }).execute();
      const rows = Array.from({ length: 2000 }, (_, i) => ({
        id: `fgb_${String(i).padStart(26, '0')}`,
        tenant_id: 'ten_a',
        action: 'block' as const,
        kind: 'prefix' as const,
        key: `p:+4474${String(i).padStart(5, '0')}`,
        rule: 'prefix_hour',
        reason: '',
        figures: '{}',
        level: 0,
        hits: 1,
        created_at: i,
        expires_at: i + 900_000,
        lifted_at: null,
        lifted_by: null,
      }));
      for (let i = 0; i < rows.length; i += 500) await store.db.insertInto('fraud_decisions').values(rows.slice(i, i + 500)).execute();
      // And counters: 100 keys × 40 hour buckets.
      const counters = Array.from({ length: 4000 }, (_, i) => ({
        tenant_id: 'ten_a',
        key: i % 2 === 0 ? `p:+4474${String(i % 100).padStart(5, '0')}` : `x:203.0.113.${i % 100}|GB`,
        bucket: Math.floor(i / 100) * 3_600_000,
        sent: 1,
        verified: 0,
        segments: 1,
        cost_micros: 0,
      }));
      for (let i = 0; i < counters.length; i += 500) await store.db.insertInto('fraud_counters').values(counters.slice(i, i + 500)).execute();
      // And two months of messages, codes and audit entries: the lifecycle purges' ranges on the
      // primary key only beat a tenant index's scan once the tables are not empty.
      const t0 = Date.UTC(2026, 0, 1);
      const at = (i: number) => t0 + i * 2_600_000;
      const id = (prefix: string, i: number) => `${prefix}_${String(i).padStart(26, '0')}`;
      const msgs = Array.from({ length: 2000 }, (_, i) => ({
        id: id('msg', i), tenant_id: 'ten_a', kind: 'otp' as const, challenge_id: id('chl', i), purpose: 'login', to_phone: `+4474001${String(i).padStart(5, '0')}`,
        body_sealed: null, body_masked: 'code ******', sender_id: null, encoding: 'GSM-7', segments: 1, status: 'delivered' as const, attempts: 1, chain_index: 0,
        chain_attempts: 1, next_attempt_at: at(i), lease_until: null, lease_owner: null, expires_at: at(i) + 300_000, provider: 'Inbox', provider_message_id: null,
        error_kind: null, error_code: null, error_message: null, created_at: at(i), updated_at: at(i), sent_at: at(i), delivered_at: null,
      }));
      for (let i = 0; i < msgs.length; i += 100) await store.db.insertInto('messages').values(msgs.slice(i, i + 100)).execute();
      const chls = msgs.map((m, i) => ({
        id: id('chl', i), tenant_id: 'ten_a', phone: m.to_phone, purpose: 'login', code_hash: 'x', status: 'verified' as const, attempts: 0, max_attempts: 5,
        client_ip: null, is_test: 0, message_id: m.id, created_at: m.created_at, expires_at: m.expires_at, resend_available_at: m.created_at, verified_at: m.created_at,
      }));
      for (let i = 0; i < chls.length; i += 100) await store.db.insertInto('challenges').values(chls.slice(i, i + 100)).execute();
      const inbox = msgs.map((m, i) => ({ id: id('inb', i), tenant_id: 'ten_a', message_id: m.id, to_phone: m.to_phone, body_sealed: 'x', created_at: m.created_at }));
      for (let i = 0; i < inbox.length; i += 100) await store.db.insertInto('inbox_messages').values(inbox.slice(i, i + 100)).execute();
      const audit = msgs.map((m, i) => ({ id: id('aud', i), tenant_id: 'ten_a', actor: 'admin', action: 'tenant.updated', target: 'ten_a', details: '{}', created_at: m.created_at }));
      for (let i = 0; i < audit.length; i += 100) await store.db.insertInto('audit_log').values(audit.slice(i, i + 100)).execute();
      // And finished event deliveries: the purge's range on the primary key beats the status
      // index's walk only on a table that is not empty. They go to another tenant's 19 endpoints,
      // and a few to ten_a's one (whe_a), as a tenant's share of a busy platform's.
      await store.db.insertInto('tenants').values({ id: 'ten_b', name: 'b', settings: '{}', created_at: 0, updated_at: 0 }).execute();
      const endpoints = Array.from({ length: 20 }, (_, i) => (i === 0 ? 'whe_a' : id('whe', i)));
      await store.db
        .insertInto('event_endpoints')
        .values(endpoints.map((e, i) => ({ id: e, tenant_id: i === 0 ? 'ten_a' : 'ten_b', url: 'https://hooks.example.com', description: null, events: null, secret_sealed: 'x', previous_secret_sealed: null, previous_secret_until: null, enabled: 1, disabled_reason: null, failing_since: null, created_at: t0, updated_at: t0 })))
        .execute();
      const deliveries = msgs.map((m, i) => ({
        id: id('evd', i), event_id: id('evt', i), tenant_id: i % 200 === 0 ? 'ten_a' : 'ten_b', endpoint_id: i % 200 === 0 ? 'whe_a' : endpoints[1 + (i % 19)]!, type: 'message.sent', payload: '{}', status: 'delivered' as const, attempts: 1,
        next_attempt_at: m.created_at, lease_owner: null, lease_until: null, last_attempt_at: null, last_http_status: 200, last_error: null, created_at: m.created_at, updated_at: m.created_at,
      }));
      for (let i = 0; i < deliveries.length; i += 100) await store.db.insertInto('event_deliveries').values(deliveries.slice(i, i + 100)).execute();
      // And another tenant's codes, as many: with one tenant's alone the statistics say a tenant
      // holds the whole table, and SQLite rightly scans it for a deleted tenant's rows.
      const others = chls.map((c, i) => ({ ...c, id: id('chl', 10_000 + i), tenant_id: 'ten_b', phone: `+4474002${String(i).padStart(5, '0')}`, message_id: null }));
      for (let i = 0; i < others.length; i += 100) await store.db.insertInto('challenges').values(others.slice(i, i + 100)).execute();
      const verifications = Array.from({ length: 2000 }, (_, i) => ({
        id: id('ver', i), tenant_id: 'ten_a', phone: `+4474001${String(i).padStart(5, '0')}`, purpose: 'login', status: i >= 1900 ? ('pending' as const) : ('approved' as const), attempts: 0, max_attempts: 5,
        code_sealed: null, amount: null, payee: null, created_at: verificationsT0 + i * 60_000, updated_at: verificationsT0 + i * 60_000, expires_at: verificationsT0 + i * 60_000 + 600_000, approved_at: i >= 1900 ? null : verificationsT0 + i * 60_000,
      }));
      for (let i = 0; i < verifications.length; i += 100) await store.db.insertInto('verifications').values(verifications.slice(i, i + 100)).execute();
      await sql`analyze`.execute(store.db);
    });
    after(async () => {
      await store.close();
      await drop();
    });

    test('the partial indexes exist: keys that are null skipped, only queued messages due', async () => {
      if (dialect === 'sqlite') {
        const rows = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and name in ('challenges_ip', 'messages_provider_id')`.execute(store.db);
        assert.equal(rows.rows.length, 2);
        for (const r of rows.rows) assert.match(r.sql, /where .* is not null/i, r.name);
        const due = await sql<{ sql: string }>`select sql from sqlite_master where name = 'messages_due'`.execute(store.db);
        assert.match(due.rows[0]?.sql ?? '', /where "status" = 'queued'/i);
      } else {
        const rows = await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef from pg_indexes where indexname in ('challenges_ip', 'messages_provider_id')`.execute(store.db);
        assert.equal(rows.rows.length, 2);
        for (const r of rows.rows) assert.match(r.indexdef, /WHERE \(.* IS NOT NULL\)/, r.indexname);
        const due = await sql<{ indexdef: string }>`select indexdef from pg_indexes where indexname = 'messages_due'`.execute(store.db);
        assert.match(due.rows[0]?.indexdef ?? '', /WHERE \(status = 'queued'::text\)/);
      }
    });

    /**
     * Runs `read` on a second connection whose Kysely logs each statement, and answers what it
     * returned with the SQLite plan of its one statement (asserted to be one).
     */
    async function planOfOne<T>(read: (db: Kysely<Database>) => Promise<T>): Promise<{ result: T; plan: string }> {
      const seen: Array<{ sql: string; parameters: readonly unknown[] }> = [];
      const connection = new SqliteDatabase(store.description.replace(/^sqlite /, ''), { readonly: true });
      const logged = new Kysely<Database>({
        dialect: new SqliteDialect({ database: connection }),
        log: (e) => {
          if (e.level === 'query') seen.push({ sql: e.query.sql, parameters: e.query.parameters });
        },
      });
      try {
        const result = await read(logged);
        assert.equal(seen.length, 1);
        const rows = connection.prepare(`explain query plan ${seen[0]!.sql}`).all(...seen[0]!.parameters) as Array<{ detail: string }>;
        return { result, plan: rows.map((x) => x.detail).join('\n') };
      } finally {
        await logged.destroy();
      }
    }

    test('a busy prefix’s recent numbers near one: the guard’s own query reads challenges_latest alone', { skip: dialect !== 'sqlite' }, async () => {
      // The query as the guard builds it: a column outside the index (is_test once) would cost a
      // row lookup for every code.
      // 1,000 numbers below the one asked about, 999 above, all in the range: the three nearest each side.
      const { result: near, plan: text } = await planOfOne((db) => nearestNumbers(db, 'ten_a', '+447400101000', { from: '+447400100000', to: '+447400101999:' }, 0, { below: 3, above: 3 }));
      assert.deepEqual(near, ['+447400100999', '+447400100998', '+447400100997', '+447400101001', '+447400101002', '+447400101003']);
      // Each side a range of the index alone, in order: no sort, no row lookup.
      assert.equal(text.match(/SEARCH challenges USING COVERING INDEX challenges_latest/g)?.length, 2, text);
      assert.doesNotMatch(text, /TEMP B-TREE/, text);
    });

    test('a send’s read of the phone’s latest code comes from challenges_latest alone', { skip: dialect !== 'sqlite' }, async () => {
      // As the send path builds it: on a large store the table's row is a page anywhere in the
      // file (migration 0033), so a column outside the index fails this.
      const { result: latest, plan: text } = await planOfOne((db) => findLatestCode(db, 'ten_a', '+447400100007', 'login'));
      assert.equal(latest?.id, 'chl_00000000000000000000000007');
      assert.equal(latest?.status, 'verified');
      assert.match(text, /SEARCH challenges USING COVERING INDEX challenges_latest/, text);
      assert.doesNotMatch(text, /TEMP B-TREE/, text);
    });

    for (const [i, { index, query }] of lookups.entries()) {
      test(`${index} serves lookup ${i + 1}`, async () => {
        const text = await explain(store, dialect, query);
        assert.match(text, new RegExp(index), text);
      });
    }
  });
}

async function explain(store: Store, dialect: string, query: ReturnType<typeof sql>): Promise<string> {
  const compiled = query.compile(store.db);
  if (dialect === 'sqlite') {
    // Parameters inlined as literals: EXPLAIN cannot take bound values through this path.
    let i = 0;
    const text = compiled.sql.replace(/\?/g, () => JSON.stringify(compiled.parameters[i++]).replace(/^"|"$/g, "'"));
    const r = await sql.raw<{ detail: string }>(`explain query plan ${text}`).execute(store.db);
    return r.rows.map((x) => x.detail).join('\n');
  }
  await sql`set enable_seqscan = off`.execute(store.db);
  let i = 0;
  const text = compiled.sql.replace(/\$\d+/g, () => `'${String(compiled.parameters[i++])}'`);
  const r = await sql.raw<Record<string, string>>(`explain ${text}`).execute(store.db);
  return r.rows.map((x) => Object.values(x).join(' ')).join('\n');
}

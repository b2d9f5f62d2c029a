import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { newId } from '../../src/domain/ids.js';
import type { KyselyPlugin } from 'kysely';
import { counterTotals } from '../../src/store/queries/fraud.js';
import { challengeCountsByBucket, messageCountsByBucket, STATS_CHUNK_ROWS } from '../../src/store/queries/stats.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/**
 * GET /v1/stats over more rows than one chunk: on SQLite (`blockingReads`) a window is counted
 * STATS_CHUNK_ROWS rows at a time so that no statement holds the request thread for long, and
 * the chunks' rows add up to what one statement counts (PostgreSQL's way, the same figures).
 * Another tenant's rows lie between the tenant's (challenges are walked by the primary key over
 * every tenant), and more attempts than a chunk share one start time.
 */
const HOUR = 3_600_000;
const NOW = Math.floor(Date.now() / HOUR) * HOUR + 30 * 60_000;

for (const dialect of await testDialects()) {
  describe(`statistics in chunks (${dialect})`, () => {
    const clock = createManualClock(NOW);
    let t: TestApp;

    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    test('a day of more rows than a chunk holds: every send, code, verify and attempt counted once', async () => {
      const { auth, tenantId } = await t.createTenant({}, 'Counted');
      const { tenantId: otherId } = await t.createTenant({}, 'Other');
      const db = t.deps.store.db;
      // Three hours of traffic: hour 0 is two hours ago.
      const n = 11_234; // several chunks of STATS_CHUNK_ROWS
      const at = (i: number) => NOW - 2 * HOUR - 20 * 60_000 + Math.floor((i * 2.5 * HOUR) / n);
      const statuses = ['delivered', 'failed', 'sent', 'undelivered'] as const;
      const providers = ['Twilio', 'Inbox'];
      const messages = [];
      const challenges = [];
      for (let i = 0; i < n; i++) {
        const tenant = i % 5 === 4 ? otherId : tenantId;
        const time = at(i);
        const id = newId('msg', time);
        messages.push({
          id, tenant_id: tenant, kind: (i % 97 === 0 ? 'test' : 'otp') as 'otp' | 'test', challenge_id: null, purpose: 'login', to_phone: '+14155550100',
          body_sealed: null, body_masked: 'code ******', sender_id: null, encoding: 'GSM-7', segments: 1, status: statuses[i % 4]!, attempts: 1, chain_index: 0,
          chain_attempts: 1, next_attempt_at: time, lease_until: null, lease_owner: null, expires_at: time + 300_000, provider: providers[i % 2]!, provider_message_id: null,
          error_kind: null, error_code: null, error_message: null, created_at: time, updated_at: time, sent_at: time, delivered_at: null,
        });
        challenges.push({
          id: newId('chl', time), tenant_id: tenant, phone: '+14155550100', purpose: 'login', code_hash: 'x', status: (i % 3 === 0 ? 'verified' : 'expired') as 'verified' | 'expired',
          attempts: 0, max_attempts: 5, client_ip: null, is_test: 0, message_id: null, created_at: time, expires_at: time + 300_000, resend_available_at: time, verified_at: null,
        });
      }
      // Attempts: more than a chunk at one millisecond, then the rest spread over the hours, in the
      // same hour as some of them and ten times as slow (a latency averaged per part is wrong).
      const same = NOW - HOUR - 5 * 60_000;
      const own = messages.filter((m) => m.tenant_id === tenantId);
      const attempts = [];
      for (let i = 0; i < STATS_CHUNK_ROWS + 700; i++) {
        const m = own[i % own.length]!;
        const started = i < STATS_CHUNK_ROWS + 100 ? same : m.created_at;
        attempts.push({
          id: newId('att', started), message_id: m.id, tenant_id: tenantId, attempt_no: 1 + Math.floor(i / own.length), provider: providers[i % 2]!, slot: 'primary', started_at: started,
          latency_ms: (i < STATS_CHUNK_ROWS + 100 ? 100 : 1000) + (i % 37), outcome: (i % 7 === 0 ? 'failed' : 'accepted') as 'failed' | 'accepted', error_kind: null, provider_code: null, http_status: 200, error_message: null, provider_message_id: null,
        });
      }
      for (let i = 0; i < n; i += 500) {
        await db.insertInto('messages').values(messages.slice(i, i + 500)).execute();
        await db.insertInto('challenges').values(challenges.slice(i, i + 500)).execute();
      }
      for (let i = 0; i < attempts.length; i += 500) await db.insertInto('message_attempts').values(attempts.slice(i, i + 500)).execute();

      // What each hour must show, counted here from the rows.
      const hourOf = (time: number) => new Date(Math.floor(time / HOUR) * HOUR).toISOString();
      const want = new Map<string, { sends: number; delivered: number; failed: number; undelivered: number; sent: number; challenges: number; verified: number; attempts: number; failed_attempts: number; latency: Record<string, [number, number]> }>();
      const bucket = (time: number) => {
        const key = hourOf(time);
        if (!want.has(key)) want.set(key, { sends: 0, delivered: 0, failed: 0, undelivered: 0, sent: 0, challenges: 0, verified: 0, attempts: 0, failed_attempts: 0, latency: {} });
        return want.get(key)!;
      };
      for (const m of own) {
        if (m.kind === 'test') continue;
        const b = bucket(m.created_at);
        b.sends++;
        if (m.status === 'failed') b.failed++;
        else b.sent++;
        if (m.status === 'delivered') b.delivered++;
        if (m.status === 'undelivered') b.undelivered++;
      }
      for (const c of challenges) {
        if (c.tenant_id !== tenantId) continue;
        const b = bucket(c.created_at);
        b.challenges++;
        if (c.status === 'verified') b.verified++;
      }
      for (const a of attempts) {
        const b = bucket(a.started_at);
        b.attempts++;
        if (a.outcome === 'failed') b.failed_attempts++;
        const l = (b.latency[a.provider] ??= [0, 0]);
        l[0] += a.latency_ms;
        l[1]++;
      }

      const res = await t.call('GET', '/v1/stats?window=24h', { auth });
      assert.equal(res.statusCode, 200, res.body);
      const got = res.json().buckets.filter((b: { sends: number; challenges: number; attempts: number }) => b.sends + b.challenges + b.attempts > 0);
      assert.deepEqual(got.map((b: { start: string }) => b.start), [...want.keys()].sort());
      for (const b of got) {
        const w = want.get(b.start)!;
        const totals = Object.values(w.latency).reduce((acc, [sum, count]) => [acc[0]! + sum, acc[1]! + count], [0, 0]);
        assert.deepEqual(
          { sends: b.sends, sent: b.sent, delivered: b.delivered, undelivered: b.undelivered, failed: b.failed, challenges: b.challenges, verified: b.verified, attempts: b.attempts, failed_attempts: b.failed_attempts, latency_by_provider: b.latency_by_provider, avg: b.avg_provider_latency_ms },
          {
            sends: w.sends, sent: w.sent, delivered: w.delivered, undelivered: w.undelivered, failed: w.failed, challenges: w.challenges, verified: w.verified, attempts: w.attempts, failed_attempts: w.failed_attempts,
            latency_by_provider: Object.fromEntries(Object.entries(w.latency).map(([p, [sum, count]]) => [p, Math.round(sum / count)])),
            avg: totals[1] ? Math.round(totals[0]! / totals[1]!) : null,
          },
          b.start,
        );
      }
      // The hour with more attempts at one millisecond than a chunk holds, and every send of the day.
      assert.ok(got.some((b: { attempts: number }) => b.attempts > STATS_CHUNK_ROWS));
      assert.equal(got.reduce((s: number, b: { sends: number }) => s + b.sends, 0), own.filter((m) => m.kind !== 'test').length);
    });

    test('a chunk is one statement of at most its rows; the chunks add up to the one statement', async () => {
      assert.equal(t.deps.store.capabilities.blockingReads, dialect === 'sqlite', 'SQLite counts in chunks, PostgreSQL in one statement');
      const tenantId = (await t.deps.store.db.selectFrom('tenants').select('id').where('name', '=', 'Counted').executeTakeFirstOrThrow()).id;
      // Each statement's rows, as the database answered them.
      const answers: Array<Array<Record<string, unknown>>> = [];
      const recorder: KyselyPlugin = {
        transformQuery: (args) => args.node,
        transformResult: async (args) => {
          answers.push(args.result.rows as Array<Record<string, unknown>>);
          return args.result;
        },
      };
      const db = t.deps.store.db.withPlugin(recorder);
      const since = NOW - 24 * HOUR;
      const total = (rows: Array<{ n: unknown }>) => rows.reduce((s, r) => s + Number(r.n), 0);
      for (const count of [messageCountsByBucket, challengeCountsByBucket]) {
        const whole = await count(db, tenantId, since, HOUR, count === messageCountsByBucket ? newId('msg', 0) : newId('chl', 0));
        answers.length = 0;
        const parts = await count(db, tenantId, since, HOUR, count === messageCountsByBucket ? newId('msg', 0) : newId('chl', 0), 1_000);
        const counted = answers.filter((rows) => rows.length > 0 && 'n' in rows[0]!);
        assert.ok(counted.length >= 9, `${count.name}: ${counted.length} statements counted`);
        for (const rows of counted) assert.ok(total(rows as Array<{ n: unknown }>) <= 1_000, `${count.name}: a statement counted ${total(rows as Array<{ n: unknown }>)} rows`);
        assert.equal(total(parts), total(whole), count.name);
        assert.ok(total(whole) > 8_000);
        // Between chunks the event loop takes in what waits (on SQLite a statement's promise
        // resolves as a microtask: without a turn of the loop nothing would get in).
        let done = false;
        let inBetween = false;
        setImmediate(() => (inBetween = !done));
        await count(db, tenantId, since, HOUR, count === messageCountsByBucket ? newId('msg', 0) : newId('chl', 0), 1_000);
        done = true;
        assert.ok(inBetween, `${count.name}: a callback waiting ran before the last chunk`);
      }
    });

    test('the fraud guard’s totals per country and prefix: whole keys a statement, the same sums and order as one statement', async () => {
      const db = t.deps.store.db;
      const { tenantId } = await t.createTenant({}, 'Guarded');
      const { tenantId: otherId } = await t.createTenant({}, 'Guarded too');
      const since = NOW - 24 * HOUR;
      // 30 prefixes with 1 to 12 hourly buckets each, half of them before the window; sums tie
      // between prefixes; a country; another tenant's counters in between.
      const rows = [];
      for (let p = 0; p < 30; p++) {
        for (let h = 0; h < 1 + (p % 12); h++) {
          const bucket = NOW - (h % 2 === 0 ? h : 30 + h) * HOUR;
          rows.push({ tenant_id: tenantId, key: `p:+1415${200 + p}`, bucket, sent: 1 + (p % 4), verified: p % 3, segments: 1 + (p % 4), cost_micros: 1000 * (p % 5) });
          rows.push({ tenant_id: otherId, key: `p:+1415${200 + p}`, bucket, sent: 100, verified: 0, segments: 100, cost_micros: 1 });
        }
      }
      rows.push({ tenant_id: tenantId, key: 'c:GB', bucket: NOW, sent: 7, verified: 6, segments: 7, cost_micros: 70_000 });
      for (let i = 0; i < rows.length; i += 200) await db.insertInto('fraud_counters').values(rows.slice(i, i + 200)).execute();

      const order = (list: Array<{ key: string; sent: number }>) => [...list].sort((a, b) => b.sent - a.sent || (a.key < b.key ? -1 : 1));
      const whole = order(await counterTotals(db, tenantId, 'p:', since, 100));
      assert.equal(whole.length, 30);
      let statements = 0;
      const counting: KyselyPlugin = {
        transformQuery: (args) => {
          statements++;
          return args.node;
        },
        transformResult: async (args) => args.result,
      };
      const parts = await counterTotals(db.withPlugin(counting), tenantId, 'p:', since, 100, 5);
      assert.deepEqual(parts, whole, 'the same sums, most sent first, ties by key');
      assert.ok(statements > 10, `${statements} statements`);
      assert.deepEqual(await counterTotals(db, tenantId, 'p:', since, 7, 5), whole.slice(0, 7));
      assert.deepEqual(await counterTotals(db, tenantId, 'c:', since, 300, 5), [{ key: 'c:GB', sent: 7, verified: 6, segments: 7, cost_micros: 70_000 }]);
      let done = false;
      let inBetween = false;
      setImmediate(() => (inBetween = !done));
      await counterTotals(db, tenantId, 'p:', since, 100, 5);
      done = true;
      assert.ok(inBetween, 'a callback waiting ran before the last chunk');
    });
  });
}

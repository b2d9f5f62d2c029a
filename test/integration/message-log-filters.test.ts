import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { hashPhone } from '../../src/crypto/hmac.js';
import { newId } from '../../src/domain/ids.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/**
 * The message log's filters (status, purpose, kind, provider, date range, number, number
 * prefix and last digits) and its CSV export, on each store. Messages are sent through the API
 * at set times; a failover and a hashed number are written into the rows as the dispatcher
 * and housekeeping would leave them.
 */
const DAY = 86_400_000;
const T0 = Date.parse('2026-11-02T10:00:00Z');

for (const dialect of await testDialects()) {
  describe(`message log filters and CSV export (${dialect})`, () => {
    const clock = createManualClock(T0);
    let t: TestApp;
    let auth = '';
    let tenantId = '';
    const ids: Record<string, string> = {};

    const get = async (q: string) => {
      const res = await t.call('GET', `/v1/messages?limit=100&${q}`, { auth });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json().items as { id: string; to: string }[]).map((m) => m.id).sort();
    };
    const idsOf = (...names: string[]) => names.map((n) => ids[n]!).sort();

    before(async () => {
      t = await createTestApp({ dialect, clock });
      ({ auth, tenantId } = await t.createTenant({ resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 100 }));
      const otp = async (name: string, phone: string, purpose: string) => {
        const r = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone, purpose } });
        assert.equal(r.statusCode, 202, r.body);
        await t.drainOutbox();
      };
      await otp('a', '+447400123111', 'login'); // 2 Nov
      clock.advance(DAY);
      await otp('b', '+447400123222', 'mfa'); // 3 Nov
      clock.advance(DAY);
      const ev = await t.call('POST', '/v1/messages', { auth, body: { to: '+14155552671', body: '=HYPERLINK("http://x","y"), "quoted"' } }); // 4 Nov
      assert.equal(ev.statusCode, 202, ev.body);
      await t.drainOutbox();
      const all = (await t.call('GET', '/v1/messages?limit=100', { auth })).json().items as { id: string; to: string; purpose: string | null }[];
      ids.c = all.find((m) => m.to === '+14155552671')!.id;
      ids.a = all.find((m) => m.to === '+447400123111')!.id;
      ids.b = all.find((m) => m.to === '+447400123222')!.id;

      // b went through failover: Twilio failed first, then the fallback (Vonage) accepted it.
      const db = t.deps.store.db;
      await db.updateTable('messages').set({ provider: 'Vonage', attempts: 2 }).where('id', '=', ids.b).execute();
      await db.updateTable('message_attempts').set({ attempt_no: 2, provider: 'Vonage', slot: 'fallback' }).where('message_id', '=', ids.b).execute();
      await db
        .insertInto('message_attempts')
        .values({ id: 'mat_failovertest0000000000', message_id: ids.b, tenant_id: tenantId, attempt_no: 1, provider: 'Twilio', slot: 'primary', started_at: T0 + DAY, latency_ms: 120, outcome: 'failed', error_kind: 'provider_unavailable', provider_code: '20500', http_status: 500, error_message: 'down', provider_message_id: null })
        .execute();
      // a's number is past retention: housekeeping left its keyed hash.
      await db.updateTable('messages').set({ to_phone: hashPhone(t.deps.phoneKeys[0]!, tenantId, '+447400123111') }).where('id', '=', ids.a).execute();
    });
    after(async () => t.close());

    test('each filter, alone and together', async () => {
      assert.deepEqual(await get(''), idsOf('a', 'b', 'c'));
      assert.deepEqual(await get('kind=event'), idsOf('c'));
      assert.deepEqual(await get('purpose=mfa'), idsOf('b'));
      assert.deepEqual(await get('status=sent'), idsOf('a', 'b', 'c'));
      assert.deepEqual(await get('status=failed'), []);
      assert.deepEqual(await get('provider=Vonage'), idsOf('b'));
      assert.deepEqual(await get('provider=Inbox'), idsOf('a', 'c'));
      // Dates: from inclusive, to exclusive; a date alone for `to` is the end of that day.
      assert.deepEqual(await get('from=2026-11-03'), idsOf('b', 'c'));
      assert.deepEqual(await get('to=2026-11-03'), idsOf('a', 'b'));
      assert.deepEqual(await get('from=2026-11-03&to=2026-11-03'), idsOf('b'));
      assert.deepEqual(await get(`to=${encodeURIComponent('2026-11-03T10:00:00Z')}`), idsOf('a'));
      assert.deepEqual(await get(`from=${encodeURIComponent('2026-11-03T11:00:00+01:00')}`), idsOf('b', 'c'));
      // Numbers: the prefix and the last digits find numbers still in E.164; the whole number finds a hashed one too.
      assert.deepEqual(await get(`phone_prefix=${encodeURIComponent('+4474001')}`), idsOf('b'));
      assert.deepEqual(await get(`phone_prefix=${encodeURIComponent('+1 415')}`), idsOf('c'));
      assert.deepEqual(await get('phone_suffix=222'), idsOf('b'));
      assert.deepEqual(await get('phone_suffix=111'), [], 'a hashed number is not matched by its digits');
      assert.deepEqual(await get(`phone_number=${encodeURIComponent('+44 7400 123111')}`), idsOf('a'));
      assert.deepEqual(await get(`phone_prefix=${encodeURIComponent('+44')}&purpose=mfa&from=2026-11-01&provider=Vonage`), idsOf('b'));
      assert.deepEqual(await get(`phone_prefix=${encodeURIComponent('+44')}&kind=event`), []);
      // Filters hold across pages.
      const p1 = (await t.call('GET', `/v1/messages?limit=1&from=2026-11-02`, { auth })).json();
      const p2 = (await t.call('GET', `/v1/messages?limit=1&from=2026-11-02&cursor=${p1.next_cursor}`, { auth })).json();
      assert.deepEqual([p1.items[0].id, p2.items[0].id], [ids.c, ids.b]);
    });

    test('a bad filter is 400 with a stable code naming it, never 500', async () => {
      const cases: [string, string, string][] = [
        ['from=yesterday', 'message.invalid_filter', 'from'],
        ['to=2026-13-01', 'message.invalid_filter', 'to'],
        ['to=2026-02-30', 'message.invalid_filter', 'to'],
        ['from=2026-11-05&to=2026-11-01', 'message.invalid_filter', 'from'],
        ['from=2026-11-05T10:00:00', 'message.invalid_filter', 'from'],
        ['phone_prefix=44', 'message.invalid_filter', 'phone_prefix'],
        [`phone_prefix=${encodeURIComponent('+44%')}`, 'message.invalid_filter', 'phone_prefix'],
        ['phone_suffix=12a', 'message.invalid_filter', 'phone_suffix'],
        ['phone_suffix=_', 'message.invalid_filter', 'phone_suffix'],
        ['provider=Twi%27lio', 'message.invalid_filter', 'provider'],
        ['phone_number=abc', 'phone.invalid', 'phone_number'],
      ];
      for (const [q, code, path] of cases) {
        for (const route of ['/v1/messages', '/v1/messages.csv']) {
          const res = await t.call('GET', `${route}?${q}`, { auth });
          assert.equal(res.statusCode, 400, `${route}?${q}: ${res.body}`);
          assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
          assert.equal(res.json().code, code, q);
          assert.equal(res.json().issues[0].path, path, q);
        }
      }
      for (const q of ['status=lost', 'kind=sms', 'colour=red']) {
        const res = await t.call('GET', `/v1/messages.csv?${q}`, { auth });
        assert.equal(res.statusCode, 400, q);
        assert.equal(res.json().code, 'request.invalid', q);
      }
    });

    test('the CSV export has the filtered rows, masked bodies, escaping and the formula guard', async () => {
      const res = await t.call('GET', '/v1/messages.csv', { auth });
      assert.equal(res.statusCode, 200, res.body);
      assert.match(res.headers['content-type'] as string, /^text\/csv/);
      assert.match(res.headers['content-disposition'] as string, /attachment; filename="messages.csv"/);
      const lines = res.body.split('\r\n');
      assert.equal(lines.at(-1), '', 'ends with a line break');
      assert.equal(lines[0], 'id,created_at,kind,purpose,to,status,provider,attempts,failover,providers_tried,segments,encoding,error_kind,error_code,error_message,sent_at,delivered_at,body');
      assert.equal(lines.length, 5);
      assert.ok(lines[1]!.startsWith(`${ids.c},2026-11-04T10:00:00.000Z,event,,'+14155552671,sent,Inbox,1,no,Inbox,`), lines[1]);
      assert.ok(lines[1]!.endsWith(`,"'=HYPERLINK(""http://x"",""y""), ""quoted"""`), `formula guarded and quoted: ${lines[1]}`);
      assert.ok(lines[2]!.startsWith(`${ids.b},2026-11-03T10:00:00.000Z,otp,mfa,'+447400123222,sent,Vonage,2,yes,Twilio Vonage,`), lines[2]);
      assert.ok(lines[3]!.startsWith(`${ids.a},`) && lines[3]!.includes(',h:'), 'a hashed number stays hashed');

      // No passcode anywhere: the codes the Inbox captured are not in the export.
      const inbox = (await t.call('GET', '/v1/inbox?limit=100', { auth })).json().items as { body: string }[];
      const codes = inbox.map((i) => /\d{6}/.exec(i.body)?.[0]).filter((c): c is string => !!c);
      assert.equal(codes.length, 2);
      for (const c of codes) assert.ok(!res.body.includes(c), `code ${c} not exported`);
      assert.match(lines[2]!, /\*{6}/, 'the body is the masked one');

      const filtered = await t.call('GET', `/v1/messages.csv?purpose=mfa&phone_suffix=222`, { auth });
      const rows = filtered.body.split('\r\n').filter(Boolean);
      assert.equal(rows.length, 2);
      assert.ok(rows[1]!.startsWith(ids.b!));
    });

    test('the CSV export reads every page', async () => {
      const { auth: other } = await t.createTenant({ resend_cooldown_seconds: 0, max_sends_per_phone_per_hour: 1000, max_sends_per_ip_per_hour: 10_000 });
      // 501 rows: more than one page of the export's reads.
      const db = t.deps.store.db;
      const first = (await t.call('POST', '/v1/messages', { auth: other, body: { to: '+14155550000', body: 'hello' } })).json();
      const row = await db.selectFrom('messages').selectAll().where('id', '=', first.id).executeTakeFirstOrThrow();
      const copies = Array.from({ length: 500 }, (_, i) => ({ ...row, id: `${row.id.slice(0, -4)}${String(i).padStart(4, '0')}` }));
      for (let i = 0; i < copies.length; i += 100) await db.insertInto('messages').values(copies.slice(i, i + 100)).execute();
      const res = await t.call('GET', '/v1/messages.csv', { auth: other });
      const lines = res.body.split('\r\n').filter(Boolean);
      assert.equal(lines.length, 502);
      assert.equal(new Set(lines.slice(1).map((l) => l.split(',')[0])).size, 501);
    });

    test('a filtered read looks at 5,000 messages at a time; the cursor and the CSV go on below; dates become an id range', async () => {
      const { auth: other, tenantId: otherId } = await t.createTenant({}, 'Windowed');
      const n = 5_100;
      const T1 = Date.parse('2026-10-01T00:00:00Z');
      const at = (i: number) => T1 + i * 1000;
      // Ids made at the rows' times, as the service makes them; the purpose that is searched for
      // is on the oldest and the newest rows only.
      const made = Array.from({ length: n }, (_, i) => newId('msg', at(i)));
      const messages = made.map((id, i) => ({
        id, tenant_id: otherId, kind: 'otp' as const, challenge_id: null, purpose: i === 0 || i === n - 1 ? 'mfa' : 'login', to_phone: '+14155550142',
        body_sealed: null, body_masked: 'code ******', sender_id: null, encoding: 'GSM-7', segments: 1, status: 'delivered' as const, attempts: 1, chain_index: 0,
        chain_attempts: 1, next_attempt_at: at(i), lease_until: null, lease_owner: null, expires_at: at(i) + 300_000, provider: 'Inbox', provider_message_id: null,
        error_kind: null, error_code: null, error_message: null, created_at: at(i), updated_at: at(i), sent_at: at(i), delivered_at: null,
      }));
      for (let i = 0; i < n; i += 500) await t.deps.store.db.insertInto('messages').values(messages.slice(i, i + 500)).execute();
      const list = async (q: string) => {
        const r = await t.call('GET', `/v1/messages?limit=5&${q}`, { auth: other });
        assert.equal(r.statusCode, 200, r.body);
        const page = r.json<{ items: Array<{ id: string }>; next_cursor: string | null }>();
        return { ids: page.items.map((m) => m.id), next: page.next_cursor };
      };
      const iso = (i: number, plus = 0) => encodeURIComponent(new Date(at(i) + plus).toISOString());

      // The newest 5,000 hold one match: the page has it, and a cursor below the window.
      assert.deepEqual(await list('purpose=mfa'), { ids: [made[n - 1]], next: made[n - 5_000] });
      assert.deepEqual(await list(`purpose=mfa&cursor=${made[n - 5_000]}`), { ids: [made[0]], next: null });
      // A page that fills before the window ends pages as before.
      assert.deepEqual(await list('purpose=login'), { ids: made.slice(n - 6, n - 1).reverse(), next: made[n - 6] });
      // The CSV reads every window.
      const csv = await t.call('GET', '/v1/messages.csv?purpose=mfa', { auth: other });
      assert.deepEqual(csv.body.split('\r\n').filter(Boolean).slice(1).map((l) => l.split(',')[0]), [made[n - 1], made[0]]);
      // `to` starts the read at the newest message before it, and `from` ends it at the oldest
      // after it: neither pages through the rest of the log.
      assert.deepEqual(await list(`purpose=mfa&to=${iso(100)}`), { ids: [made[0]], next: null });
      assert.deepEqual(await list(`purpose=mfa&from=${iso(5_000)}`), { ids: [made[n - 1]], next: null });
      assert.deepEqual(await list(`to=${iso(100)}`), { ids: made.slice(95, 100).reverse(), next: made[95] });
      assert.deepEqual(await list(`from=${iso(10, 1)}&to=${iso(10, 2)}`), { ids: [], next: null }, 'no message in the range');
      // One second holds one message.
      assert.deepEqual(await list(`from=${iso(5_098)}&to=${iso(5_099)}`), { ids: [made[5_098]], next: null });
    });
  });
}

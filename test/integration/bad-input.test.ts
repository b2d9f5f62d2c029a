import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { waitFor } from '../helpers/live-server.js';

type Case = { name: string; method: string; url: string; body?: unknown; auth?: string | null; headers?: Record<string, string>; status: number; code: string; allow?: string };

/** A row as text with its keys sorted, so rows compare and sort whatever order the engine returns. */
function rowText(row: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(row).sort().map((k) => [k, row[k]]));
}

/**
 * Every row of every table of the database (found by introspection, so a table added later is
 * in it too), each table's rows in a fixed order. Kysely's own bookkeeping tables are left out.
 */
async function snapshot(t: TestApp): Promise<Map<string, string[]>> {
  const tables = (await t.deps.store.db.introspection.getTables()).map((x) => x.name).filter((n) => !n.startsWith('kysely_')).sort();
  const out = new Map<string, string[]>();
  for (const table of tables) {
    const rows = (await t.deps.store.db.selectFrom(table as 'tenants').selectAll().execute()) as Record<string, unknown>[];
    out.set(table, rows.map(rowText).sort());
  }
  return out;
}

/** Names the tables whose rows differ, with the first differing row of each. */
function differences(a: Map<string, string[]>, b: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const table of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(table) ?? [];
    const y = b.get(table) ?? [];
    if (x.length !== y.length || x.some((r, i) => r !== y[i])) {
      const changed = y.find((r) => !x.includes(r)) ?? x.find((r) => !y.includes(r));
      out.push(`${table} (${x.length} → ${y.length} rows${changed ? `; e.g. ${changed.slice(0, 200)}` : ''})`);
    }
  }
  return out;
}

const EXPIRED_PHONE = '+14155550101';
const LOCKED_PHONE = '+14155550102';
const USED_PHONE = '+14155550103';
const IDEMPOTENCY_KEY = 'bad-input-key-1';

for (const dialect of await testDialects()) {
  describe(`bad input changes nothing (${dialect})`, () => {
    let t: TestApp;
    let auth: string;
    let other: { auth: string; tenantId: string; keyId: string };
    let own: { keyId: string };
    let tenantId: string;
    // Placeholders of the cases, filled in once the challenges exist.
    const fill = new Map<string, string>();
    // The clock moves only when the test says: nothing time-driven (an API key's last use, a
    // lease) writes while the table runs.
    const clock = createManualClock(Date.UTC(2026, 0, 1, 12));

    async function codeSentTo(phone: string): Promise<string> {
      const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth });
      const code = /(\d{6})/.exec(inbox.json<{ items: Array<{ body: string }> }>().items[0]?.body ?? '')?.[1];
      assert.ok(code, `no code in the inbox for ${phone}: ${inbox.body}`);
      return code;
    }
    const otherCode = (code: string) => (code === '000000' ? '111111' : '000000');
    // Wrong attempts are counted on the challenge's verification (shared by its resends).
    const challengeRow = async (id: string) => {
      const c = await t.deps.store.db.selectFrom('challenges').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      const v = await t.deps.store.db.selectFrom('verifications').selectAll().where('id', '=', c.verification_id ?? '').executeTakeFirstOrThrow();
      return { ...c, attempts: v.attempts };
    };

    before(async () => {
      t = await createTestApp({ dialect, clock });
      const a = await t.createTenant({ max_verify_attempts: 2 });
      auth = a.auth;
      tenantId = a.tenantId;
      own = a;
      other = await t.createTenant();
      const send = async (who: string, phone: string, headers?: Record<string, string>) => {
        const r = await t.call('POST', '/v1/otp/send', { auth: who, body: { phone_number: phone }, ...(headers ? { headers } : {}) });
        assert.equal(r.statusCode, 202, r.body);
        return r.json<{ challenge_id: string }>().challenge_id;
      };
      fill.set('OTHERCHL', await send(other.auth, '+14155552671'));
      fill.set('OTHERVER', (await challengeRow(fill.get('OTHERCHL')!)).verification_id!);
      // A template and a provider configuration of its own, so those tables have rows too.
      assert.equal((await t.call('PUT', '/v1/templates/login/fr', { auth, body: { body: 'Code {{code}}' } })).statusCode, 200);
      assert.equal((await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'Inbox' } })).statusCode, 200);

      // Expired: sent, then the clock passes its TTL (300 s by default).
      fill.set('EXPIREDCHL', await send(auth, EXPIRED_PHONE));
      await t.drainOutbox();
      fill.set('EXPIREDCODE', await codeSentTo(EXPIRED_PHONE));
      clock.advance(301_000);
      // The first verify after the TTL marks it expired (and counts no attempt); the table
      // then checks that further verifies change nothing at all.
      const first = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: fill.get('EXPIREDCHL'), code: fill.get('EXPIREDCODE') } });
      assert.equal(first.json().code, 'otp.expired', first.body);
      assert.equal((await challengeRow(fill.get('EXPIREDCHL')!)).attempts, 0, 'an expired challenge counts no attempt');

      // Locked: two wrong codes (max_verify_attempts 2). Sent with an Idempotency-Key.
      fill.set('LOCKEDCHL', await send(auth, LOCKED_PHONE, { 'idempotency-key': IDEMPOTENCY_KEY }));
      // Used: verified once.
      fill.set('USEDCHL', await send(auth, USED_PHONE));
      await t.drainOutbox();
      fill.set('LOCKEDCODE', await codeSentTo(LOCKED_PHONE));
      fill.set('USEDCODE', await codeSentTo(USED_PHONE));
      for (const expected of ['otp.invalid', 'otp.attempts_exhausted']) {
        const r = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: fill.get('LOCKEDCHL'), code: otherCode(fill.get('LOCKEDCODE')!) } });
        assert.equal(r.json().code, expected, r.body);
      }
      assert.equal((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: fill.get('USEDCHL'), code: fill.get('USEDCODE') } })).statusCode, 200);
      for (const k of ['EXPIRED', 'LOCKED', 'USED']) fill.set(`WRONG${k}CODE`, otherCode(fill.get(`${k}CODE`)!));

      // Each key's last use is recorded once per minute of the (stopped) clock: let both
      // records land before the table starts.
      assert.equal((await t.call('GET', '/v1/messages', { auth: other.auth })).statusCode, 200);
      await waitFor('both keys’ last use recorded', async () => {
        const keys = await t.deps.store.db.selectFrom('api_keys').select(['id', 'last_used_at']).where('id', 'in', [own.keyId, other.keyId]).execute();
        return keys.length === 2 && keys.every((k) => k.last_used_at === clock.now()) ? true : undefined;
      });
      const s = await snapshot(t);
      for (const table of ['tenants', 'api_keys', 'provider_configs', 'templates', 'challenges', 'messages', 'message_attempts', 'inbox_messages', 'idempotency_keys', 'audit_log']) {
        assert.ok((s.get(table)?.length ?? 0) > 0, `the snapshot has rows in ${table}`);
      }
    });
    after(async () => t.close());

    const phone = (v: unknown): Case => ({ name: `phone ${JSON.stringify(v)}`, method: 'POST', url: '/v1/otp/send', body: { phone_number: v }, status: 400, code: typeof v === 'string' ? 'phone.invalid' : 'request.invalid' });
    const cases = (): Case[] => [
      phone('12345'),
      phone('+1'),
      phone('+1415555267'),
      phone('+99912345678'),
      phone('+1415555267100000000'),
      phone('+1 415 💥 2671'),
      phone('four one five'),
      phone(''),
      phone(14155552671),
      phone(null),
      phone(['+14155552671']),
      { name: 'missing phone', method: 'POST', url: '/v1/otp/send', body: {}, status: 400, code: 'request.invalid' },
      { name: 'unknown field', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', channel: 'sms' }, status: 400, code: 'request.invalid' },
      { name: 'bad purpose', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', purpose: 'Log In!' }, status: 400, code: 'request.invalid' },
      { name: 'bad locale', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', locale: 'english please' }, status: 400, code: 'request.invalid' },
      { name: 'bad client_ip', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', client_ip: '999.1.1.1' }, status: 400, code: 'request.invalid' },
      { name: 'broken JSON', method: 'POST', url: '/v1/otp/send', body: '{"phone_number": "+1415', status: 400, code: 'request.malformed_json' },
      { name: 'body is an array', method: 'POST', url: '/v1/otp/send', body: '[1,2]', status: 400, code: 'request.invalid' },
      { name: '2 MB body', method: 'POST', url: '/v1/otp/send', body: JSON.stringify({ phone_number: '+14155552671', pad: 'x'.repeat(2 * 1024 * 1024) }), status: 413, code: 'request.body_too_large' },
      { name: 'text/plain body', method: 'POST', url: '/v1/otp/send', body: 'phone', headers: { 'content-type': 'text/plain' }, status: 415, code: 'request.unsupported_media_type' },
      { name: 'no key', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671' }, auth: null, status: 401, code: 'auth.missing_credentials' },
      { name: 'wrong key', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671' }, auth: 'Bearer otpg_not-a-real-key', status: 401, code: 'auth.invalid_api_key' },
      { name: 'malformed authorization', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671' }, auth: 'Basic abc', status: 401, code: 'auth.invalid_api_key' },
      { name: 'tenant key on admin route', method: 'POST', url: '/v1/tenants', body: { name: 'x' }, status: 403, code: 'auth.forbidden' },
      { name: 'admin without X-Tenant-Id', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671' }, auth: adminAuth, status: 400, code: 'auth.tenant_required' },
      { name: 'admin with unknown tenant', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671' }, auth: adminAuth, headers: { 'x-tenant-id': 'ten_nope' }, status: 404, code: 'tenant.not_found' },
      { name: 'tenant key naming another tenant', method: 'GET', url: '/v1/messages', headers: { 'x-tenant-id': 'OTHER' }, status: 403, code: 'auth.forbidden' },
      { name: 'another tenant’s challenge', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'OTHERCHL', code: '123456' }, status: 404, code: 'otp.challenge_not_found' },
      { name: 'unknown challenge', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'chl_01m80q85m97d6hr2r51xbrp0zp', code: '123456' }, status: 404, code: 'otp.challenge_not_found' },
      { name: 'code with letters', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'OTHERCHL', code: '12ab56' }, status: 400, code: 'request.invalid' },
      { name: 'code as number', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'OTHERCHL', code: 123456 }, status: 400, code: 'request.invalid' },
      { name: 'verify with nothing', method: 'POST', url: '/v1/otp/verify', body: { code: '123456' }, status: 400, code: 'request.invalid' },
      // Transaction-bound codes, caller-made codes and verifications (docs/verifications.md).
      { name: 'amount too long', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', amount: '1'.repeat(33) }, status: 400, code: 'request.invalid' },
      { name: 'amount empty', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', amount: '' }, status: 400, code: 'request.invalid' },
      { name: 'amount as number', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', amount: 12.5 }, status: 400, code: 'request.invalid' },
      { name: 'payee with a control character', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', payee: 'Shop\u0007Ltd' }, status: 400, code: 'request.invalid' },
      { name: 'payee with a bidi override', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', payee: 'Shop\u202eLtd' }, status: 400, code: 'request.invalid' },
      { name: 'payee with a newline', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', payee: 'Shop\nLtd' }, status: 400, code: 'request.invalid' },
      { name: 'payee too long', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', payee: 'p'.repeat(65) }, status: 400, code: 'request.invalid' },
      { name: 'transaction purpose without amount and payee', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', purpose: 'transaction' }, status: 422, code: 'otp.transaction_details_required' },
      { name: 'transaction purpose without payee', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', purpose: 'transaction', amount: 'EUR 1' }, status: 422, code: 'otp.transaction_details_required' },
      { name: 'custom_code too short', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', custom_code: '123' }, status: 400, code: 'request.invalid' },
      { name: 'custom_code too long', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', custom_code: '12345678901' }, status: 400, code: 'request.invalid' },
      { name: 'custom_code outside the digits alphabet', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', custom_code: '12AB56' }, status: 400, code: 'request.invalid' },
      { name: 'custom_code with a symbol', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', custom_code: '12-456' }, status: 400, code: 'request.invalid' },
      { name: 'custom_code as number', method: 'POST', url: '/v1/otp/send', body: { phone_number: '+14155552671', custom_code: 123456 }, status: 400, code: 'request.invalid' },
      { name: 'verify with an amount with a control character', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'LOCKEDCHL', code: '123456', amount: 'EUR\u00001' }, status: 400, code: 'request.invalid' },
      { name: 'verify with a payee as number', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'LOCKEDCHL', code: '123456', payee: 7 }, status: 400, code: 'request.invalid' },
      { name: 'unknown verification', method: 'GET', url: '/v1/otp/verifications/ver_01m80q85m97d6hr2r51xbrp0zp', status: 404, code: 'otp.verification_not_found' },
      { name: 'another tenant’s verification', method: 'GET', url: '/v1/otp/verifications/OTHERVER', status: 404, code: 'otp.verification_not_found' },
      { name: 'cancel another tenant’s verification', method: 'PATCH', url: '/v1/otp/verifications/OTHERVER', body: { status: 'canceled' }, status: 404, code: 'otp.verification_not_found' },
      { name: 'verification to an unknown status', method: 'PATCH', url: '/v1/otp/verifications/OTHERVER', body: { status: 'pending' }, status: 400, code: 'request.invalid' },
      { name: 'verification update with an unknown field', method: 'PATCH', url: '/v1/otp/verifications/OTHERVER', body: { status: 'canceled', code: '123456' }, status: 400, code: 'request.invalid' },
      { name: 'template without {{code}}', method: 'PUT', url: '/v1/templates/login/en', body: { body: 'Hello {{app_name}}' }, status: 422, code: 'template.invalid' },
      { name: 'template with unknown variable', method: 'PUT', url: '/v1/templates/login/en', body: { body: '{{code}} {{nope}}' }, status: 422, code: 'template.invalid' },
      { name: 'template over the segment limit', method: 'PUT', url: '/v1/templates/login/en', body: { body: `{{code}} ${'é€'.repeat(200)}` }, status: 422, code: 'template.too_long' },
      { name: 'template bad locale', method: 'PUT', url: '/v1/templates/login/EN_us!', body: { body: '{{code}}' }, status: 400, code: 'request.invalid' },
      { name: 'page size 0', method: 'GET', url: '/v1/messages?limit=0', status: 400, code: 'request.invalid' },
      { name: 'page size 1000', method: 'GET', url: '/v1/messages?limit=1000', status: 400, code: 'request.invalid' },
      { name: 'page size not a number', method: 'GET', url: '/v1/messages?limit=ten', status: 400, code: 'request.invalid' },
      { name: 'garbage cursor', method: 'GET', url: '/v1/messages?cursor=abc', status: 400, code: 'request.invalid_cursor' },
      { name: 'unknown query parameter', method: 'GET', url: '/v1/messages?colour=red', status: 400, code: 'request.invalid' },
      { name: 'bad status filter', method: 'GET', url: '/v1/messages?status=lost', status: 400, code: 'request.invalid' },
      { name: 'tenant settings out of range', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { otp_length: 3 } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'unknown resend_policy', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { resend_policy: 'always_new' } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'unknown code_alphabet', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { code_alphabet: 'hex' } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'unknown tenant setting', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { colour: 'red' } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'fraud threshold out of range', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { fraud_guard: { thresholds: { country_day: { floor: 0 } } } } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'unknown number type', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { fraud_guard: { blocked_number_types: ['premium'] } } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'malformed safe-list prefix', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { fraud_guard: { safe_list: ['44 7400'] } } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'budget out of range', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { budget: { daily_messages: 0 } } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'negative SMS price', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { sms_prices: { GB: -1 } } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'unknown fraud decision action', method: 'GET', url: '/v1/fraud-guard/decisions?action=lift', status: 400, code: 'request.invalid' },
      { name: 'garbage fraud decision cursor', method: 'GET', url: '/v1/fraud-guard/decisions?cursor=abc', status: 400, code: 'request.invalid_cursor' },
      { name: 'bad fraud stats window', method: 'GET', url: '/v1/fraud-guard/stats?window=1h', status: 400, code: 'request.invalid' },
      { name: 'lifting a block that does not exist', method: 'DELETE', url: '/v1/fraud-guard/blocks/fgb_01m80q85m97d6hr2r51xbrp0zp', status: 404, code: 'fraud.block_not_found' },
      { name: 'feedback on an unknown message', method: 'POST', url: '/v1/messages/msg_01m80q85m97d6hr2r51xbrp0zp/feedback', body: { outcome: 'verified' }, status: 404, code: 'message.not_found' },
      { name: 'feedback with an unknown outcome', method: 'POST', url: '/v1/messages/msg_01m80q85m97d6hr2r51xbrp0zp/feedback', body: { outcome: 'failed' }, status: 400, code: 'request.invalid' },
      { name: 'tenant name wrong type', method: 'POST', url: '/v1/tenants', auth: adminAuth, body: { name: 42 }, status: 400, code: 'request.invalid' },
      { name: 'unknown route', method: 'GET', url: '/v1/nothing-here', status: 404, code: 'route.not_found' },
      { name: 'event SMS without body', method: 'POST', url: '/v1/messages', body: { to: '+14155552671' }, status: 400, code: 'request.invalid' },
      { name: 'event SMS with an unknown variable', method: 'POST', url: '/v1/messages', body: { to: '+14155552671', template: 'Order {{order}} for {{nmae}}', variables: { order: '42' } }, status: 422, code: 'template.invalid' },
      { name: 'expired challenge, right code', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'EXPIREDCHL', code: 'EXPIREDCODE' }, status: 410, code: 'otp.expired' },
      { name: 'expired challenge, wrong code', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'EXPIREDCHL', code: 'WRONGEXPIREDCODE' }, status: 410, code: 'otp.expired' },
      { name: 'locked challenge, wrong code', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'LOCKEDCHL', code: 'WRONGLOCKEDCODE' }, status: 429, code: 'otp.attempts_exhausted' },
      { name: 'locked challenge, right code', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'LOCKEDCHL', code: 'LOCKEDCODE' }, status: 429, code: 'otp.attempts_exhausted' },
      { name: 'locked challenge by phone', method: 'POST', url: '/v1/otp/verify', body: { phone_number: LOCKED_PHONE, code: 'LOCKEDCODE' }, status: 429, code: 'otp.attempts_exhausted' },
      { name: 'used challenge, right code again', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'USEDCHL', code: 'USEDCODE' }, status: 409, code: 'otp.already_verified' },
      { name: 'used challenge, wrong code', method: 'POST', url: '/v1/otp/verify', body: { challenge_id: 'USEDCHL', code: 'WRONGUSEDCODE' }, status: 409, code: 'otp.already_verified' },
      { name: 'another tenant’s challenge, admin acting on this tenant', method: 'POST', url: '/v1/otp/verify', auth: adminAuth, headers: { 'x-tenant-id': 'SELF' }, body: { challenge_id: 'OTHERCHL', code: '123456' }, status: 404, code: 'otp.challenge_not_found' },
      { name: 'idempotency key reused with another body', method: 'POST', url: '/v1/otp/send', headers: { 'idempotency-key': IDEMPOTENCY_KEY }, body: { phone_number: USED_PHONE }, status: 409, code: 'request.idempotency_conflict' },
      { name: 'form body on send', method: 'POST', url: '/v1/otp/send', body: 'phone_number=%2B14155552671', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'request.unsupported_media_type' },
      { name: 'form body on verify', method: 'POST', url: '/v1/otp/verify', body: 'challenge_id=USEDCHL&code=USEDCODE', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'request.unsupported_media_type' },
      { name: 'form body on a template', method: 'PUT', url: '/v1/templates/login/en', body: 'body=%7B%7Bcode%7D%7D', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'request.unsupported_media_type' },
      { name: 'form body on an admin route', method: 'POST', url: '/v1/tenants', auth: adminAuth, body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'request.unsupported_media_type' },
      { name: 'wrong method on send', method: 'DELETE', url: '/v1/otp/send', status: 405, code: 'route.method_not_allowed', allow: 'POST' },
      { name: 'wrong method on a tenant', method: 'POST', url: '/v1/tenants/SELF', auth: adminAuth, body: { name: 'x' }, status: 405, code: 'route.method_not_allowed', allow: 'GET, HEAD, PATCH, DELETE' },
    ];

    test('each bad request gets its problem code and changes nothing, row for row', async () => {
      const initial = await snapshot(t);
      const otherAttempts = (await challengeRow(fill.get('OTHERCHL')!)).attempts;
      const substitute = (text: string) => text.replace(/\b[A-Z]+(CHL|CODE|VER)\b/g, (token) => fill.get(token) ?? token);
      for (const c of cases()) {
        const url = substitute(c.url.replace('SELF', tenantId));
        const body = c.body === undefined ? undefined : JSON.parse(substitute(JSON.stringify(c.body)));
        const headers = { ...c.headers };
        if (headers['x-tenant-id'] === 'OTHER') headers['x-tenant-id'] = other.tenantId;
        if (headers['x-tenant-id'] === 'SELF') headers['x-tenant-id'] = tenantId;
        const res = await t.app.inject({
          method: c.method as 'GET',
          url,
          headers: {
            ...(c.auth === null ? {} : { authorization: c.auth ?? auth }),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...headers,
          },
          ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
        });
        assert.equal(res.statusCode, c.status, `${c.name}: ${res.body.slice(0, 300)}`);
        assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', c.name);
        const p = res.json();
        assert.equal(p.code, c.code, `${c.name}: ${res.body.slice(0, 300)}`);
        assert.equal(p.status, c.status, c.name);
        assert.ok(p.type && p.title && p.request_id, `${c.name}: problem members`);
        if (c.allow !== undefined) assert.equal(res.headers.allow, c.allow, `${c.name}: Allow`);
        for (const secret of [fill.get('EXPIREDCODE'), fill.get('LOCKEDCODE'), fill.get('USEDCODE')]) assert.ok(!res.body.includes(secret!), `${c.name}: the answer holds a code`);
        const diff = differences(initial, await snapshot(t));
        assert.deepEqual(diff, [], `${c.name} changed the database: ${diff.join('; ')}`);
      }
      assert.equal((await challengeRow(fill.get('OTHERCHL')!)).attempts, otherAttempts, 'a wrong code for another tenant’s challenge counts no attempt on it');
      assert.equal((await challengeRow(fill.get('OTHERCHL')!)).status, 'pending');
      assert.equal((await challengeRow(fill.get('LOCKEDCHL')!)).attempts, 2, 'a locked challenge counts no more attempts');
    });
  });
}

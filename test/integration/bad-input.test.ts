import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

type Case = { name: string; method: string; url: string; body?: unknown; auth?: string | null; headers?: Record<string, string>; status: number; code: string };

async function counts(t: TestApp): Promise<string> {
  const tables = ['tenants', 'api_keys', 'challenges', 'messages', 'templates', 'provider_configs', 'idempotency_keys', 'audit_log'];
  const out: Record<string, number> = {};
  for (const table of tables) {
    const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(t.deps.store.db);
    out[table] = Number(r.rows[0]?.n);
  }
  return JSON.stringify(out);
}

for (const dialect of await testDialects()) {
  describe(`bad input changes nothing (${dialect})`, () => {
    let t: TestApp;
    let auth: string;
    let other: { auth: string; tenantId: string };
    let challengeOfOther: string;
    let tenantId: string;
    before(async () => {
      t = await createTestApp({ dialect });
      const a = await t.createTenant();
      auth = a.auth;
      tenantId = a.tenantId;
      other = await t.createTenant();
      challengeOfOther = (await t.call('POST', '/v1/otp/send', { auth: other.auth, body: { phone_number: '+14155552671' } })).json().challenge_id;
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
      { name: 'unknown tenant setting', method: 'PATCH', url: '/v1/tenants/SELF', auth: adminAuth, body: { settings: { colour: 'red' } }, status: 400, code: 'tenant.invalid_settings' },
      { name: 'tenant name wrong type', method: 'POST', url: '/v1/tenants', auth: adminAuth, body: { name: 42 }, status: 400, code: 'request.invalid' },
      { name: 'unknown route', method: 'GET', url: '/v1/nothing-here', status: 404, code: 'route.not_found' },
      { name: 'event SMS without body', method: 'POST', url: '/v1/messages', body: { to: '+14155552671' }, status: 400, code: 'request.invalid' },
    ];

    test('each bad request gets its problem code and changes nothing', async () => {
      const before = await counts(t);
      for (const c of cases()) {
        const url = c.url.replace('SELF', tenantId);
        const body = c.body === undefined ? undefined : JSON.parse(JSON.stringify(c.body).replace('OTHERCHL', challengeOfOther));
        const headers = { ...c.headers };
        if (headers['x-tenant-id'] === 'OTHER') headers['x-tenant-id'] = other.tenantId;
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
      }
      assert.equal(await counts(t), before, 'bad requests must not change the database');
    });
  });
}

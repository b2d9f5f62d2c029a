import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createManualClock } from '../../src/domain/clock.js';
import { totpAt } from '../../src/domain/totp.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { createOperator, OPERATOR_PASSWORD, operatorWithRole, sessionCookieOf, signIn } from '../helpers/operators.js';

/** Operator accounts, console sessions, CSRF, roles, throttling and TOTP (docs/operators.md), on every store. */
for (const dialect of await testDialects()) {
  describe(`operators (${dialect})`, () => {
    let t: TestApp;
    const clock = createManualClock(Date.UTC(2026, 5, 1, 12));
    before(async () => {
      t = await createTestApp({ dialect, clock });
    });
    after(async () => t.close());

    const operatorCount = async () => (await t.call('GET', '/v1/operators?limit=100', { auth: adminAuth })).json().items.length as number;

    test('create: bad input is refused with a stable code and changes nothing', async () => {
      const before = await operatorCount();
      const cases: [Record<string, unknown>, number, string][] = [
        [{ email: 'weak@example.com', role: 'admin', password: 'Password1234' }, 422, 'operator.weak_password'],
        [{ email: 'short@example.com', role: 'admin', password: 'eleven char' }, 422, 'operator.weak_password'],
        [{ email: 'role@example.com', role: 'superuser', password: OPERATOR_PASSWORD }, 422, 'operator.unknown_role'],
        [{ email: 'ta@example.com', role: 'tenant_admin', password: OPERATOR_PASSWORD }, 422, 'operator.invalid_tenants'],
        [{ email: 'ta@example.com', role: 'admin', password: OPERATOR_PASSWORD, tenant_ids: ['ten_x'] }, 422, 'operator.invalid_tenants'],
        [{ email: 'ta@example.com', role: 'tenant_admin', password: OPERATOR_PASSWORD, tenant_ids: ['ten_missing'] }, 404, 'tenant.not_found'],
        [{ email: 'not-an-email', role: 'admin', password: OPERATOR_PASSWORD }, 400, 'request.invalid'],
        [{ email: 'x@example.com', role: 'admin', password: OPERATOR_PASSWORD, is_root: true }, 400, 'request.invalid'],
      ];
      for (const [body, status, code] of cases) {
        const r = await t.call('POST', '/v1/operators', { auth: adminAuth, body });
        assert.equal(r.statusCode, status, `${JSON.stringify(body)}: ${r.body}`);
        assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
        assert.equal(r.json().code, code);
      }
      assert.equal(await operatorCount(), before);
      await createOperator(t, { email: 'Dup@Example.com', role: 'viewer' });
      const dup = await t.call('POST', '/v1/operators', { auth: adminAuth, body: { email: 'dup@example.COM', role: 'viewer', password: OPERATOR_PASSWORD } });
      assert.equal(dup.statusCode, 409);
      assert.equal(dup.json().code, 'operator.email_taken');
      const listed = (await t.call('GET', '/v1/operators', { auth: adminAuth })).json().items.find((o: { email: string }) => o.email === 'dup@example.com');
      assert.ok(listed, 'email stored lower-cased');
      assert.equal(listed.has_password, true);
      assert.equal('password_hash' in listed, false);
    });

    test('sign-in sets an HttpOnly SameSite=Strict cookie; /me works from a new tab; wrong or unknown credentials answer the same', async () => {
      await createOperator(t, { email: 'ana@example.com', role: 'admin' });
      for (const body of [{ email: 'ana@example.com', password: 'wrong password here' }, { email: 'nobody@example.com', password: OPERATOR_PASSWORD }]) {
        const r = await t.call('POST', '/v1/auth/sign-in', { body });
        assert.equal(r.statusCode, 401);
        assert.equal(r.json().code, 'auth.invalid_credentials');
        assert.equal(r.headers['set-cookie'], undefined);
      }
      const r = await t.call('POST', '/v1/auth/sign-in', { body: { email: ' ANA@example.com ', password: OPERATOR_PASSWORD } });
      assert.equal(r.statusCode, 200, r.body);
      const setCookie = String(r.headers['set-cookie']);
      assert.match(setCookie, /^otpgate_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
      assert.equal(r.json().operator.email, 'ana@example.com');
      const cookie = sessionCookieOf(r.headers['set-cookie']);
      // A new tab has the cookie but not the token in memory: GET /me gives it back.
      const me = await t.call('GET', '/v1/auth/me', { headers: { cookie } });
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().operator.email, 'ana@example.com');
      assert.equal(me.json().role, 'admin');
      assert.equal(me.json().csrf_token, r.json().csrf_token);
      const asKey = await t.call('GET', '/v1/auth/me', { auth: adminAuth });
      assert.equal(asKey.json().kind, 'admin_key');
      const bogus = await t.call('GET', '/v1/auth/me', { headers: { cookie: 'otpgate_session=forged' } });
      assert.equal(bogus.statusCode, 401);
      assert.equal(bogus.json().code, 'auth.session_expired');
    });

    test('CSRF: an unsafe cookie request needs the session token and a same-origin browser; refused ones change nothing', async () => {
      const s = await operatorWithRole(t, 'admin');
      const tenants = async () => (await t.call('GET', '/v1/tenants?limit=100', { auth: adminAuth })).json().items.length as number;
      const before = await tenants();
      const body = JSON.stringify({ name: 'Forged', settings: { fraud_guard: { mode: 'off' } } });
      const attempts: Record<string, string>[] = [
        { cookie: s.cookie },
        { cookie: s.cookie, 'x-csrf-token': 'guess' },
        { ...s.headers(), 'sec-fetch-site': 'cross-site' },
        { ...s.headers(), 'sec-fetch-site': 'same-site' },
        { ...s.headers(), origin: 'https://evil.example' },
      ];
      for (const headers of attempts) {
        const r = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: { ...headers, 'content-type': 'application/json' }, payload: body });
        assert.equal(r.statusCode, 403, JSON.stringify(headers));
        assert.equal(r.json().code, 'auth.csrf_rejected');
      }
      assert.equal(await tenants(), before);
      const ok = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: { ...s.headers({ origin: 'https://otp.example.com', host: 'otp.example.com' }), 'content-type': 'application/json' }, payload: body });
      assert.equal(ok.statusCode, 201, ok.body);
      // Sign-in from another site is refused too (login CSRF).
      const cross = await t.call('POST', '/v1/auth/sign-in', { body: { email: s.email, password: OPERATOR_PASSWORD }, headers: { 'sec-fetch-site': 'cross-site' } });
      assert.equal(cross.statusCode, 403);
      assert.equal(cross.json().code, 'auth.csrf_rejected');
    });

    test('roles: viewer reads only, tenant_admin its tenants only, admin not operators; every change names the operator in the audit log', async () => {
      const a = await t.createTenant();
      const b = await t.createTenant(undefined, 'Other');
      const viewer = await operatorWithRole(t, 'viewer');
      const ta = await operatorWithRole(t, 'tenant_admin', [a.tenantId]);
      const admin = await operatorWithRole(t, 'admin');
      const owner = await operatorWithRole(t, 'owner');
      const inj = (s: typeof viewer, method: string, url: string, payload?: unknown, extra: Record<string, string> = {}) =>
        t.app.inject({ method: method as 'GET', url, headers: s.headers({ ...extra, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }), ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}) });

      assert.equal((await inj(viewer, 'GET', '/v1/tenants')).statusCode, 200);
      const vw = await inj(viewer, 'POST', '/v1/tenants', { name: 'No' });
      assert.equal(vw.statusCode, 403);
      assert.equal(vw.json().code, 'auth.forbidden');
      assert.equal((await inj(viewer, 'GET', '/v1/templates', undefined, { 'x-tenant-id': b.tenantId })).statusCode, 200);
      assert.equal((await inj(viewer, 'PUT', '/v1/templates/login/en', { body: 'Code {{code}}' }, { 'x-tenant-id': a.tenantId })).statusCode, 403);

      assert.equal((await inj(ta, 'PUT', '/v1/templates/login/en', { body: 'Your code {{code}}' }, { 'x-tenant-id': a.tenantId })).statusCode, 200);
      assert.equal((await inj(ta, 'GET', '/v1/templates', undefined, { 'x-tenant-id': b.tenantId })).json().code, 'auth.forbidden');
      assert.equal((await inj(ta, 'GET', '/v1/templates')).json().code, 'auth.tenant_required');
      assert.equal((await inj(ta, 'GET', '/v1/tenants')).statusCode, 403);
      const taMe = await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: ta.cookie } });
      assert.deepEqual(taMe.json().tenants, [{ id: a.tenantId, name: 'Acme' }]);

      assert.equal((await inj(admin, 'GET', '/v1/operators')).statusCode, 403);
      assert.equal((await inj(admin, 'POST', '/v1/tenants', { name: 'By admin' })).statusCode, 201);
      assert.equal((await inj(owner, 'GET', '/v1/operators')).statusCode, 200);
      // A tenant key keeps working, and cannot reach operator routes.
      assert.equal((await t.call('GET', '/v1/templates', { auth: a.auth })).statusCode, 200);
      assert.equal((await t.call('GET', '/v1/operators', { auth: a.auth })).json().code, 'auth.forbidden');
      assert.equal((await t.call('GET', '/v1/auth/me', { auth: a.auth })).json().code, 'auth.forbidden');

      assert.equal((await inj(owner, 'PATCH', `/v1/tenants/${a.tenantId}`, { name: 'Acme 2' })).statusCode, 200);
      await t.call('PATCH', `/v1/tenants/${a.tenantId}`, { auth: adminAuth, body: { name: 'Acme 3' } });
      await t.call('PUT', '/v1/templates/signup/en', { auth: a.auth, body: { body: 'Hi {{code}}' } });
      const log = (await t.call('GET', `/v1/tenants/${a.tenantId}/audit-log`, { auth: adminAuth })).json().items as { actor: string; actor_type: string; actor_email: string | null; action: string }[];
      const byOwner = log.find((e) => e.action === 'tenant.updated' && e.actor_type === 'operator');
      assert.deepEqual(byOwner && { actor: byOwner.actor, email: byOwner.actor_email }, { actor: owner.id, email: owner.email });
      const byTa = log.find((e) => e.action === 'template.updated' && e.actor_type === 'operator');
      assert.equal(byTa?.actor, ta.id);
      assert.ok(log.some((e) => e.action === 'tenant.updated' && e.actor === 'admin' && e.actor_type === 'admin_key' && e.actor_email === null));
      assert.ok(log.some((e) => e.actor === a.keyId && e.actor_type === 'api_key'), JSON.stringify(log));
    });

    test("the platform's audit log lists what belongs to no tenant: operators and deleted tenants, newest first, in pages", async () => {
      const gone = await t.createTenant(undefined, 'Gone');
      const kept = await t.createTenant(undefined, 'Kept');
      const viewer = await operatorWithRole(t, 'viewer');
      const ta = await operatorWithRole(t, 'tenant_admin', [kept.tenantId]);
      const owner = await operatorWithRole(t, 'owner');
      await t.app.inject({ method: 'DELETE', url: `/v1/tenants/${gone.tenantId}`, headers: owner.headers() });
      await t.call('PUT', '/v1/templates/login/en', { auth: kept.auth, body: { body: 'Code {{code}}' } });

      type Entry = { id: string; tenant_id: string | null; action: string; target: string | null; actor: string };
      const first = await t.app.inject({ method: 'GET', url: '/v1/platform/audit-log?limit=2', headers: viewer.headers() });
      assert.equal(first.statusCode, 200, first.body);
      const all: Entry[] = [...first.json().items];
      let cursor: string | null = first.json().next_cursor;
      assert.equal(all.length, 2);
      while (cursor) {
        const next = await t.call('GET', `/v1/platform/audit-log?limit=2&cursor=${cursor}`, { auth: adminAuth });
        all.push(...next.json().items);
        cursor = next.json().next_cursor;
      }
      assert.ok(all.every((e) => e.tenant_id === null), JSON.stringify(all));
      assert.deepEqual([...all].sort((x, y) => (x.id < y.id ? 1 : -1)).map((e) => e.id), all.map((e) => e.id), 'newest first');
      const deleted = all.find((e) => e.action === 'tenant.deleted' && e.target === gone.tenantId);
      assert.equal(deleted?.actor, owner.id);
      for (const o of [viewer, ta, owner]) assert.ok(all.some((e) => e.action === 'operator.created' && e.target === o.id), `operator.created for ${o.email}`);
      assert.ok(!all.some((e) => e.action === 'template.updated'), "a tenant's entry is not the platform's");

      const byTa = await t.app.inject({ method: 'GET', url: '/v1/platform/audit-log', headers: ta.headers() });
      assert.equal(byTa.statusCode, 403);
      assert.equal(byTa.json().code, 'auth.forbidden');
      assert.equal((await t.call('GET', '/v1/platform/audit-log', { auth: kept.auth })).json().code, 'auth.forbidden');
      const bad = await t.call('GET', '/v1/platform/audit-log?limit=0', { auth: adminAuth });
      assert.equal(bad.statusCode, 400);
    });

    test('the last owner cannot be demoted, disabled or deleted; with another owner it can', async () => {
      // A fresh app: one owner only.
      const t2 = await createTestApp({ dialect });
      try {
        const id = await createOperator(t2, { email: 'solo@example.com', role: 'owner' });
        const s = await signIn(t2, 'solo@example.com');
        const inj = (method: string, url: string, payload?: unknown) =>
          t2.app.inject({ method: method as 'GET', url, headers: s.headers(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}) });
        for (const [method, payload] of [['PATCH', { role: 'admin' }], ['PATCH', { disabled: true }], ['DELETE', undefined]] as const) {
          const r = await inj(method, `/v1/operators/${id}`, payload);
          assert.equal(r.statusCode, 409, r.body);
          assert.equal(r.json().code, 'operator.last_owner');
        }
        assert.equal((await inj('GET', `/v1/operators/${id}`)).json().role, 'owner');
        const unknown = await inj('PATCH', `/v1/operators/${id}`, { role: 'root' });
        assert.equal(unknown.json().code, 'operator.unknown_role');
        const second = await createOperator(t2, { email: 'second@example.com', role: 'owner' });
        const demoted = await inj('PATCH', `/v1/operators/${id}`, { role: 'viewer' });
        assert.equal(demoted.statusCode, 200, demoted.body);
        // Now a viewer: its own session may no longer manage operators.
        assert.equal((await inj('DELETE', `/v1/operators/${second}`)).json().code, 'auth.forbidden');
      } finally {
        await t2.close();
      }
    });

    test('failed sign-ins are throttled per account and per address, the right password included, until the lock ends', async () => {
      await createOperator(t, { email: 'locked@example.com', role: 'viewer' });
      for (let i = 0; i < 5; i++) assert.equal((await t.call('POST', '/v1/auth/sign-in', { body: { email: 'locked@example.com', password: `wrong password ${i}` }, headers: { 'x-forwarded-for': '1.2.3.4' } })).statusCode, 401);
      const locked = await t.call('POST', '/v1/auth/sign-in', { body: { email: 'locked@example.com', password: OPERATOR_PASSWORD } });
      assert.equal(locked.statusCode, 429);
      assert.equal(locked.json().code, 'auth.sign_in_throttled');
      assert.equal(Number(locked.headers['retry-after']), 900);
      assert.equal(locked.headers['set-cookie'], undefined);
      clock.advance(15 * 60_000);
      assert.equal((await t.call('POST', '/v1/auth/sign-in', { body: { email: 'locked@example.com', password: OPERATOR_PASSWORD } })).statusCode, 200);

      // Per address: inject's client is 127.0.0.1 whatever the email (X-Forwarded-For is not
      // trusted); the 20th failure within the window locks it for every account.
      clock.advance(15 * 60_000);
      for (let i = 0; i < 20; i++) {
        const r = await t.call('POST', '/v1/auth/sign-in', { body: { email: `guess${i}@example.com`, password: 'wrong password' }, headers: { 'x-forwarded-for': `10.0.0.${i}` } });
        assert.equal(r.statusCode, 401, `failure ${i + 1}`);
      }
      const ipLocked = await t.call('POST', '/v1/auth/sign-in', { body: { email: 'ana@example.com', password: OPERATOR_PASSWORD } });
      assert.equal(ipLocked.statusCode, 429);
      clock.advance(15 * 60_000 + 1);
      assert.equal((await t.call('POST', '/v1/auth/sign-in', { body: { email: 'ana@example.com', password: OPERATOR_PASSWORD } })).statusCode, 200);
      // The sign-in also dropped every throttle row that counts nothing any more.
      const left = await t.deps.store.db.selectFrom('sign_in_throttle').select('key').execute();
      assert.deepEqual(left, []);
    });

    test('TOTP: set up, confirm, then required at sign-in; wrong and reused codes are refused', async () => {
      const s = await operatorWithRole(t, 'admin');
      const post = (url: string, payload?: unknown, who = s) =>
        t.app.inject({ method: 'POST', url, headers: who.headers(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}) });
      assert.equal((await post('/v1/auth/totp/enable', { code: '123456' })).json().code, 'auth.totp_not_set_up');
      const setup = await post('/v1/auth/totp/setup');
      assert.equal(setup.statusCode, 200, setup.body);
      const secret = setup.json().secret as string;
      assert.match(setup.json().otpauth_uri, new RegExp(`secret=${secret}`));
      const wrong = totpAt(secret, clock.now()) === '000000' ? '111111' : '000000';
      const bad = await post('/v1/auth/totp/enable', { code: wrong });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'auth.totp_invalid');
      const code = totpAt(secret, clock.now());
      const on = await post('/v1/auth/totp/enable', { code });
      assert.equal(on.statusCode, 200, on.body);
      assert.equal(on.json().operator.totp_enabled, true);
      assert.equal((await post('/v1/auth/totp/setup')).json().code, 'auth.totp_already_enabled');

      const needs = await t.call('POST', '/v1/auth/sign-in', { body: { email: s.email, password: OPERATOR_PASSWORD } });
      assert.equal(needs.statusCode, 401);
      assert.equal(needs.json().code, 'auth.totp_required');
      const reused = await t.call('POST', '/v1/auth/sign-in', { body: { email: s.email, password: OPERATOR_PASSWORD, totp: code } });
      assert.equal(reused.statusCode, 400);
      assert.equal(reused.json().code, 'auth.totp_reused');
      clock.advance(30_000);
      const next = totpAt(secret, clock.now());
      const s2 = await signIn(t, s.email, OPERATOR_PASSWORD, next);
      assert.equal((await t.call('POST', '/v1/auth/sign-in', { body: { email: s.email, password: OPERATOR_PASSWORD, totp: next } })).json().code, 'auth.totp_reused');
      // Turning it off takes a fresh code too.
      assert.equal((await post('/v1/auth/totp/disable', { code: next }, s2)).json().code, 'auth.totp_reused');
      clock.advance(30_000);
      const off = await post('/v1/auth/totp/disable', { code: totpAt(secret, clock.now()) }, s2);
      assert.equal(off.statusCode, 200, off.body);
      assert.equal(off.json().operator.totp_enabled, false);
      // The admin key has no authenticator of its own.
      assert.equal((await t.call('POST', '/v1/auth/totp/setup', { auth: adminAuth })).json().code, 'auth.operator_required');
      // The secret never reaches a log line.
      assert.ok(!t.logs.text().includes(secret));
    });

    test('sessions end when idle, at their absolute limit, on sign-out, sign-out everywhere, disable and password change', async () => {
      const me = (cookie: string) => t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie } });
      const idle = await operatorWithRole(t, 'viewer');
      clock.advance(59 * 60_000);
      assert.equal((await me(idle.cookie)).statusCode, 200, 'used within the idle limit');
      clock.advance(59 * 60_000);
      assert.equal((await me(idle.cookie)).statusCode, 200, 'idle time counts from the last use');
      clock.advance(61 * 60_000);
      assert.equal((await me(idle.cookie)).json().code, 'auth.session_expired');

      const busy = await operatorWithRole(t, 'viewer');
      for (let h = 0; h < 11; h++) {
        clock.advance(55 * 60_000);
        assert.equal((await me(busy.cookie)).statusCode, 200);
      }
      clock.advance(70 * 60_000);
      assert.equal((await me(busy.cookie)).json().code, 'auth.session_expired', 'past 12 hours whatever the use');

      const one = await operatorWithRole(t, 'admin');
      const out = await t.app.inject({ method: 'POST', url: '/v1/auth/sign-out', headers: one.headers() });
      assert.equal(out.statusCode, 204);
      assert.match(String(out.headers['set-cookie']), /otpgate_session=; .*Max-Age=0/);
      assert.equal((await me(one.cookie)).statusCode, 401);

      const a1 = await signIn(t, one.email);
      const a2 = await signIn(t, one.email);
      const all = await t.app.inject({ method: 'POST', url: '/v1/auth/sign-out-everywhere', headers: a1.headers() });
      assert.equal(all.json().sessions_ended, 2);
      assert.equal((await me(a2.cookie)).statusCode, 401);

      const d = await signIn(t, one.email);
      await t.call('PATCH', `/v1/operators/${d.id}`, { auth: adminAuth, body: { disabled: true } });
      assert.equal((await me(d.cookie)).statusCode, 401);
      assert.equal((await t.call('POST', '/v1/auth/sign-in', { body: { email: one.email, password: OPERATOR_PASSWORD } })).json().code, 'auth.invalid_credentials');
      await t.call('PATCH', `/v1/operators/${d.id}`, { auth: adminAuth, body: { disabled: false } });
      const p = await signIn(t, one.email);
      const weak = await t.call('PATCH', `/v1/operators/${d.id}`, { auth: adminAuth, body: { password: 'qwerty123456' } });
      assert.equal(weak.json().code, 'operator.weak_password');
      assert.equal((await me(p.cookie)).statusCode, 200, 'a refused change ends nothing');
      assert.equal((await t.call('PATCH', `/v1/operators/${d.id}`, { auth: adminAuth, body: { password: 'a brand new passphrase' } })).statusCode, 200);
      assert.equal((await me(p.cookie)).statusCode, 401);
      await signIn(t, one.email, 'a brand new passphrase');
    });

    test('no password, session token or CSRF token is ever logged', async () => {
      const s = await operatorWithRole(t, 'owner');
      const text = t.logs.text();
      assert.ok(!text.includes(OPERATOR_PASSWORD));
      assert.ok(!text.includes(s.cookie.split('=')[1]!));
      assert.ok(!text.includes(s.csrf));
      assert.ok(!text.includes('scrypt$'));
    });
  });
}

describe('the admin key turned off', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { OTPGATE_ADMIN_KEY_DISABLED: 'true' } });
  });
  after(async () => t.close());

  test('the admin key is refused, operators and scoped tenant keys keep working', async () => {
    const r = await t.call('GET', '/v1/tenants', { auth: adminAuth });
    assert.equal(r.statusCode, 401);
    assert.equal(r.json().code, 'auth.admin_key_disabled');
    await t.deps.operators.create({ email: 'owner@example.com', role: 'owner', password: OPERATOR_PASSWORD }, 'cli');
    const s = await signIn(t, 'owner@example.com');
    const created = await t.app.inject({ method: 'POST', url: '/v1/tenants', headers: s.headers({ 'content-type': 'application/json' }), payload: JSON.stringify({ name: 'T', settings: { fraud_guard: { mode: 'off' } } }) });
    assert.equal(created.statusCode, 201, created.body);
    const key = await t.app.inject({ method: 'POST', url: `/v1/tenants/${created.json().id}/api-keys`, headers: s.headers({ 'content-type': 'application/json' }), payload: JSON.stringify({ scopes: ['settings'] }) });
    assert.equal(key.statusCode, 201, key.body);
    assert.equal((await t.call('GET', '/v1/templates', { auth: `Bearer ${key.json().key}` })).statusCode, 200);
    assert.equal((await t.call('POST', '/v1/otp/send', { auth: `Bearer ${key.json().key}`, body: { phone: '+14155552671' } })).json().code, 'auth.forbidden');
  });
});

describe('operators in production', () => {
  test('the session cookie is Secure; with the admin key turned off no admin key is required', async () => {
    const t = await createTestApp({ env: { OTPGATE_ENV: 'production' } });
    try {
      await createOperator(t, { email: 'prod@example.com', role: 'owner' });
      const r = await t.call('POST', '/v1/auth/sign-in', { body: { email: 'prod@example.com', password: OPERATOR_PASSWORD } });
      assert.equal(r.statusCode, 200, r.body);
      assert.match(String(r.headers['set-cookie']), /; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    } finally {
      await t.close();
    }
    const { loadConfig } = await import('../../src/config/load.js');
    const env = { OTPGATE_ENV: 'production', OTPGATE_SECRET_KEY: Buffer.alloc(32, 1).toString('base64'), OTPGATE_DEFAULT_PROVIDER: 'Twilio', OTPGATE_DEFAULT_PROVIDER_CONFIG: '{}' };
    assert.throws(() => loadConfig(env), /OTPGATE_ADMIN_KEY: required in production/);
    const off = (() => {
      try {
        return loadConfig({ ...env, OTPGATE_ADMIN_KEY_DISABLED: 'true' });
      } catch (err) {
        return err as Error;
      }
    })();
    // Whatever else production asks of this environment, the admin key is no longer among it.
    assert.doesNotMatch(off instanceof Error ? off.message : '', /OTPGATE_ADMIN_KEY/);
    assert.throws(() => loadConfig({ ...env, OTPGATE_ADMIN_KEY_DISABLED: 'yes' }), /OTPGATE_ADMIN_KEY_DISABLED: must be true or false/);
  });
});

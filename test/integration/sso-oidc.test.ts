/**
 * Single sign-on with OpenID Connect against a real OpenID provider (`oidc-provider` on
 * 127.0.0.1): operators created or found by verified email, roles from groups or the allowed
 * domain, and every refusal (state, nonce, issuer, provider error, domain, disabled) changing
 * nothing. The browser's part is test/browser/console-sso.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { loadConfig, ConfigError } from '../../src/config/load.js';

const PUBLIC_URL = 'https://otp.example.test';
const REDIRECT = `${PUBLIC_URL}/v1/auth/oidc/callback`;

function ssoEnv(idp: TestOidcProvider): Record<string, string> {
  return {
    OTPGATE_PUBLIC_URL: PUBLIC_URL,
    OTPGATE_OIDC_ISSUER: idp.issuer,
    OTPGATE_OIDC_CLIENT_ID: idp.clientId,
    OTPGATE_OIDC_CLIENT_SECRET: idp.clientSecret,
    OTPGATE_OIDC_SCOPES: 'openid email groups',
    OTPGATE_OIDC_ALLOWED_DOMAINS: 'example.com',
    OTPGATE_OIDC_ROLE_MAP: 'otpgate-owners:owner,otpgate-admins:admin,otpgate-auditors:viewer',
    OTPGATE_OIDC_DEFAULT_ROLE: 'viewer',
  };
}

const cookieOf = (setCookie: string | string[] | undefined, name: string): string | undefined =>
  ([] as string[])
    .concat(setCookie ?? [])
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1);

for (const dialect of await testDialects()) {
  describe(`single sign-on with OpenID Connect (${dialect})`, () => {
    let idp: TestOidcProvider;
    let other: TestOidcProvider;
    let t: TestApp;

    before(async () => {
      idp = await startOidcProvider({ redirectUri: REDIRECT });
      // Another provider with the same client, for answers from the wrong issuer.
      other = await startOidcProvider({ redirectUri: REDIRECT, clientSecret: idp.clientSecret });
      for (const p of [idp, other]) {
        p.users.set('alice', { email: 'Alice@Example.com', email_verified: true, groups: ['otpgate-admins', 'staff'] });
        p.users.set('bob', { email: 'bob@example.com', email_verified: true, groups: [] });
        p.users.set('carol', { email: 'carol@partner.test', email_verified: true, groups: ['otpgate-auditors'] });
        p.users.set('eve', { email: 'eve@evil.test', email_verified: true, groups: ['staff'] });
        p.users.set('mallory', { email: 'mallory@example.com', email_verified: false });
        p.users.set('olga', { email: 'olga@example.com', email_verified: true, groups: ['otpgate-auditors'] });
      }
      t = await createTestApp({ dialect, env: ssoEnv(idp) });
    });
    after(async () => {
      await t?.close();
      await idp?.close();
      await other?.close();
    });

    async function start(): Promise<{ url: URL; pending: string }> {
      const r = await t.call('GET', '/v1/auth/oidc/start');
      assert.equal(r.statusCode, 302, r.body);
      const pending = cookieOf(r.headers['set-cookie'], 'otpgate_sso');
      assert.ok(pending, 'the sign-in cookie is set');
      assert.match(String(r.headers['set-cookie']), /HttpOnly; SameSite=Lax/);
      return { url: new URL(String(r.headers.location)), pending };
    }

    async function callback(query: string, pending: string | undefined) {
      const r = await t.app.inject({ method: 'GET', url: `/v1/auth/oidc/callback${query}`, headers: pending ? { cookie: `otpgate_sso=${pending}` } : {} });
      assert.equal(r.statusCode, 302, r.body);
      const location = new URL(String(r.headers.location), PUBLIC_URL);
      return { location, error: location.searchParams.get('sso_error'), session: cookieOf(r.headers['set-cookie'], 'otpgate_session'), raw: r };
    }

    async function signIn(login: string, provider = idp, mutate?: (u: URL) => URL) {
      const s = await start();
      const back = await provider.signIn((mutate ? mutate(s.url) : s.url).href, login);
      return { ...(await callback(back.search, s.pending)), back };
    }

    const operators = async () => (await t.call('GET', '/v1/operators?limit=100', { auth: adminAuth })).json().items as { id: string; email: string; role: string; has_password: boolean }[];
    const me = async (session: string) => (await t.app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `otpgate_session=${session}` } })).json();

    test('the console learns whether SSO is on; the start redirects to the provider with PKCE, state and nonce', async () => {
      assert.deepEqual((await t.call('GET', '/v1/auth/options')).json(), { password: true, sso: true });
      const s = await start();
      assert.equal(s.url.origin, idp.issuer);
      for (const p of ['state', 'nonce', 'code_challenge']) assert.ok((s.url.searchParams.get(p) ?? '').length >= 32, p);
      assert.equal(s.url.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(s.url.searchParams.get('redirect_uri'), REDIRECT);
      assert.equal(s.url.searchParams.get('scope'), 'openid email groups');
    });

    test('a mapped group creates the operator with its role; the next sign-in finds the same one', async () => {
      const first = await signIn('alice');
      assert.equal(first.error, null);
      assert.equal(first.location.pathname, '/admin/');
      assert.ok(first.session);
      assert.match(String(first.raw.headers['set-cookie']), /otpgate_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict/);
      const who = await me(first.session!);
      assert.equal(who.kind, 'operator');
      assert.equal(who.operator.email, 'alice@example.com');
      assert.equal(who.role, 'admin');
      assert.equal(who.operator.has_password, false);

      const second = await signIn('alice');
      assert.ok(second.session && second.session !== first.session);
      assert.equal((await me(second.session)).operator.id, who.operator.id);
      assert.equal((await operators()).filter((o) => o.email === 'alice@example.com').length, 1);

      const audit = (await t.call('GET', '/v1/platform/audit-log?limit=100', { auth: adminAuth })).json().items as { action: string; target: string; actor: string; details: Record<string, unknown> }[];
      const created = audit.find((e) => e.action === 'operator.created' && e.target === who.operator.id);
      assert.equal(created?.details.via, 'sso');
      assert.equal(created?.actor, 'sso');
      assert.equal(audit.filter((e) => e.action === 'operator.signed_in' && e.target === who.operator.id && e.details.via === 'sso').length, 2);
      // No password: the password form cannot sign this operator in.
      const pw = await t.call('POST', '/v1/auth/sign-in', { body: { email: 'alice@example.com', password: 'whatever-it-is-123' } });
      assert.equal(pw.json().code, 'auth.invalid_credentials');
    });

    test('an allowed domain with no mapped group gets the default role; a mapped group from another domain gets its role', async () => {
      const bob = await signIn('bob');
      assert.equal(bob.error, null);
      assert.equal((await me(bob.session!)).role, 'viewer');
      const carol = await signIn('carol');
      assert.equal(carol.error, null);
      assert.equal((await me(carol.session!)).role, 'viewer');
    });

    test('refused: a domain not allowed with no mapped group, an unverified email, a disabled operator — nothing created, no session', async () => {
      const before = (await operators()).length;
      const eve = await signIn('eve');
      assert.equal(eve.error, 'auth.sso_not_allowed');
      assert.equal(eve.session, undefined);
      const mallory = await signIn('mallory');
      assert.equal(mallory.error, 'auth.sso_failed');
      assert.equal(mallory.session, undefined);
      assert.equal((await operators()).length, before);

      const bob = (await operators()).find((o) => o.email === 'bob@example.com')!;
      assert.equal((await t.call('PATCH', `/v1/operators/${bob.id}`, { auth: adminAuth, body: { disabled: true } })).statusCode, 200);
      const refused = await signIn('bob');
      assert.equal(refused.error, 'auth.sso_not_allowed');
      assert.equal(refused.session, undefined);
    });

    test('a group role is applied at each sign-in, but never demotes the last owner', async () => {
      const made = await t.call('POST', '/v1/operators', { auth: adminAuth, body: { email: 'olga@example.com', role: 'owner' } });
      assert.equal(made.statusCode, 201, made.body);
      const olga = await signIn('olga');
      assert.equal(olga.error, null);
      assert.equal((await me(olga.session!)).role, 'owner', 'the only owner stays owner');
      idp.users.set('alice', { email: 'alice@example.com', email_verified: true, groups: ['otpgate-auditors'] });
      const alice = await signIn('alice');
      assert.equal((await me(alice.session!)).role, 'viewer', 'the group now maps to viewer');
      idp.users.set('alice', { email: 'alice@example.com', email_verified: true, groups: ['otpgate-admins'] });
    });

    test('a wrong or missing state, a used answer, an answer from another issuer, a wrong nonce and a provider error are refused', async () => {
      const snapshot = async () => (await operators()).map((o) => `${o.id} ${o.email} ${o.role}`).sort();
      const before = await snapshot();
      // State: another sign-in's cookie, no cookie, a forged cookie.
      const a = await start();
      const b = await start();
      const backA = await idp.signIn(a.url.href, 'bob');
      assert.equal((await callback(backA.search, b.pending)).error, 'auth.sso_state_invalid');
      assert.equal((await callback(backA.search, undefined)).error, 'auth.sso_state_invalid');
      assert.equal((await callback(backA.search, 'v1.forged.value')).error, 'auth.sso_state_invalid');

      // A used answer: the provider refuses its code a second time.
      const once = await signIn('carol');
      assert.equal(once.error, null);
      const withCarol = await snapshot();
      assert.ok(withCarol.length - before.length <= 1);
      const s = await start();
      const replay = await callback(once.back.search.replace(/state=[^&]+/, `state=${s.url.searchParams.get('state')}`), s.pending);
      assert.equal(replay.error, 'auth.sso_failed');
      assert.equal(replay.session, undefined);

      // Another issuer: the same request sent to a provider otpgate does not trust.
      const wrongIssuer = await signIn('carol', other, (u) => new URL(u.pathname + u.search, other.issuer));
      assert.equal(wrongIssuer.error, 'auth.sso_failed');
      assert.equal(wrongIssuer.session, undefined);

      // A wrong nonce: this sign-in's state and PKCE, but an ID token made for another nonce.
      const wrongNonce = await signIn('carol', idp, (u) => {
        const v = new URL(u);
        v.searchParams.set('nonce', 'a-nonce-this-sign-in-never-made-0123456789');
        return v;
      });
      assert.equal(wrongNonce.error, 'auth.sso_failed');
      assert.equal(wrongNonce.session, undefined);

      // The provider's own refusal.
      const c = await start();
      const denied = await callback(`?error=access_denied&error_description=User+cancelled&state=${c.url.searchParams.get('state')}`, c.pending);
      assert.equal(denied.error, 'auth.sso_denied');
      assert.equal(denied.session, undefined);

      assert.deepEqual(await snapshot(), withCarol, 'nothing changed');
    });

    test('the logs hold no client secret, code, token or sign-in cookie', async () => {
      const s = await signIn('alice');
      const text = t.logs.text();
      assert.ok(!text.includes(idp.clientSecret), 'client secret');
      assert.ok(!text.includes(s.back.searchParams.get('code')!), 'authorization code');
      assert.ok(!text.includes(s.session!), 'session token');
      assert.ok(!/eyJ[\w-]{10,}\.[\w-]{10,}\./.test(text), 'a JWT');
    });
  });
}

describe('single sign-on off and its settings', () => {
  test('off: the console is told so, and the routes answer auth.sso_disabled', async () => {
    const t = await createTestApp();
    try {
      assert.deepEqual((await t.call('GET', '/v1/auth/options')).json(), { password: true, sso: false });
      const r = await t.call('GET', '/v1/auth/oidc/start');
      assert.equal(r.statusCode, 404);
      assert.equal(r.json().code, 'auth.sso_disabled');
      const cb = await t.call('GET', '/v1/auth/oidc/callback?code=x&state=y');
      assert.equal(cb.headers.location, '/admin/?sso_error=auth.sso_disabled');
    } finally {
      await t.close();
    }
  });

  test('a provider that cannot be reached answers auth.sso_unavailable', async () => {
    const t = await createTestApp({ env: { ...ssoEnv({ issuer: 'http://127.0.0.1:9', clientId: 'x', clientSecret: 'y' } as TestOidcProvider) } });
    try {
      const r = await t.call('GET', '/v1/auth/oidc/start');
      assert.equal(r.statusCode, 503);
      assert.equal(r.json().code, 'auth.sso_unavailable');
    } finally {
      await t.close();
    }
  });

  test('settings that cannot work are refused at start, naming the variable', () => {
    const base = { OTPGATE_DATA_DIR: '/tmp/otpgate-sso-config', OTPGATE_ADMIN_KEY: 'a'.repeat(32) };
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env });
        return [];
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems;
      }
    };
    const full = { OTPGATE_PUBLIC_URL: PUBLIC_URL, OTPGATE_OIDC_ISSUER: 'https://id.example.com', OTPGATE_OIDC_CLIENT_ID: 'c', OTPGATE_OIDC_CLIENT_SECRET: 's', OTPGATE_OIDC_ALLOWED_DOMAINS: 'example.com' };
    assert.deepEqual(problems(full), []);
    assert.match(problems({ OTPGATE_OIDC_ISSUER: 'https://id.example.com' }).join('\n'), /OTPGATE_OIDC_CLIENT_ID: required/);
    assert.match(problems({ ...full, OTPGATE_PUBLIC_URL: '' }).join('\n'), /OTPGATE_PUBLIC_URL: required for single sign-on/);
    assert.match(problems({ ...full, OTPGATE_OIDC_ALLOWED_DOMAINS: '' }).join('\n'), /OTPGATE_OIDC_ALLOWED_DOMAINS or OTPGATE_OIDC_ROLE_MAP/);
    assert.match(problems({ ...full, OTPGATE_OIDC_ROLE_MAP: 'team:tenant_admin' }).join('\n'), /OTPGATE_OIDC_ROLE_MAP: must be group:role pairs/);
    assert.match(problems({ ...full, OTPGATE_OIDC_DEFAULT_ROLE: 'owner' }).join('\n'), /OTPGATE_OIDC_DEFAULT_ROLE: must be admin or viewer/);
    assert.match(problems({ ...full, OTPGATE_OIDC_SCOPES: 'email profile' }).join('\n'), /OTPGATE_OIDC_SCOPES: must include openid/);
    assert.match(problems({ OTPGATE_OIDC_ROLE_MAP: 'a:admin' }).join('\n'), /OTPGATE_OIDC_ROLE_MAP: only with OTPGATE_OIDC_ISSUER/);
    assert.match(problems({ ...full, OTPGATE_ENV: 'production', OTPGATE_SECRET_KEY: Buffer.alloc(32).toString('base64'), OTPGATE_OIDC_ISSUER: 'http://id.example.com' }).join('\n'), /OTPGATE_OIDC_ISSUER: must be https in production/);
  });
});

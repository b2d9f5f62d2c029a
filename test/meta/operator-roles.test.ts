import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATOR_ROLES, type OperatorRole } from '../../src/domain/roles.js';
import { ROLE_RULES, type RouteAccess } from '../../src/http/access.js';
import type { DeclaredRoute } from '../../src/http/plugins/auth.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';
import { operatorWithRole, signIn, type OperatorSession } from '../helpers/operators.js';

/**
 * Every role × every route of the app, generated from declaredRoutes(): a new route is probed
 * as soon as it is registered, and must fit the access its path calls for.
 */
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => t.close());

/** What each access allows each role (docs/operators.md), written out here independently of src/http/access.ts. */
const EXPECTED: Record<Exclude<RouteAccess, 'public'>, Record<OperatorRole, 'all' | 'read' | 'own_tenants' | 'none'>> = {
  admin: { owner: 'all', admin: 'all', tenant_admin: 'none', viewer: 'read' },
  tenant_record: { owner: 'all', admin: 'all', tenant_admin: 'own_tenants', viewer: 'read' },
  tenant: { owner: 'all', admin: 'all', tenant_admin: 'own_tenants', viewer: 'read' },
  operators: { owner: 'all', admin: 'none', tenant_admin: 'none', viewer: 'none' },
  signed_in: { owner: 'all', admin: 'all', tenant_admin: 'all', viewer: 'all' },
};

/** The access a path calls for: a route under one of these prefixes must declare it. */
function expectedAccess(r: DeclaredRoute): RouteAccess | undefined {
  if (r.url === '/v1/auth/sign-in' || r.url === '/v1/auth/options' || r.url.startsWith('/v1/auth/oidc/')) return 'public';
  if (r.url.startsWith('/v1/auth/')) return 'signed_in';
  if (r.url.startsWith('/v1/operators')) return 'operators';
  // Listing, creating and deleting tenants is the platform's; one tenant's record is that tenant's.
  if (r.url === '/v1/tenants' || (r.url === '/v1/tenants/:id' && r.method === 'DELETE')) return 'admin';
  if (r.url.startsWith('/v1/tenants/:id')) return 'tenant_record';
  return undefined;
}

const probeUrl = (url: string) => url.replace(/:[a-z_]+/g, 'x_1').replace(/\*/g, 'x');

test('the role table covers every access, and matches the documented one', () => {
  for (const access of Object.keys(EXPECTED) as (keyof typeof EXPECTED)[]) {
    for (const role of OPERATOR_ROLES) assert.equal(ROLE_RULES[access][role], EXPECTED[access][role], `${role} on ${access} routes`);
  }
  for (const r of t.app.declaredRoutes()) {
    assert.ok(r.access === 'public' || (r.access !== undefined && r.access in ROLE_RULES), `${r.method} ${r.url}: access ${String(r.access)} has no role rule`);
    const want = expectedAccess(r);
    if (want) assert.equal(r.access, want, `${r.method} ${r.url} should be ${want}`);
  }
});

test('every role on every non-public route: allowed ones get past auth, the others 403 auth.forbidden', async () => {
  const mine = await t.createTenant(undefined, 'Mine');
  const theirs = await t.createTenant(undefined, 'Theirs');
  const sessions = new Map<OperatorRole, OperatorSession>();
  for (const role of OPERATOR_ROLES) sessions.set(role, await operatorWithRole(t, role, role === 'tenant_admin' ? [mine.tenantId] : undefined));
  const routes = t.app.declaredRoutes().filter((r) => r.access !== 'public' && r.access !== undefined && r.method !== 'HEAD');
  assert.ok(routes.length >= 50, `only ${routes.length} routes`);
  let probes = 0;
  for (const role of OPERATOR_ROLES) {
    for (const r of routes) {
      const access = r.access as Exclude<RouteAccess, 'public'>;
      const rule = EXPECTED[access][role];
      const safe = r.method === 'GET';
      const allowed = rule === 'all' || rule === 'own_tenants' || (rule === 'read' && safe);
      const s = sessions.get(role)!;
      // The tenant is named in X-Tenant-Id on tenant routes, in the path on a tenant's record.
      const send = (tenantId?: string) =>
        t.app.inject({
          method: r.method as 'GET',
          url: probeUrl(access === 'tenant_record' && tenantId ? r.url.replace(':id', tenantId) : r.url),
          headers: s.headers({ ...(tenantId ? { 'x-tenant-id': tenantId } : {}), ...(safe || r.method === 'DELETE' ? {} : { 'content-type': 'application/json' }) }),
          ...(safe || r.method === 'DELETE' ? {} : { payload: '{}' }),
        });
      const res = await send(access === 'tenant' || access === 'tenant_record' ? mine.tenantId : undefined);
      probes++;
      const where = `${role} ${r.method} ${r.url}`;
      if (allowed) {
        assert.notEqual(res.statusCode, 401, `${where}: ${res.body}`);
        assert.notEqual(res.statusCode, 403, `${where}: ${res.body}`);
      } else {
        assert.equal(res.statusCode, 403, `${where}: ${res.statusCode} ${res.body}`);
        assert.equal(res.json().code, 'auth.forbidden', where);
      }
      // Signing out ends the session (or all of them): the next probes sign in again.
      // A DELETE of the probe's own tenant record would remove it: none is tenant_record, but be sure.
      assert.ok(!(access === 'tenant_record' && r.method === 'DELETE' && r.url === '/v1/tenants/:id'));
      if (r.url.startsWith('/v1/auth/sign-out')) sessions.set(role, await signIn(t, s.email));
      if (rule === 'own_tenants') {
        const other = await send(theirs.tenantId);
        assert.equal(other.statusCode, 403, `${where} on another tenant`);
        assert.equal(other.json().code, 'auth.forbidden');
      }
    }
  }
  assert.ok(probes >= 200);
});

test('keys on operator routes: the admin key acts as an owner, a tenant key is refused', async () => {
  const { auth } = await t.createTenant();
  for (const r of t.app.declaredRoutes().filter((x) => (x.access === 'operators' || x.access === 'signed_in') && x.method !== 'HEAD')) {
    const payload = r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} };
    const byTenant = await t.app.inject({ method: r.method as 'GET', url: probeUrl(r.url), headers: { authorization: auth }, ...payload });
    assert.equal(byTenant.statusCode, 403, `${r.method} ${r.url}`);
    assert.equal(byTenant.json().code, 'auth.forbidden');
    const byAdmin = await t.app.inject({ method: r.method as 'GET', url: probeUrl(r.url), headers: { authorization: adminAuth }, ...payload });
    assert.notEqual(byAdmin.statusCode, 401, `${r.method} ${r.url}`);
    // Routes about the signed-in operator's own session say that a key has none.
    if (byAdmin.statusCode === 403) assert.equal(byAdmin.json().code, 'auth.operator_required', `${r.method} ${r.url}`);
  }
});

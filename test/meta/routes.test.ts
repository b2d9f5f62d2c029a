import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY_SCOPES, type ApiKeyScope } from '../../src/domain/scopes.js';
import { adminAuth, createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => t.close());

test('every API route is in /openapi.json and /docs renders', async () => {
  const spec = (await t.call('GET', '/openapi.json')).json();
  const paths = Object.keys(spec.paths);
  for (const p of ['/v1/otp/send', '/v1/otp/verify', '/v1/otp/challenges/{id}', '/v1/otp/verifications/{id}', '/v1/tenants', '/v1/tenants/{id}', '/v1/tenants/{id}/api-keys', '/v1/messages', '/v1/messages/{id}', '/v1/templates/{purpose}/{locale}', '/v1/inbox', '/cis/v1/tenantsmsproviders', '/v1/sms-provider/test', '/v1/provider-kinds', '/oauth2/token', '/v1/receivers', '/v1/receivers/{platform}']) {
    assert.ok(paths.includes(p), `${p} missing from the OpenAPI document`);
  }
  const send = spec.paths['/v1/otp/send'].post;
  assert.ok(send.requestBody, 'send documents its body');
  assert.equal(send.requestBody.content['application/json'].schema.additionalProperties, false, 'unknown fields are rejected and documented as such');
  const docs = await t.call('GET', '/docs/');
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
});

test('every registered route declares its access, and every non-public one answers 401 without a key', async () => {
  const routes = t.app.declaredRoutes();
  // The listing is every route the app registered, not a hand-kept list: each OpenAPI path is
  // in it, and so are the hidden ones.
  const spec = (await t.call('GET', '/openapi.json')).json();
  const listed = new Set(routes.map((r) => `${r.method} ${r.url.replace(/:([a-z_]+)/g, '{$1}')}`));
  for (const [path, ops] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(ops)) assert.ok(listed.has(`${method.toUpperCase()} ${path}`), `${method} ${path} is documented but not in declaredRoutes()`);
  }
  for (const hidden of ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json', 'GET /', 'GET /docs/static/*']) assert.ok(listed.has(hidden), `${hidden} is not listed`);

  const open: string[] = [];
  const closed: string[] = [];
  for (const r of routes) {
    assert.ok(r.access === 'admin' || r.access === 'tenant_record' || r.access === 'tenant' || r.access === 'public' || r.access === 'operators' || r.access === 'signed_in', `${r.method} ${r.url} declares no access (${String(r.access)})`);
    if (r.access === 'public') {
      open.push(`${r.method} ${r.url}`);
      continue;
    }
    const url = r.url.replace(/:[a-z_]+/g, 'x_1').replace(/\*/g, 'x');
    const res = await t.app.inject({ method: r.method as 'GET', url, ...(r.method === 'GET' || r.method === 'HEAD' || r.method === 'DELETE' ? {} : { payload: {} }) });
    assert.equal(res.statusCode, 401, `${r.method} ${r.url} answered ${res.statusCode} without a key`);
    if (r.method !== 'HEAD') assert.equal(res.json().code, 'auth.missing_credentials', `${r.method} ${r.url}`);
    closed.push(`${r.method} ${r.url}`);
  }
  assert.ok(closed.length >= 30, `only ${closed.length} non-public routes found`);
  // What is public on purpose; a new public route must be added here knowingly.
  const allowedOpen = [/^(GET|HEAD) \/(healthz|readyz|metrics|openapi\.json)?$/, /^(GET|HEAD) \/docs(\/|$)/, /^(GET|HEAD) \/errors(\/:code)?$/, /^(GET|HEAD) \/admin\//, /^POST \/oauth2\/token$/, /^POST \/v1\/auth\/sign-in$/, /^(GET|HEAD) \/v1\/auth\/(options|oidc\/start|oidc\/callback)$/, /^(GET|HEAD) \/v1\/provider-kinds$/, /^(GET|HEAD|POST) \/v1\/callbacks\/:provider\/:tenant_id$/, /^(GET|HEAD|POST) \/v1\/receivers\/:platform\/:tenant_id$/, /^(GET|HEAD|POST|DELETE) \/v2\/Services(\/|$)/];
  // /v2 (the Twilio Verify–compatible API) is public to the bearer check only: it authenticates
  // with HTTP Basic itself (test/integration/twilio-verify-http.test.ts).
  for (const o of open) assert.ok(allowedOpen.some((re) => re.test(o)), `${o} is public`);
});

test('every tenant route declares the API key scope it needs, and a key without it gets 403 naming it', async () => {
  const routes = t.app.declaredRoutes();
  // Where a route belongs (docs/api-keys.md): a new route under one of these prefixes must take
  // the scope given here, and every other tenant route must still declare one of the scopes.
  const expected: [RegExp, ApiKeyScope][] = [
    [/^\/v1\/otp\//, 'otp'],
    [/^\/v2\//, 'otp'],
    [/^\/(cis\/v1\/tenantsmsproviders|v1\/sms-provider\/)/, 'providers'],
    [/^\/v1\/(templates|fraud-guard|phones|audit-log)(\/|$)/, 'settings'],
    [/^\/v1\/(receivers|event-endpoints)(\/|$)/, 'events'],
    [/^\/v1\/(inbox|stats)$/, 'messages:read'],
  ];
  const keyed = routes.filter((r) => r.access === 'tenant' || (r.access === 'public' && r.url.startsWith('/v2/')));
  assert.ok(keyed.length >= 30, `only ${keyed.length} tenant routes found`);
  for (const r of keyed) {
    assert.ok(r.scope !== undefined && (API_KEY_SCOPES as readonly string[]).includes(r.scope), `${r.method} ${r.url} declares no API key scope (config.scope)`);
    const rule = expected.find(([re]) => re.test(r.url));
    if (rule) assert.equal(r.scope, rule[1], `${r.method} ${r.url} should need the ${rule[1]} scope`);
  }
  assert.equal(routes.find((r) => r.method === 'GET' && r.url === '/v1/messages')?.scope, 'messages:read');
  assert.equal(routes.find((r) => r.method === 'POST' && r.url === '/v1/messages')?.scope, 'otp');

  // Enforced by the server on each of them: a key with every other scope is refused before
  // the handler runs, and a key with the scope is let through (whatever the handler answers).
  const { tenantId } = await t.createTenant();
  const keys = new Map<string, string>();
  const keyWith = async (scopes: readonly ApiKeyScope[]) => {
    const name = scopes.join(',');
    if (!keys.has(name)) {
      const k = await t.call('POST', `/v1/tenants/${tenantId}/api-keys`, { auth: adminAuth, body: { scopes } });
      assert.equal(k.statusCode, 201, k.body);
      keys.set(name, k.json().key);
    }
    return keys.get(name)!;
  };
  for (const r of keyed.filter((x) => x.access === 'tenant' && x.method !== 'HEAD')) {
    const url = r.url.replace(/:[a-z_]+/g, 'x_1').replace(/\*/g, 'x');
    const payload = r.method === 'GET' || r.method === 'DELETE' ? {} : { payload: {} };
    const without = await t.app.inject({ method: r.method as 'GET', url, headers: { authorization: `Bearer ${await keyWith(API_KEY_SCOPES.filter((s) => s !== r.scope))}` }, ...payload });
    assert.equal(without.statusCode, 403, `${r.method} ${r.url} without ${r.scope}: ${without.statusCode}`);
    assert.equal(without.json().code, 'auth.forbidden');
    assert.equal(without.json().required_scope, r.scope);
    const withIt = await t.app.inject({ method: r.method as 'GET', url, headers: { authorization: `Bearer ${await keyWith([r.scope!])}` }, ...payload });
    assert.notEqual(withIt.statusCode, 403, `${r.method} ${r.url} with ${r.scope}: ${withIt.body}`);
    assert.notEqual(withIt.statusCode, 401, `${r.method} ${r.url} with ${r.scope}: ${withIt.body}`);
  }
});

test('a route without an access is refused when the app starts', async () => {
  const { buildApp } = await import('../../src/app.js');
  const app = await buildApp(t.deps);
  app.get('/v1/forgotten', async () => ({ ok: true }));
  await assert.rejects(async () => {
    await app.ready();
  }, /routes without config\.access: GET \/v1\/forgotten/);
  await app.close().catch(() => undefined);
});

test('health, readiness and metrics', async () => {
  assert.equal((await t.call('GET', '/healthz')).json().status, 'ok');
  assert.equal((await t.call('GET', '/readyz')).json().status, 'ready');
  const m = await t.call('GET', '/metrics');
  for (const name of ['otpgate_otp_sends_total', 'otpgate_otp_verifies_total', 'otpgate_dispatch_latency_seconds', 'otpgate_queue_depth', 'otpgate_provider_attempts_total']) {
    assert.match(m.body, new RegExp(name), name);
  }
});

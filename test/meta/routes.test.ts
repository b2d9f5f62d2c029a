import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(async () => t.close());

test('every API route is in /openapi.json and /docs renders', async () => {
  const spec = (await t.call('GET', '/openapi.json')).json();
  const paths = Object.keys(spec.paths);
  for (const p of ['/v1/otp/send', '/v1/otp/verify', '/v1/otp/challenges/{id}', '/v1/tenants', '/v1/tenants/{id}', '/v1/tenants/{id}/api-keys', '/v1/messages', '/v1/messages/{id}', '/v1/templates/{purpose}/{locale}', '/v1/inbox', '/cis/v1/tenantsmsproviders', '/v1/sms-provider/test', '/v1/provider-kinds', '/oauth2/token']) {
    assert.ok(paths.includes(p), `${p} missing from the OpenAPI document`);
  }
  const send = spec.paths['/v1/otp/send'].post;
  assert.ok(send.requestBody, 'send documents its body');
  assert.equal(send.requestBody.content['application/json'].schema.additionalProperties, false, 'unknown fields are rejected and documented as such');
  const docs = await t.call('GET', '/docs/');
  assert.equal(docs.statusCode, 200);
  assert.match(docs.body, /swagger/i);
});

test('every non-public route refuses a request without credentials', async () => {
  const routes = t.app.printRoutes({ commonPrefix: false });
  const open = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/oauth2/token', '/v1/provider-kinds', '/']);
  const checked: string[] = [];
  for (const url of ['/v1/tenants', '/v1/messages', '/v1/inbox', '/cis/v1/tenantsmsproviders', '/v1/templates', '/v1/stats', '/v1/audit-log']) {
    const r = await t.call('GET', url);
    assert.equal(r.statusCode, 401, url);
    checked.push(url);
  }
  for (const u of open) if (!u.startsWith('/docs')) assert.notEqual((await t.call('GET', u)).statusCode, 401, u);
  assert.ok(routes.length > 0 && checked.length > 0);
});

test('health, readiness and metrics', async () => {
  assert.equal((await t.call('GET', '/healthz')).json().status, 'ok');
  assert.equal((await t.call('GET', '/readyz')).json().status, 'ready');
  const m = await t.call('GET', '/metrics');
  for (const name of ['otpgate_otp_sends_total', 'otpgate_otp_verifies_total', 'otpgate_dispatch_latency_seconds', 'otpgate_queue_depth', 'otpgate_provider_attempts_total']) {
    assert.match(m.body, new RegExp(name), name);
  }
});

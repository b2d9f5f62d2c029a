import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';

/**
 * The success status each documented operation really answers (its handler's reply.code, 200
 * when it sets none). Kept by hand on purpose: a new route must be added here knowingly, and the
 * typed client (clients/typescript) is generated from what this test holds the document to.
 */
const SUCCESS: Record<string, number> = {
  'POST /oauth2/token': 200,
  'POST /v1/callbacks/{provider}/{tenant_id}': 200,
  'GET /v1/callbacks/{provider}/{tenant_id}': 200,
  'POST /v1/tenants': 201,
  'GET /v1/tenants': 200,
  'GET /v1/tenants/{id}': 200,
  'PATCH /v1/tenants/{id}': 200,
  'DELETE /v1/tenants/{id}': 204,
  'POST /v1/tenants/{id}/api-keys': 201,
  'GET /v1/tenants/{id}/api-keys': 200,
  'DELETE /v1/tenants/{id}/api-keys/{key_id}': 204,
  'GET /v1/tenants/{id}/audit-log': 200,
  'GET /v1/platform/audit-log': 200,
  'POST /v1/otp/send': 202,
  'POST /v1/otp/verify': 200,
  'GET /v1/otp/challenges/{id}': 200,
  'GET /v1/otp/verifications/{id}': 200,
  'PATCH /v1/otp/verifications/{id}': 200,
  'GET /v1/messages': 200,
  'GET /v1/messages.csv': 200,
  'POST /v1/messages': 202,
  'GET /v1/messages/{id}': 200,
  'GET /v1/inbox': 200,
  'GET /v1/stats': 200,
  'GET /v1/audit-log': 200,
  'GET /v1/templates': 200,
  'GET /v1/templates/{purpose}/{locale}': 200,
  'PUT /v1/templates/{purpose}/{locale}': 200,
  'DELETE /v1/templates/{purpose}/{locale}': 204,
  'GET /v1/provider-kinds': 200,
  'GET /cis/v1/tenantsmsproviders': 200,
  'PUT /cis/v1/tenantsmsproviders': 200,
  'POST /v1/sms-provider/test': 200,
  'GET /v1/fraud-guard/blocks': 200,
  'DELETE /v1/fraud-guard/blocks/{id}': 204,
  'GET /v1/fraud-guard/decisions': 200,
  'GET /v1/fraud-guard/stats': 200,
  'POST /v1/messages/{id}/feedback': 200,
  'PUT /v1/receivers/{platform}': 200,
  'DELETE /v1/receivers/{platform}': 204,
  'GET /v1/receivers': 200,
  'POST /v1/event-endpoints': 201,
  'GET /v1/event-endpoints': 200,
  'GET /v1/event-endpoints/{id}': 200,
  'PATCH /v1/event-endpoints/{id}': 200,
  'DELETE /v1/event-endpoints/{id}': 204,
  'POST /v1/event-endpoints/{id}/rotate-secret': 200,
  'POST /v1/event-endpoints/{id}/test': 202,
  'GET /v1/event-endpoints/{id}/deliveries': 200,
  'POST /v1/event-endpoints/{id}/deliveries/{delivery_id}/retry': 202,
  'POST /v1/phones/export': 200,
  'POST /v1/phones/erase': 200,
  'POST /v1/receivers/{platform}/{tenant_id}': 200,
  'GET /v1/receivers/{platform}/{tenant_id}': 200,
  'POST /v1/auth/sign-in': 200,
  'GET /v1/auth/options': 200,
  'GET /v1/auth/oidc/start': 302,
  'GET /v1/auth/oidc/callback': 302,
  'POST /v1/auth/sign-out': 204,
  'POST /v1/auth/sign-out-everywhere': 200,
  'GET /v1/auth/me': 200,
  'POST /v1/auth/totp/setup': 200,
  'POST /v1/auth/totp/enable': 200,
  'POST /v1/auth/totp/disable': 200,
  'POST /v1/operators': 201,
  'GET /v1/operators': 200,
  'GET /v1/operators/{id}': 200,
  'PATCH /v1/operators/{id}': 200,
  'DELETE /v1/operators/{id}': 204,
};

/** The identity platforms' own calls: answered (errors too) in each platform's form, not ours. */
/** Operations whose success body is text of this media type, not JSON. */
const TEXT_BODY: Record<string, string> = { 'GET /v1/messages.csv': 'text/csv' };

const PLATFORM_FORM = new Set(['POST /v1/receivers/{platform}/{tenant_id}', 'GET /v1/receivers/{platform}/{tenant_id}']);

/** Errors every route can answer (bad input, the store down); the rest depend on the route. */
const ALWAYS = ['400', '500', '503'];
const AUTHENTICATED = ['401', '403', '429'];

let t: TestApp;
let spec: any;
before(async () => {
  t = await createTestApp();
  spec = (await t.call('GET', '/openapi.json')).json();
});
after(async () => t.close());

/** Follows a local `$ref` (#/components/schemas/…). */
function resolve(schema: any): any {
  if (typeof schema?.$ref !== 'string') return schema;
  return schema.$ref.replace(/^#\//, '').split('/').reduce((at: any, key: string) => at?.[key], spec);
}

function operations(): Array<[string, any]> {
  const out: Array<[string, any]> = [];
  for (const [path, ops] of Object.entries<Record<string, any>>(spec.paths)) for (const [method, op] of Object.entries(ops)) out.push([`${method.toUpperCase()} ${path}`, op]);
  return out;
}

test('every documented operation is in the table of success codes, and every entry is documented', () => {
  const documented = operations().map(([k]) => k);
  for (const k of documented) assert.ok(k in SUCCESS, `${k} is in /openapi.json but not in SUCCESS: add it with the status its handler answers`);
  for (const k of Object.keys(SUCCESS)) assert.ok(documented.includes(k), `${k} is in SUCCESS but not in /openapi.json`);
});

test('every operation documents the success status it really answers, with its body schema', () => {
  for (const [k, op] of operations()) {
    const codes = Object.keys(op.responses ?? {});
    // A browser redirect (single sign-on) succeeds with 302.
    const success = codes.filter((c) => c.startsWith('2') || c === '302');
    assert.deepEqual(success, [String(SUCCESS[k])], `${k} documents ${success.join(', ') || 'no'} success status; it answers ${SUCCESS[k]}`);
    const res = op.responses[success[0]!];
    if (SUCCESS[k] === 302) continue;
    if (SUCCESS[k] === 204) {
      assert.equal(res.content, undefined, `${k}: a 204 has no body`);
      continue;
    }
    if (TEXT_BODY[k]) {
      assert.equal(res.content?.[TEXT_BODY[k]]?.schema?.type, 'string', `${k}: no ${TEXT_BODY[k]} body for ${success[0]}`);
      assert.equal(res.content['application/json'], undefined, `${k}: claims application/json`);
      continue;
    }
    const schema = res.content?.['application/json']?.schema;
    assert.ok(schema, `${k}: no application/json schema for ${success[0]}`);
    if (!PLATFORM_FORM.has(k)) assert.ok(schema.type === 'object' || schema.anyOf || schema.oneOf || schema.$ref, `${k}: the success schema says nothing of the body (${JSON.stringify(schema)})`);
  }
});

test('every operation documents its errors as application/problem+json', () => {
  for (const [k, op] of operations()) {
    if (PLATFORM_FORM.has(k)) continue;
    const isPublic = k.startsWith('POST /oauth2/') || k.includes('/callbacks/') || k === 'GET /v1/provider-kinds';
    const hasPathParams = (op.parameters ?? []).some((p: any) => p.in === 'path');
    const expected = [...ALWAYS, ...(isPublic ? [] : AUTHENTICATED), ...(hasPathParams ? ['404'] : [])];
    for (const code of expected) {
      const res = op.responses[code];
      assert.ok(res, `${k} does not document ${code}`);
      const schema = resolve(res.content?.['application/problem+json']?.schema);
      assert.ok(schema, `${k}: ${code} is not documented as application/problem+json`);
      assert.equal(res.content['application/json'], undefined, `${k}: ${code} claims application/json`);
      for (const field of ['type', 'title', 'status', 'code', 'request_id']) assert.ok(schema.required?.includes(field), `${k}: ${code}'s problem schema lacks ${field}`);
    }
  }
});

test('/oauth2/token documents its client_credentials body, form-encoded or JSON, and the token it answers', () => {
  const op = spec.paths['/oauth2/token'].post;
  assert.ok(op.requestBody, '/oauth2/token documents no request body');
  for (const type of ['application/x-www-form-urlencoded', 'application/json']) {
    const schema = op.requestBody.content?.[type]?.schema;
    assert.ok(schema, `/oauth2/token: no ${type} body`);
    assert.deepEqual(schema.properties.grant_type.enum ?? [schema.properties.grant_type.const], ['client_credentials']);
    assert.ok(schema.properties.client_id && schema.properties.client_secret, 'client_id and client_secret are documented');
    assert.deepEqual(schema.required, ['grant_type'], 'only grant_type is required: the credentials may come as HTTP Basic');
  }
  const token = op.responses['200'].content['application/json'].schema;
  assert.deepEqual(Object.keys(token.properties).sort(), ['access_token', 'expires_in', 'token_type']);
  assert.deepEqual(op.security, [], 'the token endpoint takes no bearer token');
});

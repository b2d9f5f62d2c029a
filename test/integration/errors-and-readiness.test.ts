import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

const PHONE = '+14155552671';

/** Words that would mean a 5xx answer leaked internals. */
const INTERNALS = [/select\s/i, /insert\s/i, /sqlite/i, /postgres/i, /destroyed/i, /\bat \//, /\.ts:\d+/, /stack/i, /Error:/];

function assertOpaque500(res: { statusCode: number; headers: Record<string, unknown>; body: string; json(): any }, what: string): void {
  assert.equal(res.statusCode, 500, `${what}: ${res.body}`);
  assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8', what);
  const p = res.json();
  assert.equal(p.code, 'internal', what);
  assert.equal(p.status, 500, what);
  assert.equal(p.type, '/errors/internal', 'a page this server serves (relative: no OTPGATE_PUBLIC_URL)');
  assert.match(p.request_id, /^req_/);
  assert.deepEqual(Object.keys(p).sort(), ['code', 'detail', 'request_id', 'status', 'title', 'type'], `${what}: nothing but the problem members`);
  for (const re of INTERNALS) assert.doesNotMatch(res.body, re, `${what}: the answer reveals ${re}`);
}

describe('an unexpected error answers an opaque 500', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  test('a service that throws a plain Error', async () => {
    const { auth } = await t.createTenant();
    const original = t.deps.otp.send;
    const leak = 'SQLITE_ERROR: near "select code_hash from challenges where phone = \'+14155552671\'"';
    t.deps.otp.send = async () => {
      throw new Error(leak);
    };
    try {
      const res = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
      assertOpaque500(res, 'send');
      assert.ok(!res.body.includes('code_hash') && !res.body.includes(PHONE), 'the answer holds the error message');
      // The operator still learns what happened, under the request's id.
      const line = t.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'unhandled error' && l.reqId === res.json().request_id);
      assert.ok(line, `the error is logged with its request id: ${t.logs.text().slice(-500)}`);
      assert.equal(line.level, 50);
      assert.equal(line.err_message, leak);
    } finally {
      t.deps.otp.send = original;
    }
    assert.equal((await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } })).statusCode, 202, 'the app still works');
  });
});

for (const dialect of await testDialects()) {
  describe(`with the database gone (${dialect})`, () => {
    let t: TestApp;
    let auth: string;
    before(async () => {
      t = await createTestApp({ dialect });
      auth = (await t.createTenant()).auth;
      // The key is now cached: the request gets past authentication to the store.
      assert.equal((await t.call('GET', '/v1/messages', { auth })).statusCode, 200);
      assert.equal((await t.call('GET', '/readyz')).statusCode, 200);
    });
    after(async () => {
      const store = t.deps.store;
      // The helper closes the store again; it is already closed.
      store.close = async () => undefined;
      await t.close();
    });

    test('/readyz answers 503, /healthz 200, and requests an opaque 500', async () => {
      await t.deps.store.close();
      const ready = await t.call('GET', '/readyz');
      assert.equal(ready.statusCode, 503, ready.body);
      assert.equal(ready.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(ready.headers['retry-after'], '5');
      const p = ready.json();
      assert.equal(p.code, 'unavailable');
      assert.equal(p.status, 503);
      for (const re of INTERNALS) assert.doesNotMatch(ready.body, re, `/readyz reveals ${re}`);
      assert.equal((await t.call('GET', '/healthz')).statusCode, 200, 'liveness does not need the database');
      assertOpaque500(await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } }), 'send without a database');
      assertOpaque500(await t.call('GET', '/v1/messages', { auth }), 'list without a database');
    });
  });
}

describe('methods, media types and event templates', () => {
  let t: TestApp;
  let auth: string;
  before(async () => {
    t = await createTestApp();
    auth = (await t.createTenant()).auth;
  });
  after(async () => t.close());

  test('a known path with another method answers 405 with Allow; an unknown path 404', async () => {
    for (const [method, url, allow] of [
      ['DELETE', '/v1/otp/send', 'POST'],
      ['GET', '/v1/otp/verify', 'POST'],
      ['PUT', '/v1/messages', 'GET, HEAD, POST'],
      ['POST', '/v1/messages/msg_01m80q85m97d6hr2r51xbrp0zp', 'GET, HEAD'],
      ['DELETE', '/v1/callbacks/Twilio/ten_1', 'GET, HEAD, POST'],
      ['POST', '/healthz', 'GET, HEAD'],
      ['PATCH', '/v1/otp/send?x=1', 'POST'],
    ] as const) {
      const res = await t.call(method, url, { auth });
      assert.equal(res.statusCode, 405, `${method} ${url}: ${res.body}`);
      assert.equal(res.headers.allow, allow, `${method} ${url}`);
      assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal(res.json().code, 'route.method_not_allowed');
    }
    const none = await t.call('DELETE', '/v1/nothing-here', { auth });
    assert.equal(none.statusCode, 404);
    assert.equal(none.json().code, 'route.not_found');
    assert.equal(none.headers.allow, undefined);
  });

  test('JSON routes answer 415 to a form body; OAuth and provider callbacks still read forms', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const [method, url] of [['POST', '/v1/otp/send'], ['POST', '/v1/otp/verify'], ['POST', '/v1/messages'], ['PUT', '/cis/v1/tenantsmsproviders'], ['POST', '/v1/sms-provider/test']] as const) {
      const res = await t.call(method, url, { auth, headers: form, body: 'phone_number=%2B14155552671' });
      assert.equal(res.statusCode, 415, `${method} ${url}: ${res.body}`);
      assert.equal(res.json().code, 'request.unsupported_media_type');
    }
    const token = await t.call('POST', '/oauth2/token', { headers: form, body: 'grant_type=password' });
    assert.equal(token.json().code, 'request.invalid', 'the form was read');
    assert.equal(token.json().error, 'unsupported_grant_type');
    const callback = await t.call('POST', '/v1/callbacks/Twilio/ten_01m80q85m97d6hr2r51xbrp0zp', { headers: form, body: 'MessageSid=SM1&MessageStatus=delivered' });
    assert.notEqual(callback.statusCode, 415, callback.body);
  });

  test('an event template renders its variables and refuses names without a value', async () => {
    const ok = await t.call('POST', '/v1/messages', { auth, body: { to: PHONE, template: 'Order {{order}} for {{ name }} from {{app_name}}', variables: { order: '42', name: 'Ann' } } });
    assert.equal(ok.statusCode, 202, ok.body);
    assert.equal(ok.json().body, 'Order 42 for Ann from Acme');

    for (const [template, variables, unknown] of [
      ['Order {{order}} for {{nmae}}', { order: '42', name: 'Ann' }, ['nmae']],
      ['Hi {{ first }} {{last}} {{first}}', {}, ['first', 'last']],
      ['Your code {{code}}', undefined, ['code']],
      ['{{constructor}} {{toString}}', { order: '1' }, ['constructor', 'toString']],
    ] as const) {
      const res = await t.call('POST', '/v1/messages', { auth, body: { to: PHONE, template, ...(variables ? { variables } : {}) } });
      assert.equal(res.statusCode, 422, `${template}: ${res.body}`);
      const p = res.json();
      assert.equal(p.code, 'template.invalid', template);
      assert.deepEqual(p.unknown_variables, unknown, template);
      for (const name of unknown) assert.match(p.detail, new RegExp(`\\{\\{${name}\\}\\}`), `${template}: the detail names ${name}`);
    }
    const braces = await t.call('POST', '/v1/messages', { auth, body: { to: PHONE, template: 'Order {order}}', variables: { order: '1' } } });
    assert.equal(braces.statusCode, 422);
    assert.equal(braces.json().unknown_variables, undefined);
    const messages = (await t.call('GET', '/v1/messages?kind=event', { auth })).json<{ items: unknown[] }>();
    assert.equal(messages.items.length, 1, 'only the good event SMS was queued');
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { adminAuth, createTestApp, TEST_ADMIN_KEY, type TestApp } from '../helpers/app.js';
import { startCustomGatewayFake, type CustomGatewayFake } from '../fakes/custom-gateway.js';

const PHONE = '+14155552671';

describe('codes, secrets and keys stay out of logs, answers and the database', () => {
  let t: TestApp;
  let gw: CustomGatewayFake;
  const GW_KEY = 'gw-secret-key-abcdef123456';
  before(async () => {
    gw = await startCustomGatewayFake({ apiKey: GW_KEY });
    t = await createTestApp({ env: { OTPGATE_LOG_LEVEL: 'trace' } });
  });
  after(async () => {
    await t.close();
    await gw.close();
  });

  test('the whole flow, with errors on the way, never leaks', async () => {
    const { auth, apiKey, tenantId } = await t.createTenant();
    const put = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth, body: { provider: 'CustomGateway', custom_gateway: { uri: gw.uri, api_key: GW_KEY } } });
    assert.equal(put.statusCode, 200, put.body);
    assert.ok(!put.body.includes(GW_KEY));
    const answers: string[] = [put.body];
    const s = await t.call('POST', '/v1/otp/send', { auth, body: { phone_number: PHONE } });
    answers.push(s.body);
    gw.fail({ kind: 'status', status: 500, body: 'boom' });
    await t.drainOutbox();
    const later = Date.now();
    void later;
    const { challenge_id, message_id } = s.json();
    // Second attempt after the backoff.
    await t.deps.store.db.updateTable('messages').set({ next_attempt_at: 0 }).where('id', '=', message_id).execute();
    await t.drainOutbox();
    const code = /(\d{6})/.exec(gw.messages.at(-1)!.message)![1]!;
    answers.push((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id, code: code === '000000' ? '111111' : '000000' } })).body);
    answers.push((await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id, code } })).body);
    answers.push((await t.call('GET', `/v1/messages/${message_id}`, { auth })).body);
    answers.push((await t.call('GET', '/v1/messages', { auth })).body);
    answers.push((await t.call('GET', `/v1/otp/challenges/${challenge_id}`, { auth })).body);
    answers.push((await t.call('GET', '/cis/v1/tenantsmsproviders', { auth })).body);
    answers.push((await t.call('GET', `/v1/tenants/${tenantId}/audit-log`, { auth: adminAuth })).body);
    answers.push((await t.call('GET', `/v1/tenants/${tenantId}/api-keys`, { auth: adminAuth })).body);
    answers.push((await t.call('POST', '/v1/otp/send', { auth: `Bearer ${apiKey}x`, body: { phone_number: PHONE } })).body);
    const all = answers.join('\n');
    assert.ok(!all.includes(code), 'an answer holds the code');
    assert.ok(!all.includes(GW_KEY), 'an answer holds the gateway key');
    assert.ok(!all.includes(apiKey), 'an answer holds the API key');
    assert.ok(!all.includes(TEST_ADMIN_KEY), 'an answer holds the admin key');
    const logs = t.logs.text();
    // The capture must have seen the path's own lines, else "no secret in the logs" proves nothing:
    // the failed first attempt warns, the accepted retry is logged at debug (level is trace here).
    const lines = t.logs.lines.map((l) => JSON.parse(l) as { level: number; msg: string; messageId?: string; provider?: string });
    const failed = lines.find((l) => l.msg === 'provider send failed');
    assert.ok(failed, `the failed attempt's warning was captured: ${logs.slice(0, 500)}`);
    assert.equal(failed.level, 40);
    assert.equal(failed.messageId, message_id);
    assert.equal(failed.provider, 'CustomGateway');
    assert.ok(lines.some((l) => l.msg === 'provider accepted the message' && l.messageId === message_id), 'the accepted attempt was captured');
    // A request that fails unexpectedly is logged too (and answers without internals).
    const original = t.deps.messages.get;
    t.deps.messages.get = async () => {
      throw new Error(`lookup failed for ${message_id}`);
    };
    try {
      const broken = await t.call('GET', `/v1/messages/${message_id}`, { auth: `Bearer ${apiKey}` });
      assert.equal(broken.statusCode, 500);
      answers.push(broken.body);
    } finally {
      t.deps.messages.get = original;
    }
    const allAnswers = answers.join('\n');
    assert.ok(!allAnswers.includes(code) && !allAnswers.includes(apiKey), 'the 500 answer holds a secret');
    const logged = t.logs.lines.map((l) => JSON.parse(l) as { msg: string; err_message?: string }).find((l) => l.msg === 'unhandled error');
    assert.ok(logged?.err_message?.includes(message_id), 'the unexpected error was captured');
    const allLogs = t.logs.text();
    assert.ok(allLogs.length > logs.length);
    for (const secret of [code, GW_KEY, apiKey, TEST_ADMIN_KEY]) assert.ok(!allLogs.includes(secret), `a log line holds ${secret.slice(0, 4)}…`);
    // The database file holds neither the code nor the gateway key in clear.
    const file = t.dbUrl.slice('sqlite:'.length);
    await t.deps.store.db.selectFrom('tenants').select('id').execute();
    const bytes = Buffer.concat([readFileSync(file), (() => { try { return readFileSync(file + '-wal'); } catch { return Buffer.alloc(0); } })()]).toString('latin1');
    assert.ok(!bytes.includes(GW_KEY), 'the gateway key is in clear in the database');
    assert.ok(!bytes.includes(apiKey), 'the API key is in clear in the database');
    assert.ok(!bytes.includes(`${code} is your`), 'the rendered body is in clear in the database');
  });
});

describe('authentication', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  test('OAuth client credentials give a short-lived bearer token that acts for the tenant', async () => {
    const { apiKey, keyId, tenantId } = await t.createTenant();
    const form = await t.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${keyId}:${apiKey}`).toString('base64')}` },
      payload: 'grant_type=client_credentials',
    });
    assert.equal(form.statusCode, 200, form.body);
    const tok = form.json();
    assert.equal(tok.token_type, 'Bearer');
    assert.equal(tok.expires_in, 900);
    assert.match(tok.access_token, /^otk_/);
    const json = await t.call('POST', '/oauth2/token', { body: { grant_type: 'client_credentials', client_id: keyId, client_secret: apiKey } });
    assert.equal(json.statusCode, 200);
    const sent = await t.call('POST', '/v1/otp/send', { auth: `Bearer ${tok.access_token}`, body: { phone_number: PHONE } });
    assert.equal(sent.statusCode, 202, sent.body);
    const wrong = await t.call('POST', '/oauth2/token', { body: { grant_type: 'client_credentials', client_id: keyId, client_secret: `${apiKey}x` } });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, 'auth.invalid_client');
    const tampered = tok.access_token.slice(0, -2) + (tok.access_token.endsWith('AA') ? 'BB' : 'AA');
    assert.equal((await t.call('GET', '/v1/messages', { auth: `Bearer ${tampered}` })).statusCode, 401);
    // Revoking the key ends its tokens too (after the short cache).
    const del = await t.call('DELETE', `/v1/tenants/${tenantId}/api-keys/${keyId}`, { auth: adminAuth });
    assert.equal(del.statusCode, 204);
    assert.equal((await t.call('GET', '/v1/messages', { auth: `Bearer ${apiKey}` })).statusCode, 401);
  });

  test('admin manages tenants; PATCH merges settings; DELETE removes', async () => {
    const c = await t.call('POST', '/v1/tenants', { auth: adminAuth, body: { name: 'Beta', settings: { otp_length: 8 } } });
    assert.equal(c.statusCode, 201);
    const id = c.json().id;
    const p = await t.call('PATCH', `/v1/tenants/${id}`, { auth: adminAuth, body: { settings: { otp_ttl_seconds: 120 } } });
    assert.equal(p.json().settings.otp_length, 8);
    assert.equal(p.json().settings.otp_ttl_seconds, 120);
    const list = await t.call('GET', '/v1/tenants?limit=1', { auth: adminAuth });
    assert.equal(list.json().items.length, 1);
    assert.ok(list.json().next_cursor);
    const page2 = await t.call('GET', `/v1/tenants?limit=1&cursor=${list.json().next_cursor}`, { auth: adminAuth });
    assert.notEqual(page2.json().items[0].id, list.json().items[0].id);
    assert.equal((await t.call('DELETE', `/v1/tenants/${id}`, { auth: adminAuth })).statusCode, 204);
    assert.equal((await t.call('GET', `/v1/tenants/${id}`, { auth: adminAuth })).statusCode, 404);
  });
});

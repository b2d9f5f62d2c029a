import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, OtpgateError, verifyEvent, WebhookVerificationError, type OtpgateClient } from '../../clients/typescript/src/index.js';
import { CLIENT_SCHEMA_PATH, fetchOpenApiDocument, renderClientSchema } from '../../scripts/client-generate.js';
import { signWebhook } from '../../src/crypto/webhook-signature.js';
import { waitFor } from '../helpers/live-server.js';
import { startTestServer } from '../helpers/server.js';

/**
 * The typed client in clients/typescript against a real otpgate over HTTP: what it sends must
 * be what the server takes, and what the types promise must be what the server answers.
 */

interface Delivery {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A tenant's backend: records each event delivery as received (raw body, headers). */
async function startReceiver() {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    deliveries,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('TypeScript client (clients/typescript) against a real server', () => {
  let srv: Awaited<ReturnType<typeof startTestServer>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let admin: OtpgateClient;
  let tenantId: string;
  let apiKey: string;
  let client: OtpgateClient;

  before(async () => {
    srv = await startTestServer();
    receiver = await startReceiver();
    admin = createClient({ baseUrl: `${srv.url}/`, apiKey: srv.adminKey });
  });
  after(async () => {
    await receiver.close();
    await srv.close();
  });

  test('the committed schema.d.ts is what the server’s /openapi.json generates', async () => {
    const generated = await renderClientSchema(await fetchOpenApiDocument(srv.url));
    const committed = readFileSync(CLIENT_SCHEMA_PATH, 'utf8');
    if (generated !== committed) {
      const a = generated.split('\n');
      const b = committed.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      assert.fail(
        `clients/typescript/src/schema.d.ts differs from /openapi.json (first at line ${line + 1}: generated ${JSON.stringify(a[line])}, committed ${JSON.stringify(b[line])}). Run \`npm run client:generate\` and commit the result.`,
      );
    }
  });

  test('an admin creates a tenant (201) and an API key (201) through the typed API', async () => {
    const t = await admin.api.POST('/v1/tenants', { body: { name: 'Client', settings: { resend_cooldown_seconds: 0, fraud_guard: { mode: 'off' } } } });
    assert.equal(t.response.status, 201);
    assert.ok(t.data, JSON.stringify(t.error));
    tenantId = t.data.id;
    assert.equal(t.data.name, 'Client');
    assert.equal(t.data.settings.resend_cooldown_seconds, 0);

    const k = await admin.api.POST('/v1/tenants/{id}/api-keys', { params: { path: { id: tenantId } }, body: { name: 'backend' } });
    assert.equal(k.response.status, 201);
    assert.ok(k.data, JSON.stringify(k.error));
    assert.equal(k.data.tenant_id, tenantId);
    assert.ok(k.data.key.startsWith(k.data.prefix));
    apiKey = k.data.key;
    client = createClient({ baseUrl: srv.url, apiKey });

    // A revoked key: 204 and no body.
    const spare = await admin.api.POST('/v1/tenants/{id}/api-keys', { params: { path: { id: tenantId } }, body: { name: 'spare', scopes: ['messages:read'] } });
    assert.ok(spare.data);
    assert.deepEqual(spare.data.scopes, ['messages:read']);
    const gone = await admin.api.DELETE('/v1/tenants/{id}/api-keys/{key_id}', { params: { path: { id: tenantId, key_id: spare.data.id } } });
    assert.equal(gone.response.status, 204);
    assert.equal(gone.data, undefined);
    assert.equal(gone.error, undefined);
    const refused = await createClient({ baseUrl: srv.url, apiKey: spare.data.key }).api.GET('/v1/inbox', {});
    assert.equal(refused.response.status, 401);
    assert.equal(refused.error?.code, 'auth.invalid_api_key');
  });

  test('the OAuth token endpoint takes its form-encoded client_credentials body, and the token works', async () => {
    const keys = await admin.api.GET('/v1/tenants/{id}/api-keys', { params: { path: { id: tenantId }, query: { limit: 10 } } });
    const keyId = keys.data?.items.find((k) => k.name === 'backend')?.id;
    assert.ok(keyId);
    const anonymous = createClient({ baseUrl: srv.url, apiKey: 'unused' });
    const token = await anonymous.api.POST('/oauth2/token', {
      body: { grant_type: 'client_credentials', client_id: keyId, client_secret: apiKey },
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: '' },
      bodySerializer: (b) => new URLSearchParams(b as Record<string, string>).toString(),
    });
    assert.equal(token.response.status, 200, JSON.stringify(token.error));
    assert.ok(token.data);
    assert.equal(token.data.token_type, 'Bearer');
    assert.ok(token.data.expires_in > 0);
    const viaToken = await createClient({ baseUrl: srv.url, apiKey: token.data.access_token }).api.GET('/v1/inbox', {});
    assert.equal(viaToken.response.status, 200);

    const bad = await anonymous.api.POST('/oauth2/token', { body: { grant_type: 'client_credentials', client_id: keyId, client_secret: 'wrong' }, headers: { authorization: '' } });
    assert.equal(bad.response.status, 401);
    assert.equal(bad.response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(bad.error?.code, 'auth.invalid_client');
  });

  test('send (202) → the Inbox provider’s message → a wrong code, then the right one; the event delivery verifies', async () => {
    const endpoint = await client.api.POST('/v1/event-endpoints', { body: { url: receiver.url, events: ['verification.approved'] } });
    assert.equal(endpoint.response.status, 201, JSON.stringify(endpoint.error));
    assert.ok(endpoint.data);
    assert.ok(endpoint.data.secret.startsWith('whsec_'));
    const secret = endpoint.data.secret;

    const phone = '+14155550199';
    const sent = await client.sendOtp({ phone_number: phone, purpose: 'login' }, { idempotencyKey: 'client-test-1' });
    assert.equal(sent.phone_number, phone);
    assert.equal(sent.purpose, 'login');
    assert.ok(sent.challenge_id && sent.verification_id);
    assert.ok(!('code' in sent), 'the send answer carries no code');

    const inbox = await waitFor('the code in the Inbox', async () => {
      const page = await client.api.GET('/v1/inbox', { params: { query: { phone_number: phone } } });
      assert.equal(page.response.status, 200, JSON.stringify(page.error));
      return page.data?.items.find((m) => m.message_id === sent.message_id);
    });
    const code = /(\d{4,10})/.exec(inbox.body)?.[1];
    assert.ok(code, inbox.body);

    const wrong = code === '000000' ? '111111' : '000000';
    await assert.rejects(client.verifyOtp({ challenge_id: sent.challenge_id, code: wrong }), (err: unknown) => {
      assert.ok(err instanceof OtpgateError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'otp.invalid');
      assert.equal(err.problem.attempts_remaining, 4);
      assert.ok(!err.message.includes(code) && !JSON.stringify(err.problem).includes(code), 'no code in the error');
      return true;
    });

    const verified = await client.verifyOtp({ challenge_id: sent.challenge_id, code });
    assert.deepEqual(verified, { verified: true, challenge_id: sent.challenge_id, verification_id: sent.verification_id, phone_number: phone, purpose: 'login' });

    const v = await client.api.GET('/v1/otp/verifications/{id}', { params: { path: { id: sent.verification_id } } });
    assert.equal(v.data?.status, 'approved');
    assert.equal(v.data?.attempts, 1);

    const delivery = await waitFor('the verification.approved delivery', () => receiver.deliveries.find((d) => d.body.includes(sent.verification_id)));
    const event = verifyEvent<{ verification_id: string; challenge_id: string | null }>(delivery.headers, delivery.body, secret);
    assert.equal(event.type, 'verification.approved');
    assert.equal(event.data.verification_id, sent.verification_id);
    assert.equal(event.data.challenge_id, sent.challenge_id);
    assert.equal(event.id, delivery.headers['webhook-id']);
    // The same delivery as a fetch Headers object (how a fetch-style framework hands it over).
    const asHeaders = new Headers(Object.entries(delivery.headers).map(([k, val]) => [k, String(val)]));
    assert.equal(verifyEvent(asHeaders, Buffer.from(delivery.body), [endpoint.data.secret]).id, event.id);

    // Not the bytes signed, not the secret, or too late: refused.
    assert.throws(() => verifyEvent(delivery.headers, delivery.body.replace('verification.approved', 'verification.failed'), secret), WebhookVerificationError);
    assert.throws(() => verifyEvent(delivery.headers, delivery.body, `whsec_${Buffer.alloc(32, 1).toString('base64')}`), WebhookVerificationError);
    const signedAt = Number(delivery.headers['webhook-timestamp']);
    assert.throws(() => verifyEvent(delivery.headers, delivery.body, secret, { now: new Date((signedAt + 301) * 1000) }), /too far/);
    assert.throws(() => verifyEvent({ ...delivery.headers, 'webhook-signature': undefined }, delivery.body, secret), /missing/);
  });

  test('verifyEvent takes either signature during a rotation (the server’s signer)', () => {
    const oldSecret = `whsec_${Buffer.alloc(32, 2).toString('base64')}`;
    const newSecret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const body = JSON.stringify({ type: 'message.sent', timestamp: new Date().toISOString(), data: { message_id: 'msg_1' } });
    const ts = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook([newSecret, oldSecret], 'evt_1', ts, body) };
    assert.equal(verifyEvent(headers, body, oldSecret).data.message_id, 'msg_1');
    assert.equal(verifyEvent(headers, body, newSecret).type, 'message.sent');
    assert.throws(() => verifyEvent(headers, body, `whsec_${Buffer.alloc(32, 4).toString('base64')}`), /no signature matches/);
  });

  test('bad input answers a typed problem+json error, never a 500', async () => {
    await assert.rejects(client.sendOtp({ phone_number: 'not a number' }), (err: unknown) => {
      assert.ok(err instanceof OtpgateError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'phone.invalid');
      assert.ok(err.problem.request_id.startsWith('req_'));
      return true;
    });
    const raw = await client.api.POST('/v1/otp/send', { body: { phone_number: '+14155550100', unknown_field: 1 } as never });
    assert.equal(raw.response.status, 400);
    assert.equal(raw.response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.equal(raw.error?.code, 'request.invalid');
    assert.ok(raw.error?.issues?.some((i) => i.message.includes('unknown_field')), JSON.stringify(raw.error));

    const missing = await client.api.GET('/v1/otp/verifications/{id}', { params: { path: { id: 'ver_doesnotexist' } } });
    assert.equal(missing.response.status, 404);
    assert.equal(missing.error?.code, 'otp.verification_not_found');

    await assert.rejects(client.verifyOtp({ challenge_id: 'chl_nope', code: '123456' }), (err: unknown) => err instanceof OtpgateError && err.status === 404 && err.code === 'otp.challenge_not_found');
  });

  test('the client never writes the API key or a code to the server log', () => {
    const logs = srv.logs.text();
    assert.ok(!logs.includes(apiKey), 'the API key is in the logs');
  });
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { SignJWT } from 'jose';
import { createManualClock } from '../../src/domain/clock.js';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { testDialects } from '../helpers/databases.js';

/**
 * Platform receivers (docs/integrations.md): each platform's request built the way the
 * platform builds it: the standardwebhooks package signs Supabase's hook calls, the real
 * @logto/connector-http-sms sends Logto's, jose signs Auth0's JWT, ZITADEL's signature is
 * computed as its pkg/actions/signing.go does, Kratos's body is what the documented JsonNet
 * renders, and Mosaic's calls are otpgate's own CustomGateway provider (the same contract).
 */

type Tenant = Awaited<ReturnType<TestApp['createTenant']>>;

/** The real Logto connector (it ships no type declarations). */
interface LogtoSmsConnector {
  sendMessage(data: { to: string; type: string; payload: Record<string, string> }): Promise<unknown>;
}
const logtoPackage = '@logto/connector-http-sms';
const { default: createHttpSmsConnector } = (await import(logtoPackage)) as { default: (ctx: { getConfig: () => Promise<unknown> }) => Promise<LogtoSmsConnector> };

/** Every code and secret the suite used: none may appear in a log line or a message log. */
const sensitive: string[] = [];
/** Every receiver answer's body: none may hold a code or a secret either. */
const answers: string[] = [];
const remember = <T extends string>(v: T): T => {
  sensitive.push(v);
  return v;
};

for (const dialect of await testDialects()) {
  describe(`platform receivers (${dialect})`, () => {
    let t: TestApp;
    let base: string;
    const clock = createManualClock(Date.now());

    before(async () => {
      t = await createTestApp({ dialect, clock });
      base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    });
    after(async () => t.close());

    async function enable(tenant: Tenant, platform: string, secrets?: string[]) {
      const res = await t.call('PUT', `/v1/receivers/${platform}`, { auth: tenant.auth, body: { enabled: true, ...(secrets ? { secrets } : {}) } });
      assert.equal(res.statusCode, 200, res.body);
      const saved = res.json<{ platform: string; enabled: boolean; url: string; secret?: string }>();
      // Without OTPGATE_PUBLIC_URL the URL is built from the request's host (app.inject's); the listening server's port is where the platforms call.
      return { ...saved, url: saved.url.replace(/^https?:\/\/[^/]+/, base) };
    }

    async function post(url: string, body: string, headers: Record<string, string>) {
      const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      const text = await res.text();
      answers.push(text);
      return { status: res.status, text, json: () => JSON.parse(text) };
    }

    async function inbox(tenant: Tenant) {
      await t.drainOutbox();
      return (await t.call('GET', '/v1/inbox', { auth: tenant.auth })).json<{ items: Array<{ to: string; body: string }> }>().items;
    }

    async function messages(tenant: Tenant) {
      return (await t.call('GET', '/v1/messages', { auth: tenant.auth })).json<{ items: Array<{ to: string; body: string; kind: string; purpose: string | null }> }>().items;
    }

    test('configuration: a generated secret is shown once, stored sealed, never listed; rotation; delete; bad input', async () => {
      const tenant = await t.createTenant();
      const saved = await enable(tenant, 'supabase');
      assert.match(saved.secret ?? '', /^v1,whsec_[A-Za-z0-9+/=]{40,}$/);
      remember(saved.secret!);
      assert.equal(saved.url, `${base}/v1/receivers/supabase/${tenant.tenantId}`);
      const row = await t.deps.store.db.selectFrom('receiver_configs').selectAll().where('tenant_id', '=', tenant.tenantId).executeTakeFirstOrThrow();
      assert.ok(!row.secrets_sealed.includes(saved.secret!.slice(9, 30)), 'stored sealed');
      const list = await t.call('GET', '/v1/receivers', { auth: tenant.auth });
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.json().items.map((r: { platform: string; secrets: number; enabled: boolean }) => [r.platform, r.secrets, r.enabled]), [['supabase', 1, true]]);
      assert.ok(!list.body.includes('whsec_'), 'never listed');

      const two = await enable(tenant, 'mosaic', [remember('mosaic-key-old-0123456789'), remember('mosaic-key-new-0123456789')]);
      assert.equal(two.secret, undefined, 'a given secret is not echoed');

      const bad = [
        ['PUT', '/v1/receivers/myspace', { enabled: true }, 404, 'receiver.not_found'],
        ['PUT', '/v1/receivers/zitadel', { enabled: true }, 400, 'request.invalid'],
        ['PUT', '/v1/receivers/supabase', { enabled: true, secrets: ['whsec_notv1'] }, 400, 'request.invalid'],
        ['PUT', '/v1/receivers/logto', { enabled: true, secrets: ['a', 'b', 'c'] }, 400, 'request.invalid'],
        ['PUT', '/v1/receivers/logto', { enabled: true, secrets: ['Bearer same-same-same-same', 'Bearer same-same-same-same'] }, 400, 'request.invalid'],
        ['PUT', '/v1/receivers/logto', { enabled: 'yes' }, 400, 'request.invalid'],
        ['DELETE', '/v1/receivers/auth0', undefined, 404, 'receiver.not_found'],
      ] as const;
      for (const [method, url, body, status, code] of bad) {
        const res = await t.call(method, url, { auth: tenant.auth, ...(body ? { body } : {}) });
        assert.equal(res.statusCode, status, `${method} ${url}: ${res.body}`);
        assert.equal(res.json().code, code);
        assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      }
      assert.equal((await t.call('GET', '/v1/receivers', { auth: tenant.auth })).json().items.length, 2, 'bad input changed nothing');
      // Platforms the tenant has not configured, and names that are no platform: 404.
      for (const path of [`/v1/receivers/kratos/${tenant.tenantId}`, `/v1/receivers/myspace/${tenant.tenantId}`]) {
        const res = await t.call('POST', path, { body: { to: '+14155550100', body: 'hi' } });
        assert.equal(res.statusCode, 404, res.body);
        assert.equal(typeof res.json().error, 'string');
      }
      assert.equal((await t.call('GET', `/v1/receivers/supabase/${tenant.tenantId}`)).statusCode, 404, 'only Mosaic has a GET challenge');
      const del = await t.call('DELETE', '/v1/receivers/mosaic', { auth: tenant.auth });
      assert.equal(del.statusCode, 204);
      const audit = (await t.call('GET', '/v1/audit-log', { auth: tenant.auth })).json().items.map((a: { action: string }) => a.action);
      assert.ok(audit.includes('receiver.configured') && audit.includes('receiver.deleted'));
      assert.equal((await t.call('GET', '/v1/receivers', { auth: tenant.auth })).statusCode, 200);
      assert.equal((await t.call('GET', '/v1/receivers')).statusCode, 401, 'configuration needs a key');
    });

    test('supabase: Standard Webhooks calls send the tenant template with the code; unsigned, wrongly signed, stale, replayed and malformed calls are refused in the hook’s form', async () => {
      const tenant = await t.createTenant({ app_name: 'Supa' });
      const secret = remember(new Webhook('whsec_' + Buffer.alloc(32, 3).toString('base64')) && `v1,whsec_${Buffer.alloc(32, 3).toString('base64')}`);
      const { url } = await enable(tenant, 'supabase', [secret]);
      const wh = new Webhook(secret.slice(3));
      const code = remember('739104');
      const payload = JSON.stringify({
        metadata: { uuid: randomUUID(), time: new Date(clock.now()).toISOString(), name: 'send-sms', ip_address: '198.51.100.7' },
        user: { id: randomUUID(), phone: '14155550101', aud: 'authenticated' },
        sms: { otp: code, phone: '14155550101' },
      });
      const signed = (body: string, at = new Date(clock.now()), id = `msg_${randomUUID()}`) => ({ 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': wh.sign(id, at, body) });

      const headers = signed(payload);
      const ok = await post(url, payload, headers);
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.json(), {});
      const [sent] = await inbox(tenant);
      assert.equal(sent?.to, '+14155550101');
      assert.match(sent!.body, new RegExp(`${code}`));
      assert.match(sent!.body, /Supa/, 'rendered with the tenant’s login template');
      const [logged] = await messages(tenant);
      assert.equal(logged?.body, sent!.body.replace(code, '******'), 'the code is masked in the message log');
      assert.equal(logged?.purpose, 'login');

      const refused = async (body: string, h: Record<string, string>, status: number) => {
        const res = await post(url, body, h);
        assert.equal(res.status, status, res.text);
        assert.equal(res.json().error.http_code, status);
        assert.equal(typeof res.json().error.message, 'string');
        return res;
      };
      await refused(payload, headers, 401); // replayed: the same webhook-id
      await refused(payload, {}, 401); // unsigned
      await refused(payload, { ...signed(payload), 'webhook-signature': new Webhook('whsec_' + Buffer.alloc(32, 9).toString('base64')).sign('x', new Date(clock.now()), payload) }, 401);
      await refused(payload, signed(payload, new Date(clock.now() - 6 * 60_000)), 401); // stale
      await refused(payload.replace(code, '000000'), headers, 401); // tampered
      const mfa = JSON.stringify({ user: { id: 'u', phone: '14155550102' }, sms: { otp: remember('552211'), sms_type: 'mfa' } });
      const mfaOk = await post(url, mfa, signed(mfa));
      assert.equal(mfaOk.status, 200, mfaOk.text);
      for (const body of ['{"user":{}}', 'not json', '{"user":{"phone":"1"},"sms":{}}']) await refused(body, signed(body), 400);
      // A number otpgate cannot send to is the user's problem: shown to them (a 200 carrying the error).
      const nope = JSON.stringify({ user: { phone: 'nope' }, sms: { otp: '123123' } });
      const invalid = await post(url, nope, signed(nope));
      assert.equal(invalid.status, 200, invalid.text);
      assert.equal(invalid.json().error.http_code, 400);
      assert.equal((await inbox(tenant)).length, 2, 'refused calls sent nothing');
      assert.equal((await messages(tenant)).find((m) => m.to === '+14155550102')?.purpose, 'mfa');

      // Rotation: a call signed with either active secret passes (Supabase signs with each).
      const next = remember(`v1,whsec_${Buffer.alloc(32, 4).toString('base64')}`);
      await enable(tenant, 'supabase', [secret, next]);
      const rotated = JSON.stringify({ user: { phone: '14155550103' }, sms: { otp: remember('818181') } });
      const at = new Date(clock.now());
      const id = 'msg_rotated';
      // Joined with ", " as Supabase's hookshttp.go joins them.
      const both = `${new Webhook(next.slice(3)).sign(id, at, rotated)}, ${new Webhook(secret.slice(3)).sign(id, at, rotated)}`;
      assert.equal((await post(url, rotated, { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': both })).status, 200);
      // Disabled, unknown tenant: 404 in the hook's form.
      await t.call('PUT', '/v1/receivers/supabase', { auth: tenant.auth, body: { enabled: false, secrets: [secret] } });
      await refused(rotated, signed(rotated), 404);
      await refused(rotated, signed(rotated), 404);
      const other = await post(url.replace(tenant.tenantId, 'ten_nobody'), rotated, signed(rotated));
      assert.equal(other.status, 404);
    });

    test('logto: the real @logto/connector-http-sms sends through otpgate; its type picks the template; wrong Authorization and replays fail the connector', async () => {
      const tenant = await t.createTenant({ app_name: 'Logto app' });
      const { url, secret } = await enable(tenant, 'logto');
      remember(secret!);
      assert.match(secret!, /^Bearer /);
      const reset = await t.call('PUT', '/v1/templates/password_reset/en', { auth: tenant.auth, body: { body: 'Reset {{app_name}}: {{code}}' } });
      assert.equal(reset.statusCode, 200, reset.body);
      const connector = await createHttpSmsConnector({ getConfig: async () => ({ endpoint: url, authorization: secret }) });
      const code = remember('402913');
      await connector.sendMessage({ to: '14155550111', type: 'ForgotPassword', payload: { code, locale: 'en' } });
      const [sent] = await inbox(tenant);
      assert.equal(sent?.body, `Reset Logto app: ${code}`);
      const [logged] = await messages(tenant);
      assert.equal(logged?.body, 'Reset Logto app: ******');
      assert.equal(logged?.purpose, 'password_reset');

      await connector.sendMessage({ to: '+14155550112', type: 'SignIn', payload: { code: remember('111999') } });
      assert.equal((await messages(tenant)).find((m) => m.to === '+14155550112')?.purpose, 'login');
      await assert.rejects(connector.sendMessage({ to: '14155550111', type: 'ForgotPassword', payload: { code, locale: 'en' } }), /replay/, 'a replayed body is refused');
      const wrong = await createHttpSmsConnector({ getConfig: async () => ({ endpoint: url, authorization: 'Bearer wrong-wrong-wrong-wrong' }) });
      await assert.rejects(wrong.sendMessage({ to: '14155550113', type: 'SignIn', payload: { code: remember('222333') } }), /Not authenticated/);
      const none = await createHttpSmsConnector({ getConfig: async () => ({ endpoint: url }) });
      await assert.rejects(none.sendMessage({ to: '14155550113', type: 'SignIn', payload: { code: '222334' } }), /unsigned/);
      await assert.rejects(connector.sendMessage({ to: '14155550114', type: 'OrganizationInvitation', payload: { link: 'https://x' } }), /not a passcode type/);
      const bad = await post(url, '{"to":"+14155550115","type":"SignIn"}', { authorization: secret! });
      assert.equal(bad.status, 400);
      assert.equal(bad.json().error, 'invalid_request');
      assert.equal((await inbox(tenant)).length, 2);
    });

    test('auth0: an HS256 JWT signed with jose as Auth0 does; the whole text is sent, its code masked; bad tokens and bodies refused', async () => {
      const tenant = await t.createTenant();
      const secret = remember('auth0-gateway-secret-0123456789');
      const { url } = await enable(tenant, 'auth0', [secret]);
      const key = new TextEncoder().encode(secret);
      const jwt = (o: { aud?: string; iat?: number; key?: Uint8Array } = {}) =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
          .setSubject('urn:Auth0')
          .setAudience(o.aud ?? 'urn:otpgate')
          .setIssuedAt(o.iat ?? Math.floor(clock.now() / 1000))
          .sign(o.key ?? key);
      const code = remember('58213');
      const body = JSON.stringify({ recipient: '+14155550121', body: `Your verification code is: ${code}`, sender: 'Auth0', req: { ip: '198.51.100.20', 'user-agent': 'Mozilla/5.0' } });
      const token = await jwt();
      const ok = await post(url, body, { authorization: `Bearer ${token}` });
      assert.equal(ok.status, 200, ok.text);
      const [sent] = await inbox(tenant);
      assert.equal(sent?.body, `Your verification code is: ${code}`);
      assert.equal((await messages(tenant))[0]?.body, 'Your verification code is: *****');

      const refused = async (b: string, auth: string | undefined, status: number) => {
        const res = await post(url, b, auth ? { authorization: auth } : {});
        assert.equal(res.status, status, res.text);
        assert.equal(typeof res.json().error_description, 'string');
      };
      await refused(body, `Bearer ${token}`, 401); // replay
      await refused(body, undefined, 401);
      await refused(body, `Bearer ${await jwt({ key: new TextEncoder().encode('another-secret-0123456789') })}`, 401);
      await refused(body, `Bearer ${await jwt({ aud: 'urn:someone-else' })}`, 401);
      await refused(body, `Bearer ${await jwt({ iat: Math.floor(clock.now() / 1000) - 600 })}`, 401);
      const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ aud: 'urn:otpgate', iat: Math.floor(clock.now() / 1000) })).toString('base64url')}.`;
      await refused(body, `Bearer ${none}`, 401);
      await refused('{"body":"hi"}', `Bearer ${await jwt()}`, 400);
      assert.equal((await inbox(tenant)).length, 1);
    });

    test('zitadel: the ZITADEL-Signature header as ZITADEL computes it; templateData.text is sent; args.code masked; tampered, stale and replayed refused', async () => {
      const tenant = await t.createTenant();
      const signingKey = remember('zitadel-signing-key-abcdef012345');
      const { url } = await enable(tenant, 'zitadel', [signingKey]);
      const code = remember('X7K2QP');
      const body = JSON.stringify({
        contextInfo: { eventType: 'user.human.phone.code.added', provider: { id: '285181292935381355', description: 'otpgate' }, recipientPhoneNumber: '+14155550131', senderPhoneNumber: '' },
        templateData: { title: 'ZITADEL - Verify Phone', preHeader: 'Verify Phone', subject: 'Verify Phone', greeting: 'Hello Ada,', text: `Your ZITADEL verification code is ${code}`, url: '', buttonText: '', footerText: '' },
        args: { Code: code, FirstName: 'Ada', PreferredLoginName: 'ada@example.com' },
      });
      const sign = (b: string, seconds = Math.floor(clock.now() / 1000), k: string = signingKey) => `t=${seconds},v1=${createHmac('sha256', k).update(`${seconds}.${b}`).digest('hex')}`;
      const header = sign(body);
      const ok = await post(url, body, { 'zitadel-signature': header });
      assert.equal(ok.status, 200, ok.text);
      assert.equal((await inbox(tenant))[0]?.body, `Your ZITADEL verification code is ${code}`);
      assert.equal((await messages(tenant))[0]?.body, 'Your ZITADEL verification code is ******', 'the code from args is masked');
      for (const [b, h] of [
        [body, header], // replay
        [body, undefined],
        [body.replace(code, 'AAAAAA'), header],
        [body, sign(body, Math.floor(clock.now() / 1000) - 400)],
        [body, sign(body, undefined, 'another-key-0123456789')],
        [body, 'v1=abc'],
      ] as const) {
        const res = await post(url, b, h ? { 'zitadel-signature': h } : {});
        assert.equal(res.status, 401, res.text);
        assert.equal(res.json().error, 'unauthorized');
      }
      const malformed = '{"contextInfo":{}}';
      assert.equal((await post(url, malformed, { 'zitadel-signature': sign(malformed) })).status, 400);
      assert.equal((await inbox(tenant)).length, 1);
    });

    test('kratos: the body the documented JsonNet renders, with the documented api_key auth; a stale clock does not matter, a replay does', async () => {
      const tenant = await t.createTenant();
      const { url, secret } = await enable(tenant, 'kratos');
      remember(secret!);
      const code = remember('834201');
      // What the documented JsonNet renders for a login code, as go-jsonnet prints it (keys sorted, three-space indent).
      const body = JSON.stringify({ body: `Your login code is: ${code}`, template_type: 'login_code_valid', to: '+14155550141' }, null, 3);
      const ok = await post(url, body, { authorization: `Bearer ${secret}` });
      assert.equal(ok.status, 200, ok.text);
      assert.equal((await inbox(tenant))[0]?.body, `Your login code is: ${code}`);
      assert.equal((await messages(tenant))[0]?.body, 'Your login code is: ******');
      assert.equal((await post(url, body, { authorization: `Bearer ${secret}` })).status, 401, 'replay');
      assert.equal((await post(url, body, {})).status, 401);
      assert.equal((await post(url, body, { authorization: `Bearer ${secret}x` })).status, 401);
      assert.equal((await post(url, '{"to":"+14155550141"}', { authorization: `Bearer ${secret}` })).status, 400);
      // After the replay window the same body is a new request (Kratos sends no id or time).
      clock.advance(11 * 60_000);
      assert.equal((await post(url, body, { authorization: `Bearer ${secret}` })).status, 200);
      const kept = await t.deps.store.db.selectFrom('receiver_replays').selectAll().where('tenant_id', '=', tenant.tenantId).execute();
      assert.equal(kept.length, 1, 'expired replay keys are purged');
    });

    test('mosaic: otpgate’s own CustomGateway provider (the Mosaic contract) validates against and delivers through another tenant’s receiver', async () => {
      const gateway = await t.createTenant();
      const apiKey = remember('mosaic-gateway-key-0123456789');
      const { url } = await enable(gateway, 'mosaic', [apiKey]);
      const challenge = await fetch(url, { headers: { 'x-api-key': apiKey, 'x-verification-key': 'challenge-123' } });
      assert.equal(challenge.status, 200);
      assert.deepEqual(await challenge.json(), { key: 'challenge-123' });
      assert.equal((await fetch(url, { headers: { 'x-api-key': 'wrong-key-0123456789', 'x-verification-key': 'c' } })).status, 401);

      // A Mosaic-side tenant registers otpgate as its custom gateway: the save runs the GET challenge.
      const sender = await t.createTenant();
      const reg = await t.call('PUT', '/cis/v1/tenantsmsproviders', { auth: sender.auth, body: { provider: 'CustomGateway', custom_gateway: { uri: url, api_key: apiKey } } });
      assert.equal(reg.statusCode, 200, reg.body);
      const send = await t.call('POST', '/v1/otp/send', { auth: sender.auth, body: { phone_number: '+14155550151' } });
      assert.equal(send.statusCode, 202, send.body);
      await t.drainOutbox();
      const [got] = await inbox(gateway);
      assert.equal(got?.to, '+14155550151');
      const code = /\d{6}/.exec(got!.body)?.[0];
      assert.ok(code);
      remember(code);
      assert.equal((await messages(gateway))[0]?.body, got!.body.replace(code, '******'));
      const direct = JSON.stringify({ phone_number: '+14155550152', sender_id: 'Acme', message: 'Your code is 4455' });
      assert.equal((await post(url, direct, {})).status, 401);
      assert.equal((await post(url, '{"phone_number":"+1"}', { 'x-api-key': apiKey })).status, 400);
    });

    test('receivers count like any send: budgets refuse in the platform’s form, the fraud guard’s country policy applies, stats see the sends', async () => {
      const tenant = await t.createTenant({ budget: { daily_messages: 1 }, fraud_guard: { mode: 'enforce', blocked_countries: ['GB'] } });
      const secret = remember(`v1,whsec_${Buffer.alloc(32, 5).toString('base64')}`);
      const { url } = await enable(tenant, 'supabase', [secret]);
      const wh = new Webhook(secret.slice(3));
      const call = (phone: string, otp: string) => {
        const body = JSON.stringify({ user: { phone }, sms: { otp: remember(otp), phone } });
        const id = `msg_${randomUUID()}`;
        const at = new Date(clock.now());
        return post(url, body, { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': wh.sign(id, at, body) });
      };
      // Supabase shows a refusal's http_code and message to its user only from a 200 answer.
      const gb = await call('442071234567', '100200');
      assert.equal(gb.status, 200, gb.text);
      assert.equal(gb.json().error.http_code, 403);
      assert.match(gb.json().error.message, /GB/);
      const ok = await call('14155550161', '300400');
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json(), {});
      const over = await call('14155550162', '500600');
      assert.equal(over.status, 200, over.text);
      assert.equal(over.json().error.http_code, 429);
      assert.ok(over.json().error.message.length > 0);
      assert.equal((await inbox(tenant)).length, 1);
      const stats = (await t.call('GET', '/v1/fraud-guard/stats?window=24h', { auth: tenant.auth })).json();
      // A relayed code is counted for its cost, not as a code to convert (the platform verifies it).
      const us = stats.countries.find((c: { country: string }) => c.country === 'US');
      assert.deepEqual([us?.sent, us?.segments], [0, 1]);
      assert.equal(stats.budget.day.messages, 1);
    });

    test('relayed codes are not judged by the conversion tripwires: otpgate never sees them verified', async () => {
      // The guard's defaults would block a prefix after 3 unverified codes and a new country after 2.
      const tenant = await t.createTenant({ fraud_guard: { mode: 'enforce' } });
      const secret = remember(`v1,whsec_${Buffer.alloc(32, 6).toString('base64')}`);
      const { url } = await enable(tenant, 'supabase', [secret]);
      const wh = new Webhook(secret.slice(3));
      for (let i = 0; i < 8; i++) {
        const phone = `3361234${String(10 + i * 7).padStart(4, '0')}`;
        const body = JSON.stringify({ user: { phone }, sms: { otp: remember(`7${String(i).padStart(5, '0')}`), phone } });
        const id = `msg_${randomUUID()}`;
        const at = new Date(clock.now());
        const r = await post(url, body, { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': wh.sign(id, at, body) });
        assert.equal(r.status, 200, r.text);
        assert.deepEqual(r.json(), {}, `send ${i + 1}`);
      }
      assert.equal((await inbox(tenant)).length, 8);
      const blocks = (await t.call('GET', '/v1/fraud-guard/blocks', { auth: tenant.auth })).json<{ items: unknown[] }>();
      assert.deepEqual(blocks.items, []);
    });

    test('no code or secret in the logs, in any message log or in any receiver answer', async () => {
      const text = t.logs.text();
      assert.ok(answers.length > 40);
      for (const a of answers) for (const s of sensitive) assert.ok(!a.includes(s), `an answer holds ${s.slice(0, 4)}…`);
      assert.ok(text.includes('receiver refused a call'), 'refusals are logged');
      for (const s of sensitive) assert.ok(!text.includes(s), `logs hold ${s.slice(0, 4)}…`);
      const rows = await t.deps.store.db.selectFrom('messages').select(['body_masked']).execute();
      for (const r of rows) for (const s of sensitive) assert.ok(!r.body_masked.includes(s), 'message log holds a code');
    });
  });
}

describe('docs/integrations.md', () => {
  test('shows the Kratos JsonNet as base64 exactly, the Auth0 audience, and every Logto type’s purpose', async () => {
    const { readFileSync } = await import('node:fs');
    const { KRATOS_JSONNET } = await import('../../src/receivers/kratos/index.js');
    const { AUTH0_AUDIENCE } = await import('../../src/receivers/auth0/index.js');
    const { logtoPurposes } = await import('../../src/receivers/logto/index.js');
    const doc = readFileSync(new URL('../../docs/integrations.md', import.meta.url), 'utf8');
    assert.ok(doc.includes(`body: base64://${Buffer.from(KRATOS_JSONNET).toString('base64')}`));
    assert.ok(doc.includes(KRATOS_JSONNET.trim()));
    assert.ok(doc.includes(`"audience": "${AUTH0_AUDIENCE}"`));
    for (const [type, purpose] of Object.entries(logtoPurposes)) {
      const line = doc.split('\n').find((l) => l.startsWith('| Logto') && l.includes(`\`${type}\``));
      assert.ok(line?.endsWith(`| \`${purpose}\` |`), `${type} → ${purpose}`);
    }
  });
});

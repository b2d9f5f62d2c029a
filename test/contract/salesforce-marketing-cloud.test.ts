import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSalesforceMarketingCloudProvider } from '../../src/providers/salesforce-marketing-cloud/index.js';
import { sfmcFixtures } from '../../src/providers/salesforce-marketing-cloud/fixtures.js';
import { sfmcLegacyRestBase, type SfmcConfig } from '../../src/providers/salesforce-marketing-cloud/config.js';
import { sfmcRefreshAt } from '../../src/providers/salesforce-marketing-cloud/token.js';
import type { HttpClient, HttpRequest } from '../../src/providers/http.js';
import type { ProviderErrorKind } from '../../src/providers/provider-error.js';
import { createManualClock } from '../../src/domain/clock.js';
import { startSfmcFake, type SfmcFake } from '../fakes/salesforce-marketing-cloud.js';
import { BODY, assertNothingLeaks, expectProviderError, header, makeContext, recordingHttp, sendRequest, type ManualClock, type TestContext } from './support.js';

/**
 * An HttpClient that plays SFMC for URL checks: token routes answer a token (legacy shape on
 * `/v1/requestToken`, enhanced with a fixed rest_instance_url on `/v2/token`), anything else 202.
 */
function scriptedHttp(): { http: HttpClient; seen: HttpRequest[] } {
  const seen: HttpRequest[] = [];
  const answer = (status: number, body: object) =>
    Promise.resolve({ status, headers: {}, body: JSON.stringify(body), json: () => body as unknown });
  return {
    seen,
    http: {
      request(req) {
        seen.push(req);
        if (req.url.endsWith('/v1/requestToken')) return answer(200, { accessToken: 'legacy-token', expiresIn: 3600 });
        if (req.url.endsWith('/v2/token')) {
          return answer(200, { access_token: 'tok', expires_in: 1079, rest_instance_url: 'https://tenant.rest.marketingcloudapis.com/' });
        }
        return answer(202, { tokenId: 'tid-1' });
      },
    },
  };
}

const E = sfmcFixtures.enhanced;
const L = sfmcFixtures.legacy;

describe('Salesforce Marketing Cloud adapter against the fake', () => {
  let clock: ManualClock;
  let fake: SfmcFake;
  const messages: string[] = [];
  const contexts: TestContext[] = [];

  before(async () => {
    clock = createManualClock();
    fake = await startSfmcFake({
      clientId: E.client_id,
      clientSecret: E.client_secret,
      accountIds: [Number(sfmcFixtures.enhancedWithAccount.account_id)],
      legacy: { clientId: L.client_id, clientSecret: L.client_secret },
      messageIds: [E.message_id],
      keyword: E.keyword,
      restPrefix: '/rest/',
      now: () => clock.now(),
    });
  });
  after(async () => {
    await fake.close();
    const logs = contexts.flatMap((c) => c.logs);
    assert.ok(logs.length > 0);
    assertNothingLeaks([...messages, ...logs], [E.client_secret, L.client_secret]);
  });

  /** A fresh descriptor (its own token cache) and a provider built from it. */
  function setup(cfg: Partial<SfmcConfig> = {}, opts: { timeoutMs?: number } = {}) {
    const descriptor = createSalesforceMarketingCloudProvider();
    const t = makeContext({ ...opts, clock });
    contexts.push(t);
    const config: SfmcConfig = { ...E, endpoint: fake.url, ...cfg };
    return { descriptor, config, p: descriptor.create(config, t.ctx), t };
  }
  async function failWith(kind: ProviderErrorKind, p: ReturnType<typeof setup>['p'], req = sendRequest()) {
    const err = await expectProviderError(p.send(req), kind);
    messages.push(err.message);
    return err;
  }

  it('gets an enhanced token, then sends exactly the documented request', async () => {
    const { p } = setup();
    const from = fake.requests.length;
    const result = await p.send(sendRequest());
    const [tokenReq, sendReq] = fake.requests.slice(from);
    assert.ok(tokenReq && sendReq);
    assert.equal(tokenReq.method, 'POST');
    assert.equal(tokenReq.path, '/v2/token');
    assert.equal(header(tokenReq.headers, 'content-type'), 'application/json');
    assert.deepEqual(JSON.parse(tokenReq.body), { grant_type: 'client_credentials', client_id: E.client_id, client_secret: E.client_secret });

    assert.equal(sendReq.method, 'POST');
    // rest_instance_url is `{fake}/rest/`: joined without a double or a missing slash.
    assert.equal(sendReq.path, `/rest/sms/v1/messageContact/${E.message_id}/send`);
    assert.match(header(sendReq.headers, 'authorization') ?? '', /^Bearer tok_[0-9a-f]{24}$/);
    assert.equal(header(sendReq.headers, 'content-type'), 'application/json');
    assert.deepEqual(JSON.parse(sendReq.body), {
      mobileNumbers: ['447700900123'],
      Subscribe: true,
      Resubscribe: true,
      keyword: E.keyword,
      Override: true,
      messageText: BODY,
    });
    assert.deepEqual(result, { providerMessageId: fake.sends.at(-1)?.tokenId });
  });

  it('sends account_id as a number when set', async () => {
    const { p } = setup({ account_id: sfmcFixtures.enhancedWithAccount.account_id });
    const from = fake.requests.length;
    await p.send(sendRequest());
    assert.equal((JSON.parse(fake.requests[from]?.body ?? '{}') as { account_id?: unknown }).account_id, 514009870);
  });

  it('reuses one token for three sends, and refreshes 60 s before expiry', async () => {
    const { p } = setup();
    const before = fake.tokenRequests();
    for (let i = 0; i < 3; i += 1) await p.send(sendRequest());
    assert.equal(fake.tokenRequests() - before, 1);
    clock.advance((1079 - 61) * 1000);
    await p.send(sendRequest());
    assert.equal(fake.tokenRequests() - before, 1);
    clock.advance(2000);
    await p.send(sendRequest());
    assert.equal(fake.tokenRequests() - before, 2);
  });

  it('shares the token across providers built from one descriptor, and single-flights concurrent refreshes', async () => {
    const { descriptor, config, t } = setup();
    const before = fake.tokenRequests();
    const providers = [descriptor.create(config, t.ctx), descriptor.create(config, t.ctx)];
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => providers[i % 2]?.send(sendRequest())));
    assert.equal(results.length, 6);
    assert.equal(fake.tokenRequests() - before, 1);
  });

  it('on a 401 drops the token, refreshes once and retries', async () => {
    const { p } = setup();
    await p.send(sendRequest());
    const before = fake.tokenRequests();
    const sends = fake.sends.length;
    fake.revokeTokens();
    await p.send(sendRequest());
    assert.equal(fake.tokenRequests() - before, 1);
    assert.equal(fake.sends.length - sends, 1);
  });

  it('gives up with auth when a fresh token is refused too', async () => {
    const { p } = setup();
    const before = fake.tokenRequests();
    fake.fail({ kind: 'send_error', status: 401, onPath: '/send' });
    fake.fail({ kind: 'send_error', status: 401, onPath: '/send' });
    const err = await failWith('auth', p);
    assert.equal(fake.tokenRequests() - before, 2);
    assert.equal(err.httpStatus, 401);
  });

  it('uses the legacy package route, and a non-SFMC endpoint itself as REST base (a fake serving both roles)', async () => {
    const { p } = setup({ ...L });
    const from = fake.requests.length;
    await p.send(sendRequest());
    const [tokenReq, sendReq] = fake.requests.slice(from);
    assert.equal(tokenReq?.path, '/v1/requestToken');
    assert.deepEqual(JSON.parse(tokenReq?.body ?? '{}'), { clientId: L.client_id, clientSecret: L.client_secret });
    assert.equal(sendReq?.path, `/sms/v1/messageContact/${L.message_id}/send`);
  });

  it('keeps legacy tokens for their hour', async () => {
    const { p } = setup({ ...L });
    const before = fake.tokenRequests();
    await p.send(sendRequest());
    clock.advance(3000 * 1000);
    await p.send(sendRequest());
    assert.equal(fake.tokenRequests() - before, 1);
  });

  it('maps token errors to auth, and never shares a token across different secrets', async () => {
    const good = setup();
    await good.p.send(sendRequest());
    const bad = good.descriptor.create({ ...good.config, client_secret: 'WrongSecret' }, makeContext({ clock }).ctx);
    const err = await failWith('auth', bad);
    assert.equal(err.providerCode, 'invalid_client');
    assert.match(err.message, /client id or client secret/);
    await failWith('auth', setup({ account_id: '1' }).p);
  });

  const tokenErrors: Array<[string, number]> = [
    ['unauthorized_client', 400],
    ['invalid_grant', 400],
    ['invalid_scope', 400],
    ['invalid_request', 400],
    ['invalid_client', 401],
    ['access_denied', 401],
  ];
  for (const [error, status] of tokenErrors) {
    it(`maps the OAuth token error ${error} (HTTP ${status}) to auth`, async () => {
      const { p } = setup();
      const sends = fake.sends.length;
      fake.fail({ kind: 'token_error', status, error, onPath: '/v2/token' });
      const err = await failWith('auth', p);
      assert.equal(err.providerCode, error);
      assert.equal(err.httpStatus, status);
      assert.match(err.message, /^Salesforce Marketing Cloud .* while requesting an access token$/);
      assert.equal(fake.sends.length, sends, 'nothing was sent without a token');
    });
  }

  it('maps an OAuth token error on the legacy route too', async () => {
    fake.fail({ kind: 'token_error', status: 400, error: 'invalid_grant', onPath: '/v1/requestToken' });
    assert.equal((await failWith('auth', setup({ ...L }).p)).providerCode, 'invalid_grant');
  });

  it('the fake enforces JSON on both token routes and on the send, with SFMC\'s own errors', async () => {
    const enhanced = await fetch(`${fake.url}/v2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=${E.client_id}&client_secret=${E.client_secret}`,
    });
    assert.equal(enhanced.status, 400);
    assert.equal(((await enhanced.json()) as { error: string }).error, 'invalid_request');

    const legacy = await fetch(`${fake.url}/v1/requestToken`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ clientId: L.client_id, clientSecret: L.client_secret }),
    });
    assert.equal(legacy.status, 400);
    assert.equal(((await legacy.json()) as { errorcode: number }).errorcode, 10000);

    const { p } = setup();
    await p.send(sendRequest());
    const token = /^Bearer (.+)$/.exec(header(fake.requests.at(-1)?.headers ?? {}, 'authorization') ?? '')?.[1];
    const send = await fetch(`${fake.url}/rest/sms/v1/messageContact/${E.message_id}/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: JSON.stringify({ mobileNumbers: ['447700900123'], keyword: E.keyword, Subscribe: true, Override: true, messageText: 'x' }),
    });
    assert.equal(send.status, 400);
    assert.deepEqual(await send.json(), { message: 'The request body is not valid JSON.', errorcode: 10000, documentation: '' });
  });

  it('single-flights the refresh after expiry: concurrent sends make one token request', async () => {
    const { descriptor, config, p, t } = setup();
    await p.send(sendRequest());
    clock.advance(1080 * 1000);
    const before = fake.tokenRequests();
    const sends = fake.sends.length;
    const other = descriptor.create(config, t.ctx);
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? p : other).send(sendRequest())));
    assert.equal(fake.tokenRequests() - before, 1);
    assert.equal(fake.sends.length - sends, 8);
    assert.ok(results.every((r) => typeof r.providerMessageId === 'string'));
  });

  it('maps send errors: 400 rejected, 403 auth, 429 rate_limited with Retry-After, 5xx transient', async () => {
    const { p } = setup();
    const err = await failWith('rejected', setup({ message_id: 'Tm90VmFsaWQ' }).p);
    assert.equal(err.providerCode, '10005');
    fake.fail({ kind: 'send_error', status: 403, message: 'Insufficient privileges', onPath: '/send' });
    await failWith('auth', p);
    fake.fail({ kind: 'send_error', status: 429, retryAfter: '9', onPath: '/send' });
    assert.equal((await failWith('rate_limited', p)).retryAfterMs, 9000);
    fake.fail({ kind: 'send_error', status: 500, onPath: '/send' });
    await failWith('transient', p);
    fake.fail({ kind: 'status', status: 503, body: 'down', onPath: '/v2/token' });
    await failWith('transient', setup().p);
  });

  it('the fake refuses a + in mobileNumbers and a wrong keyword', async () => {
    const err = await failWith('rejected', setup({ keyword: 'WRONG' }).p);
    assert.equal(err.providerCode, '10003');
    const { p } = setup();
    await p.send(sendRequest());
    const token = /^Bearer (.+)$/.exec(header(fake.requests.at(-1)?.headers ?? {}, 'authorization') ?? '')?.[1];
    const res = await fetch(`${fake.url}/rest/sms/v1/messageContact/${E.message_id}/send`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ mobileNumbers: ['+447700900123'], keyword: E.keyword, Subscribe: true, Override: true, messageText: 'x' }),
    });
    assert.equal(res.status, 400);
  });

  it('turns a hanging send into transient', async () => {
    const { p } = setup({}, { timeoutMs: 200 });
    fake.fail({ kind: 'hang', onPath: '/send' });
    await failWith('transient', p);
  });

  it('uses the subdomain REST host for a legacy package without an endpoint', async () => {
    const { http, seen } = scriptedHttp();
    const p = createSalesforceMarketingCloudProvider().create(L, { ...makeContext().ctx, http });
    await p.send(sendRequest());
    assert.deepEqual(
      seen.map((r) => r.url),
      [`https://${L.subdomain}.auth.marketingcloudapis.com/v1/requestToken`, `https://${L.subdomain}.rest.marketingcloudapis.com/sms/v1/messageContact/${L.message_id}/send`],
    );
  });

  it('derives a legacy REST base from an endpoint override by the documented rule, never the auth origin', async () => {
    const cases: Array<[string, string, string]> = [
      // A tenant auth host: its REST twin.
      [`https://${L.subdomain}.auth.marketingcloudapis.com`, `https://${L.subdomain}.auth.marketingcloudapis.com/v1/requestToken`, `https://${L.subdomain}.rest.marketingcloudapis.com/`],
      ['https://other-tenant.auth.marketingcloudapis.com/', 'https://other-tenant.auth.marketingcloudapis.com/v1/requestToken', 'https://other-tenant.rest.marketingcloudapis.com/'],
      // The stack-wide legacy auth host: the subdomain's REST host.
      ['https://auth.exacttargetapis.com', 'https://auth.exacttargetapis.com/v1/requestToken', `https://${L.subdomain}.rest.marketingcloudapis.com/`],
      // A proxy serving both roles under a path: the endpoint itself, path kept.
      ['https://sfmc-proxy.example.com/mc', 'https://sfmc-proxy.example.com/mc/v1/requestToken', 'https://sfmc-proxy.example.com/mc/'],
    ];
    for (const [endpoint, tokenUrl, restBase] of cases) {
      assert.equal(sfmcLegacyRestBase({ ...L, endpoint }), restBase, endpoint);
      const { http, seen } = scriptedHttp();
      await createSalesforceMarketingCloudProvider().create({ ...L, endpoint }, { ...makeContext().ctx, http }).send(sendRequest());
      assert.equal(seen[0]?.url, tokenUrl, endpoint);
      assert.equal(seen[1]?.url, `${restBase}sms/v1/messageContact/${L.message_id}/send`, endpoint);
    }
  });

  it('does not refetch on every send when expires_in is under 60 s (skew capped at half the lifetime)', async () => {
    const shortClock = createManualClock();
    const short = await startSfmcFake({
      clientId: E.client_id,
      clientSecret: E.client_secret,
      messageIds: [E.message_id],
      keyword: E.keyword,
      enhancedTtlSeconds: 30,
      now: () => shortClock.now(),
    });
    try {
      const t = makeContext({ clock: shortClock });
      contexts.push(t);
      const p = createSalesforceMarketingCloudProvider().create({ ...E, endpoint: short.url }, t.ctx);
      for (let i = 0; i < 3; i += 1) await p.send(sendRequest());
      assert.equal(short.tokenRequests(), 1);
      shortClock.advance(14_000);
      await p.send(sendRequest());
      assert.equal(short.tokenRequests(), 1, 'still inside the first half of the lifetime');
      shortClock.advance(2_000);
      await p.send(sendRequest());
      assert.equal(short.tokenRequests(), 2, 'refreshed after half the lifetime');
      assert.equal(short.sends.length, 5);
    } finally {
      await short.close();
    }
  });

  it('computes the refresh time: 60 s early, at most half the lifetime', () => {
    assert.equal(sfmcRefreshAt(0, 1079), 1_019_000);
    assert.equal(sfmcRefreshAt(0, 3600), 3_540_000);
    assert.equal(sfmcRefreshAt(0, 100), 50_000);
    assert.equal(sfmcRefreshAt(1000, 30), 16_000);
    assert.equal(sfmcRefreshAt(1000, 0), 1000);
  });

  it('uses the subdomain hosts by default', async () => {
    const { http, seen } = recordingHttp();
    const p = createSalesforceMarketingCloudProvider().create(E, { ...makeContext().ctx, http });
    await expectProviderError(p.send(sendRequest()), 'transient');
    assert.equal(seen[0]?.url, `https://${E.subdomain}.auth.marketingcloudapis.com/v2/token`);
  });
});

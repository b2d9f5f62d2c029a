import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { checkOutboundUrl, createHttpClient, guardedLookup, HttpFailure, type OutboundPolicy, type Resolver } from '../../src/providers/http.js';
import { ProviderError } from '../../src/providers/provider-error.js';
import type { ProviderContext, SmsProvider } from '../../src/providers/types.js';
import { twilioProvider } from '../../src/providers/twilio/index.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { messageBirdProvider } from '../../src/providers/messagebird/index.js';
import { messageBirdFixtures } from '../../src/providers/messagebird/fixtures.js';
import { textlocalProvider } from '../../src/providers/textlocal/index.js';
import { textlocalFixtures } from '../../src/providers/textlocal/fixtures.js';
import { instaAlertsProvider } from '../../src/providers/instaalerts/index.js';
import { instaAlertsFixtures } from '../../src/providers/instaalerts/fixtures.js';
import { createSalesforceMarketingCloudProvider } from '../../src/providers/salesforce-marketing-cloud/index.js';
import { sfmcFixtures } from '../../src/providers/salesforce-marketing-cloud/fixtures.js';
import { customGatewayProvider } from '../../src/providers/custom-gateway/index.js';
import { customGatewayFixtures } from '../../src/providers/custom-gateway/fixtures.js';
import { startFakeServer, type FakeServer } from '../fakes/fake-server.js';
import { expectProviderError, makeContext, sendRequest } from './support.js';

const production: OutboundPolicy = { allowLoopback: false };
const development: OutboundPolicy = { allowLoopback: true };

/** A resolver that answers fixed addresses for every name (what a hostile or stale DNS could answer). */
function resolvingTo(...addresses: string[]): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve = ((hostname, _options, callback) => {
    asked.push(hostname);
    const list: LookupAddress[] = addresses.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
    setImmediate(() => callback(null, list));
  }) as Resolver & { asked: string[] };
  resolve.asked = asked;
  return resolve;
}

/** Awaits a rejection with an HttpFailure of `kind`. */
async function expectHttpFailure(promise: Promise<unknown>, kind: HttpFailure['kind']): Promise<HttpFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HttpFailure, `expected an HttpFailure, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    return err;
  }
  assert.fail('expected the request to be refused');
}

describe('SSRF guard: URLs checked before any connection', () => {
  it('production refuses http, localhost, credentials and literal non-public addresses', () => {
    const refused = [
      'http://sms.example.com/send',
      'https://localhost/send',
      'https://LOCALHOST:8443/send',
      'https://api.localhost/send',
      'https://user:pass@sms.example.com/',
      'https://127.0.0.1/',
      'https://127.1/',
      'https://[::1]/',
      'https://[::ffff:127.0.0.1]/',
      'https://10.1.2.3/',
      'https://172.16.0.1/',
      'https://192.168.1.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[fd00::1]/',
      'https://[fe80::1]/',
      // IPv6 forms that reach IPv4 or tunnel: 6to4 of 10.0.0.1 and of 127.0.0.1, IPv4-compatible,
      // Teredo, NAT64 (local use).
      'https://[2002:a00:1::1]/',
      'https://[2002:7f00:1::]/',
      'https://[::10.0.0.1]/',
      'https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/',
      'https://[64:ff9b:1::a00:1]/',
      'not a url',
    ];
    for (const url of refused) assert.notEqual(checkOutboundUrl(url, production), null, url);
    assert.match(checkOutboundUrl('http://sms.example.com/', production) ?? '', /only https/);
    assert.equal(checkOutboundUrl('https://api.twilio.com/2010-04-01/', production), null);
    assert.equal(checkOutboundUrl('https://8.8.8.8/', production), null);
    // Public IPv6, a 6to4 address of a public IPv4 address, an IPv4-mapped public address.
    for (const url of ['https://[2606:4700::1111]/', 'https://[2001:4860:4860::8888]/', 'https://[2002:808:808::1]/', 'https://[::ffff:8.8.8.8]/']) {
      assert.equal(checkOutboundUrl(url, production), null, url);
    }
  });

  it('development allows http and loopback, but still no private addresses', () => {
    assert.equal(checkOutboundUrl('http://127.0.0.1:8080/', development), null);
    assert.equal(checkOutboundUrl('http://localhost:8080/', development), null);
    assert.notEqual(checkOutboundUrl('http://10.0.0.1/', development), null);
    assert.notEqual(checkOutboundUrl('http://169.254.169.254/', development), null);
    assert.notEqual(checkOutboundUrl('ftp://127.0.0.1/', development), null);
  });

  it('the client refuses http in production without connecting', async () => {
    const resolve = resolvingTo('8.8.8.8');
    const http = createHttpClient(production, { resolve });
    const err = await expectHttpFailure(http.request({ method: 'GET', url: 'http://sms.example.com/' }), 'forbidden_target');
    assert.match(err.message, /only https URLs are allowed in production/);
    assert.deepEqual(resolve.asked, [], 'not even resolved');
  });

  it('a URL refused once is refused again, with or without a query, and nothing refused is resolved', async () => {
    const resolve = resolvingTo('8.8.8.8');
    const http = createHttpClient(production, { resolve });
    for (const url of ['https://10.0.0.1/send', 'https://10.0.0.1/send', 'https://10.0.0.1/send?to=1', 'https://10.0.0.1/send?to=1', 'https://user:pw@sms.example.com/send']) {
      await expectHttpFailure(http.request({ method: 'POST', url, body: '{}' }), 'forbidden_target');
    }
    assert.deepEqual(resolve.asked, [], 'nothing refused was resolved');
  });
});

describe('SSRF guard: addresses checked after DNS resolution (guardedLookup)', () => {
  /** A TCP listener on loopback that counts connections: it must see none. */
  let listener: net.Server;
  let port: number;
  let connections = 0;

  before(async () => {
    listener = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    port = (listener.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it('refuses localhost as resolved by the system resolver in production, allows it in development', async () => {
    const lookup = (policy: OutboundPolicy, all: boolean) =>
      new Promise<{ err: Error | null; address: unknown }>((resolve) => {
        guardedLookup(policy)('localhost', { all }, (err: Error | null, address: unknown) => resolve({ err, address }));
      });
    for (const all of [false, true]) {
      const refused = await lookup(production, all);
      assert.ok(refused.err instanceof HttpFailure && refused.err.kind === 'forbidden_target', String(refused.err));
      assert.match(refused.err.message, /^localhost resolves to (127\.0\.0\.1|::1), which is not public$/);
      const allowed = await lookup(development, all);
      assert.equal(allowed.err, null);
    }
  });

  const hostile: Array<[string, string[]]> = [
    ['loopback', ['127.0.0.1']],
    ['IPv6 loopback', ['::1']],
    ['IPv4-mapped loopback', ['::ffff:127.0.0.1']],
    ['a private address', ['10.0.0.5']],
    ['the metadata address', ['169.254.169.254']],
    ['a public and a private address', ['8.8.8.8', '192.168.0.10']],
    ['a 6to4 address of a private one', ['2002:c0a8:101::1']],
    ['an IPv4-compatible loopback', ['::127.0.0.1']],
  ];
  for (const [what, addresses] of hostile) {
    it(`refuses a public-looking name that resolves to ${what}, before connecting`, async () => {
      const resolve = resolvingTo(...addresses);
      const http = createHttpClient(production, { resolve });
      const before = connections;
      const err = await expectHttpFailure(
        http.request({ method: 'POST', url: `https://sms-gateway.example.com:${port}/send`, body: '{}', timeoutMs: 2000 }),
        'forbidden_target',
      );
      assert.deepEqual(resolve.asked, ['sms-gateway.example.com']);
      assert.match(err.message, /^sms-gateway\.example\.com resolves to .*, which is not public$/);
      assert.equal(connections, before, 'no connection was made');
    });
  }

  it('the same resolver reaches loopback in development (the refusal above is the guard, not the setup)', async () => {
    const server = await startFakeServer(() => ({ status: 200, body: 'ok' }));
    try {
      const resolve = resolvingTo('127.0.0.1');
      const res = await createHttpClient(development, { resolve }).request({ method: 'GET', url: server.url.replace('127.0.0.1', 'sms-gateway.example.com') });
      assert.equal(res.status, 200);
      assert.deepEqual(resolve.asked, ['sms-gateway.example.com']);
      assert.equal(server.requests.length, 1);
    } finally {
      await server.close();
    }
  });

  it('an adapter reports the refusal as auth (a configuration fault), naming no secret', async () => {
    const http = createHttpClient(production, { resolve: resolvingTo('127.0.0.1') });
    const ctx: ProviderContext = { ...makeContext().ctx, http };
    const uri = `https://sms-gateway.example.com:${port}/otpgate`;
    const before = connections;
    const send = await expectProviderError(customGatewayProvider.create({ ...customGatewayFixtures.basic, uri }, ctx).send(sendRequest()), 'auth');
    assert.match(send.message, /^the endpoint of the gateway is not allowed: sms-gateway\.example\.com resolves to 127\.0\.0\.1, which is not public$/);
    const validate = customGatewayProvider.validate;
    assert.ok(validate);
    await expectProviderError(validate({ ...customGatewayFixtures.basic, uri }, ctx), 'auth');
    const twilio = twilioProvider.create({ ...twilioFixtures.withSenderNumber, endpoint: `https://api.twilio.example.com:${port}` }, ctx);
    assert.match((await expectProviderError(twilio.send(sendRequest()), 'auth')).message, /^the endpoint of Twilio is not allowed: /);
    assert.equal(connections, before);
  });
});

describe('Redirects are never followed', () => {
  /** Where a redirect points: it must receive nothing. */
  let target: FakeServer;
  /** Answers every request with a redirect to `target`. */
  let redirector: FakeServer;
  let redirectStatus = 302;

  before(async () => {
    target = await startFakeServer(() => ({ status: 200, body: { id: 'stolen', status: 'success', access_token: 'x' } }));
    redirector = await startFakeServer(() => ({
      status: redirectStatus,
      headers: { location: `${target.url}/stolen?key=secret-in-location` },
      body: '',
    }));
  });
  after(async () => {
    await redirector.close();
    await target.close();
  });

  it('the client returns the 3xx as is and does not follow it', async () => {
    const http = createHttpClient(development);
    for (const status of [301, 302, 303, 307, 308]) {
      redirectStatus = status;
      const res = await http.request({ method: 'POST', url: `${redirector.url}/send`, body: 'x=1' });
      assert.equal(res.status, status);
      assert.equal(res.headers['location'], `${target.url}/stolen?key=secret-in-location`);
    }
    redirectStatus = 302;
    assert.equal(target.requests.length, 0);
  });

  const adapters: Array<[string, (endpoint: string, ctx: ProviderContext) => SmsProvider]> = [
    ['Twilio', (endpoint, ctx) => twilioProvider.create({ ...twilioFixtures.withSenderNumber, endpoint }, ctx)],
    ['MessageBird', (endpoint, ctx) => messageBirdProvider.create({ ...messageBirdFixtures.alphanumeric, endpoint }, ctx)],
    ['Textlocal', (endpoint, ctx) => textlocalProvider.create({ ...textlocalFixtures.ukApiKey, endpoint }, ctx)],
    ['InstaAlerts', (endpoint, ctx) => instaAlertsProvider.create({ ...instaAlertsFixtures.plain, endpoint }, ctx)],
    ['Salesforce Marketing Cloud', (endpoint, ctx) => createSalesforceMarketingCloudProvider().create({ ...sfmcFixtures.enhanced, endpoint }, ctx)],
    ['the gateway', (endpoint, ctx) => customGatewayProvider.create({ ...customGatewayFixtures.basic, uri: `${endpoint}/otpgate` }, ctx)],
  ];
  for (const [name, build] of adapters) {
    it(`${name}: a 302 from the provider is an auth error and the redirect target gets nothing`, async () => {
      const seen = redirector.requests.length;
      const err = await expectProviderError(build(redirector.url, makeContext().ctx).send(sendRequest()), 'auth');
      assert.equal(err.httpStatus, 302);
      assert.equal(
        err.message,
        `${name} answered HTTP 302, a redirect to ${new URL(target.url).host}, which otpgate never follows: check the endpoint`,
      );
      assert.ok(!err.message.includes('secret-in-location') && !err.message.includes('/stolen'), err.message);
      assert.equal(redirector.requests.length, seen + 1, 'exactly one request, to the configured endpoint');
      assert.equal(target.requests.length, 0);
    });
  }

  it('a 307 from a custom gateway (POST-preserving) and a 301 on its challenge are refused too', async () => {
    redirectStatus = 307;
    try {
      const config = { ...customGatewayFixtures.basic, uri: `${redirector.url}/otpgate` };
      const err = await expectProviderError(customGatewayProvider.create(config, makeContext().ctx).send(sendRequest()), 'auth');
      assert.equal(err.httpStatus, 307);
      redirectStatus = 301;
      const validate = customGatewayProvider.validate;
      assert.ok(validate);
      const challenge = await expectProviderError(validate(config, makeContext().ctx), 'auth');
      assert.ok(challenge instanceof ProviderError && /redirect/.test(challenge.message));
    } finally {
      redirectStatus = 302;
    }
    assert.equal(target.requests.length, 0);
  });

  it('a redirect without a Location still fails as auth', async () => {
    const bare = await startFakeServer(() => ({ status: 302, body: '' }));
    try {
      const err = await expectProviderError(twilioProvider.create({ ...twilioFixtures.withSenderNumber, endpoint: bare.url }, makeContext().ctx).send(sendRequest()), 'auth');
      assert.equal(err.message, 'Twilio answered HTTP 302, a redirect, which otpgate never follows: check the endpoint');
    } finally {
      await bare.close();
    }
  });
});

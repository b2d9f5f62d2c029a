/**
 * The admin console in a real browser (Debian's chromium driven by playwright-core) against a
 * real otpgate started in-process, with a local custom SMS gateway on loopback.
 *
 * Skips with a message when /usr/bin/chromium is missing (apt-get install chromium) or the
 * console is not built (cd console && npm install && npm run build).
 *
 * Saves a screenshot of every page at 1280 and 390 px into docs/screenshots/<page>-<width>.png,
 * and checks at each width that the page does not scroll sideways, that nothing sticks out of
 * its card and that buttons sit level with the inputs beside them.
 *
 * A fake Twilio (test/fakes/twilio.ts) is the fallback provider and the provider with delivery
 * receipts: the tests post its signed status callbacks to /v1/callbacks/Twilio/{tenant}.
 * Every API request the console sends is recorded and checked against /openapi.json at the end.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, type Route } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import { startTwilioFake, type TwilioFake } from '../fakes/twilio.js';
import { twilioFixtures } from '../../src/providers/twilio/fixtures.js';
import { checkRequest, fetchSpec } from '../../console/scripts/check-openapi.mjs';
import { CHROMIUM, type ConsoleBrowser, fullPageScreenshot, launchConsoleBrowser, LAYOUT_PROBLEMS, recordApiRequests, settleLayout, waitForCount } from './layout.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PUBLIC_URL = 'https://otp.example.test';
const DIST_INDEX = join(root, 'console/dist/index.html');
const SHOTS = join(root, 'docs/screenshots');
const PHONE = '+14155552671';
const WIDTHS = [1280, 390] as const;
const TW = twilioFixtures.withSenderNumber;
/** What the failing gateway path answers a send with: HTTP 400 and this JSON. */
const GATEWAY_REFUSAL = { error: 'number_blocked', detail: 'the carrier refuses this route' };
const LONG_NAME = 'Internationale Telekommunikationsgesellschaftsverwaltungsabteilung für Kurznachrichten';

const skip = !existsSync(CHROMIUM)
  ? `chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the console browser tests`
  : !existsSync(DIST_INDEX)
    ? 'console/dist is not built: run `npm install && npm run build` in console/ to run the console browser tests'
    : false;
/** Evaluates a browser-side expression (a string: the test code is type-checked without DOM types). */
function inPage<T>(p: Page, expression: string): Promise<T> {
  return p.evaluate<T>(expression);
}

if (skip) console.log(`# SKIP admin console browser tests: ${skip}`);

/** A custom SMS gateway (Mosaic contract) on loopback: `/good` passes the challenge, `/bad` echoes a wrong key, `/fail` refuses every send with HTTP 400 and a JSON body. */
interface Gateway {
  url: string;
  received: { path: string; apiKey: string | undefined; body: { phone_number?: string; message?: string } }[];
  close(): Promise<void>;
}

async function startGateway(): Promise<Gateway> {
  const received: Gateway['received'] = [];
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((res, rej) => {
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (data += c));
      req.on('end', () => res(data));
      req.on('error', rej);
    });
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const apiKey = req.headers['x-api-key'] as string | undefined;
      if (req.method === 'GET') {
        const key = req.headers['x-verification-key'];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ key: path === '/bad' ? 'not-the-verification-key' : key }));
        return;
      }
      if (req.method === 'POST') {
        const raw = await readBody(req);
        received.push({ path, apiKey, body: JSON.parse(raw || '{}') as Gateway['received'][number]['body'] });
        if (path === '/fail') {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify(GATEWAY_REFUSAL));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `gw_${received.length}` }));
        return;
      }
      res.writeHead(405).end();
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('admin console in a browser', { skip }, () => {
  let otp: Awaited<ReturnType<typeof startTestServer>>;
  let gateway: Gateway;
  let twilio: TwilioFake;
  /** Every API request the console sent (checked against /openapi.json at the end). */
  const sent: { method: string; url: string; body?: unknown }[] = [];
  let context: BrowserContext;
  let page: Page;
  let browser: ConsoleBrowser | undefined;
  let tenantId = '';
  let tenantUrl = '';
  let apiKey = '';

  /** Fails with every layout problem of the page at its current width. */
  async function assertLayout(what: string, p: Page = page): Promise<void> {
    const problems = await inPage<string[]>(p, LAYOUT_PROBLEMS);
    const width = p.viewportSize()?.width;
    assert.deepEqual(problems, [], `${what} at ${width} px: layout problems`);
  }

  /** Full-page screenshots at both widths, each checked by `assertLayout`; the page is left at 1280 px. */
  async function shoot(name: string, p: Page = page): Promise<void> {
    for (const width of WIDTHS) {
      await p.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await settleLayout(p);
      await assertLayout(name, p);
      // Full-page shots: the sticky top bar would otherwise be painted mid-page.
      await fullPageScreenshot(p, join(SHOTS, `${name}-${width}.png`));
    }
    await p.setViewportSize({ width: 1280, height: 900 });
  }

  /** Waits until the API says the message is `status` (the dispatcher runs in the background). */
  async function waitForStatus(id: string, status: string, auth = otp.adminKey, tenant = tenantId): Promise<any> {
    let m: any;
    for (let i = 0; i < 100; i++) {
      m = (await apiCall('GET', `/v1/messages/${id}`, undefined, auth, tenant)).json;
      if (m?.status === status) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`message ${id} is ${m?.status}, not ${status}: ${JSON.stringify(m)}`);
  }

  /** Posts Twilio's signed status callback for a message, as Twilio would. */
  async function twilioReceipt(sid: string, status: string, tenant = tenantId): Promise<void> {
    // Signed for the URL Twilio was given (OTPGATE_PUBLIC_URL), posted to the server behind it.
    const cb = twilio.statusCallback(sid, status, { url: `${PUBLIC_URL}/v1/callbacks/Twilio/${tenant}` });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(cb.headers)) if (v !== undefined) headers[k] = v;
    const res = await fetch(`${otp.url}/v1/callbacks/Twilio/${tenant}`, { method: 'POST', headers, body: cb.rawBody });
    assert.equal(res.status, 200, await res.text());
  }

  /** The tenant's own key for /v1/otp/* (created with the admin key). */
  async function newApiKey(tenant = tenantId): Promise<string> {
    const k = await apiCall('POST', `/v1/tenants/${tenant}/api-keys`, { name: 'test run' }, otp.adminKey);
    assert.ok(k.status === 200 || k.status === 201, JSON.stringify(k.json));
    return k.json.key as string;
  }

  async function openTab(label: string): Promise<void> {
    const nav = page.getByRole('navigation', { name: 'Tenant sections' });
    await nav.getByRole('link', { name: label, exact: true }).click();
    await nav.locator('a[aria-current="page"]', { hasText: label }).waitFor();
  }

  async function apiCall(method: string, path: string, body?: unknown, auth = apiKey, tenant?: string): Promise<{ status: number; json: any }> {
    const res = await fetch(otp.url + path, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(tenant ? { 'x-tenant-id': tenant } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  }

  /** What the Content-Security-Policy blocked during the run: nothing, checked at the end. */
  const cspViolations: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    gateway = await startGateway();
    twilio = await startTwilioFake({ accountSid: TW.account_sid, authToken: TW.auth_token });
    // A public URL, as a server behind a proxy has: providers are asked for delivery receipts there.
    otp = await startTestServer({ env: { OTPGATE_PUBLIC_URL: PUBLIC_URL } });
    browser = await launchConsoleBrowser();
    ({ context, page } = browser);
    // Chromium reports each thing the Content-Security-Policy blocks as a console error.
    const watchCsp = (p: Page) => p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${p.url()}: ${m.text()}`);
    });
    watchCsp(page);
    context.on('page', watchCsp);
    recordApiRequests(context, otp.url, sent);
  });

  after(async () => {
    await browser?.close();
    await otp?.close().catch(() => undefined);
    await gateway?.close().catch(() => undefined);
    await twilio?.close().catch(() => undefined);
  });

  test('sign in with the admin key (a wrong key is refused; the key never goes in the URL)', async () => {
    await page.goto(`${otp.url}/admin/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shoot('signin');

    // Email and password is the default; the admin key is one click away.
    await page.getByRole('button', { name: 'Use an API key instead' }).click();
    await page.getByLabel('Admin key').fill('not-the-admin-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This is not the admin key').waitFor();

    await page.getByLabel('Admin key').fill(otp.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    assert.ok(!page.url().includes(otp.adminKey), 'the admin key is not in the URL');
    const stored = await inPage<{ session: string | null; local: number }>(page, `({ session: sessionStorage.getItem('otpgate.admin_key'), local: localStorage.length })`);
    assert.equal(stored.session, otp.adminKey, 'the key is kept in sessionStorage');
    assert.equal(stored.local, 0, 'nothing in localStorage');
    await page.getByText('No tenants yet').waitFor();
  });

  test('create a tenant', async () => {
    await page.getByLabel('Tenant name').fill('Acme Shop');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('heading', { name: 'Acme Shop', level: 1 }).waitFor();
    const m = /\/admin\/tenants\/([^/]+)\/provider$/.exec(new URL(page.url()).pathname);
    assert.ok(m?.[1], `lands on the tenant's provider page, got ${page.url()}`);
    tenantId = decodeURIComponent(m[1]);
    tenantUrl = `${otp.url}/admin/tenants/${encodeURIComponent(tenantId)}`;
    await page.getByRole('link', { name: 'Tenants', exact: true }).first().click();
    await page.getByRole('link', { name: 'Acme Shop' }).waitFor();
    await shoot('tenants');
  });

  test('configure a custom gateway that passes the challenge, then a test SMS is accepted', async () => {
    await page.goto(`${tenantUrl}/provider`);
    await page.getByLabel('Provider', { exact: true }).selectOption('CustomGateway');
    await page.getByLabel('Gateway URL').fill(`${gateway.url}/good`);
    await page.getByLabel('API key').fill('gw-secret-123');
    await page.getByRole('button', { name: 'Save provider' }).click();
    // Saved says what was checked: the gateway's challenge is a live check.
    await page.getByTestId('save-checks').getByText('Primary, Custom gateway: checked live — the gateway answered its challenge with the key.').waitFor();

    // Reloaded: the secret is not shown back, only marked as stored.
    await page.reload();
    await page.getByTestId('primary-api_key-stored').waitFor();
    assert.equal(await page.getByLabel('API key').inputValue(), '', 'secret fields are write-only');
    assert.equal(await page.getByLabel('Gateway URL').inputValue(), `${gateway.url}/good`);
    await shoot('provider');

    await openTab('Send test SMS');
    await page.getByLabel('Phone number').fill(PHONE);
    await page.getByRole('button', { name: 'Send test SMS' }).click();
    await page.getByText('Accepted by the provider', { exact: true }).waitFor();
    const result = page.getByTestId('test-result');
    await result.getByText('CustomGateway').waitFor();
    await result.getByText('gw_1').waitFor();
    assert.match(await result.innerText(), /\d+ ms/);
    // The delivery status: a custom gateway sends no receipts, so "sent" is final, said at once
    // (no two minutes of "watching for the delivery receipt").
    const delivery = page.getByTestId('delivery-status');
    await delivery.getByText('sent', { exact: true }).waitFor();
    await delivery.getByTestId('no-receipts').getByText('CustomGateway sends no delivery receipts').waitFor();
    assert.equal(await delivery.getAttribute('data-final'), 'true');
    assert.equal(await delivery.getByRole('status').count(), 0, 'no spinner for a provider without receipts');
    const labels = await result.locator('dt').allInnerTexts();
    assert.equal(new Set(labels).size, labels.length, `each row has its own label: ${labels.join(' | ')}`);
    assert.equal(gateway.received.length, 1, 'the gateway got the test SMS');
    assert.equal(gateway.received[0]?.apiKey, 'gw-secret-123');
    assert.equal(gateway.received[0]?.body.phone_number, PHONE);
    await shoot('test-sms');
  });

  test('a gateway that fails the challenge is refused with what came back; field errors show inline', async () => {
    await page.goto(`${tenantUrl}/provider`);
    await page.getByTestId('primary-api_key-stored').waitFor();
    await page.getByLabel('Gateway URL').fill(`${gateway.url}/bad`);
    // A stored secret is only sent where it was saved for: a new URL needs the key again.
    await page.getByTestId('primary-api_key-retype').getByText('Gateway URL changed: type it again').waitFor();
    assert.equal(await page.getByTestId('primary-api_key-stored').count(), 0, 'no "stored" badge once the URL changed');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.locator('#primary-api_key-error').getByText('type it again: Gateway URL changed').waitFor();
    await page.getByLabel('API key').fill('gw-secret-123');
    await page.getByRole('button', { name: 'Save provider' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Validation failed: nothing was saved' });
    await alert.waitFor();
    assert.match(await alert.innerText(), /not-the-verification-key/, 'shows what the gateway answered');
    await shoot('provider-error');

    // A field the server refuses is marked inline (sender_id is at most 20 characters).
    await page.getByLabel('Gateway URL').fill(`${gateway.url}/good`);
    await page.getByLabel('Sender ID (optional)').fill('x'.repeat(25));
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText('sender_id is at most 20 characters').waitFor();
    assert.equal(await page.getByLabel('Sender ID (optional)').getAttribute('aria-invalid'), 'true');

    // A client-side check: a URL that is not one.
    await page.getByLabel('Sender ID (optional)').fill('');
    await page.getByLabel('Gateway URL').fill('not a url');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText('must be a full URL').waitFor();

    // The previous (good) configuration is still the saved one.
    const res = await fetch(`${otp.url}/cis/v1/tenantsmsproviders`, { headers: { authorization: `Bearer ${otp.adminKey}`, 'x-tenant-id': tenantId } });
    const body = (await res.json()) as { provider: string; custom_gateway: { uri: string; api_key: string } };
    assert.equal(body.provider, 'CustomGateway');
    assert.equal(body.custom_gateway.uri, `${gateway.url}/good`);
    assert.equal(body.custom_gateway.api_key, '********');
  });

  test('a fallback provider: its kind’s form, required fields marked inline, saved, and back after a reload', async () => {
    await page.goto(`${tenantUrl}/provider`);
    await page.getByTestId('primary-api_key-stored').waitFor();
    const kind = page.getByLabel('Fallback provider', { exact: true });
    assert.equal(await kind.inputValue(), '', 'no fallback yet');
    await kind.selectOption('Twilio');
    const sid = page.locator('#fallback-account_sid');
    const token = page.locator('#fallback-auth_token');
    await sid.waitFor();

    // Saved empty: the required fields of the fallback kind are marked, nothing is sent.
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.locator('#fallback-account_sid-error').getByText('required').waitFor();
    await page.locator('#fallback-auth_token-error').getByText('required').waitFor();
    assert.equal(await sid.getAttribute('aria-invalid'), 'true');
    assert.equal(await token.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.locator('#primary-uri').getAttribute('aria-invalid'), null, 'the primary is fine');

    // The server's own check (exactly one sender) comes back on the field it names.
    await sid.fill(TW.account_sid);
    await token.fill(TW.auth_token);
    await page.locator('#fallback-endpoint').fill(twilio.url);
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.locator('#fallback-sender_phone_number-error').getByText('set exactly one of sender_phone_number or messaging_service_sid').waitFor();
    assert.equal(await page.locator('#fallback-sender_phone_number').getAttribute('aria-invalid'), 'true');

    await page.locator('#fallback-sender_phone_number').fill(TW.sender_phone_number);
    await page.getByRole('button', { name: 'Save provider' }).click();
    // Twilio is checked for format only on save: the console does not claim more.
    await page.getByTestId('save-checks').getByText(/^Fallback, Twilio: format checked only — otpgate has not contacted Twilio/).waitFor();

    await page.reload();
    await page.getByTestId('fallback-auth_token-stored').waitFor();
    assert.equal(await page.getByLabel('Fallback provider', { exact: true }).inputValue(), 'Twilio');
    assert.equal(await page.locator('#fallback-account_sid').inputValue(), TW.account_sid);
    assert.equal(await page.locator('#fallback-sender_phone_number').inputValue(), TW.sender_phone_number);
    assert.equal(await page.locator('#fallback-endpoint').inputValue(), twilio.url);
    assert.equal(await page.locator('#fallback-auth_token').inputValue(), '', 'the token is write-only');
    await page.getByTestId('primary-api_key-stored').waitFor();
    const saved = (await apiCall('GET', '/cis/v1/tenantsmsproviders', undefined, otp.adminKey, tenantId)).json;
    assert.equal(saved.provider, 'CustomGateway');
    assert.equal(saved.fallback?.provider, 'Twilio');
    assert.equal(saved.fallback?.twilio?.auth_token, '********');
    await shoot('provider-fallback');
  });

  test('typing a template moves the segment counter from GSM-7 to UCS-2', async () => {
    await page.goto(`${tenantUrl}/templates`);
    const body = page.getByLabel('Template text');
    await body.waitFor();
    const encoding = page.getByTestId('encoding');
    await body.fill('');
    await body.pressSequentially('Your Acme code is {{code}}', { delay: 5 });
    assert.equal(await encoding.innerText(), 'GSM-7');
    assert.equal(await page.getByTestId('segments').innerText(), '1 segment');
    assert.match(await page.getByTestId('template-preview').innerText(), /Your Acme code is 123456/);

    await body.pressSequentially(' — merci 😀', { delay: 5 });
    assert.equal(await encoding.innerText(), 'UCS-2');
    assert.match(await page.getByTestId('segment-counter').innerText(), /\/ 70 UCS-2 units/);

    // Long enough for two UCS-2 parts (67 units each).
    await body.pressSequentially(' Не сообщайте этот код никому, даже нашей службе поддержки.', { delay: 2 });
    assert.equal(await page.getByTestId('segments').innerText(), '2 segments');
    await page.getByRole('button', { name: 'Save template' }).click();
    await page.getByText('Saved: UCS-2, 2 segments').waitFor();
    await shoot('templates');
  });

  test('the sent message is in the log with its attempts', async () => {
    await page.goto(`${tenantUrl}/messages`);
    const item = page.locator('tbody.message-row').filter({ hasText: PHONE }).first();
    await item.waitFor();
    await item.getByRole('button', { name: /Show attempts \(1\)/ }).click();
    const timeline = item.getByRole('list', { name: `Attempts for the message to ${PHONE}` });
    await timeline.waitFor();
    const text = await timeline.innerText();
    assert.match(text, /Attempt 1: CustomGateway/);
    assert.match(text, /\(primary\)/);
    assert.match(text, /accepted/);
    assert.match(text, /\d+ ms/);
    assert.match(text, /Delivery/);

    // Filters: nothing has failed.
    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('No message matches these filters').waitFor();
    await page.getByLabel('Status').selectOption('');
    await item.waitFor();
    await item.getByRole('button', { name: /Show attempts/ }).click();
    await shoot('messages');
  });

  test('API keys: create (shown once), then the inbox shows a passcode sent with it, live', async () => {
    await page.goto(`${tenantUrl}/api-keys`);
    await page.getByText('No API keys').waitFor();
    await page.getByLabel('Key name (optional)').fill('backend');
    await page.getByRole('button', { name: 'Create API key' }).click();
    const shown = page.getByTestId('new-api-key');
    await shown.waitFor();
    apiKey = await shown.inputValue();
    assert.match(apiKey, /^otpg_/);
    await page.getByRole('button', { name: 'Copy key' }).waitFor();
    await page.getByRole('table', { name: 'API keys' }).getByText('backend').waitFor();
    assert.equal(await page.getByTestId('new-api-key-scopes').textContent(), 'all', 'every scope ticked by default');

    // A send-and-verify key (docs/api-keys.md): only the first scope left ticked.
    await page.getByLabel('Key name (optional)').fill('sender');
    for (const s of ['Read messages', 'Manage providers', 'Manage settings and templates', 'Manage event endpoints']) await page.getByRole('checkbox', { name: new RegExp(`^${s}`) }).uncheck();
    await page.getByRole('button', { name: 'Create API key' }).click();
    await page.getByTestId('new-api-key-scopes').getByText('otp', { exact: true }).waitFor();
    const sender = await page.getByTestId('new-api-key').inputValue();
    const row = page.getByRole('table', { name: 'API keys' }).getByRole('row').filter({ hasText: 'sender' });
    assert.equal(await row.getByRole('cell').nth(2).textContent(), 'otp');
    const refused = await fetch(`${otp.url}/cis/v1/tenantsmsproviders`, { headers: { authorization: `Bearer ${sender}` } });
    assert.equal(refused.status, 403, 'the key the console made cannot read providers');
    assert.equal(await page.getByRole('checkbox', { name: /^Manage providers/ }).isChecked(), true, 'the form is reset to every scope');
    await shoot('api-keys');

    // Switch to the Inbox provider, open the inbox, then send a passcode with the new key.
    await page.goto(`${tenantUrl}/provider`);
    await page.getByLabel('Provider', { exact: true }).selectOption('Inbox');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByTestId('save-checks').getByText(/^Primary, Inbox.*: nothing to check\.$/).waitFor();

    await openTab('Inbox');
    await page.getByText('The inbox is empty').waitFor();
    const sent = await apiCall('POST', '/v1/otp/send', { phone_number: PHONE, purpose: 'login' });
    assert.equal(sent.status, 202, JSON.stringify(sent.json));
    const code = page.locator('.inbox-item mark.code').first();
    await code.waitFor({ timeout: 10_000 }); // arrives through the 2 s refresh, no reload
    const digits = await code.innerText();
    assert.match(digits, /^\d{6}$/);
    await shoot('inbox');

    // The phone filter applies when Filter is pressed, not on the next live refresh.
    const filter = page.getByLabel('Phone number (optional)');
    const nextRefresh = page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/inbox');
    await filter.fill('+14155550000');
    await nextRefresh; // one live refresh later
    await settleLayout(page);
    assert.equal(await page.locator('.inbox-item').count(), 1, 'typing alone does not filter');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.getByText('No message to +14155550000', { exact: true }).waitFor();
    // A search by number reads a window of the tenant's newest 5,000 items; when older ones are
    // left (a next cursor), the empty state says where it looked instead of that there is none.
    const windowed = (url: URL) => url.pathname === '/v1/inbox' && url.searchParams.get('phone_number') === '+14155550001';
    await page.route(windowed, (route) => route.fulfill({ status: 200, contentType: 'application/json', json: { items: [], next_cursor: 'inb_00000000000000000000000001' } }));
    await filter.fill('+14155550001');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.getByText('No message to +14155550001 among the newest 5,000', { exact: true }).waitFor();
    await page.getByText(/looks through the newest 5,000 messages of this tenant/).waitFor();
    await page.unroute(windowed);
    await filter.fill('');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await code.waitFor();

    const verified = await apiCall('POST', '/v1/otp/verify', { challenge_id: sent.json.challenge_id, code: digits });
    assert.equal(verified.status, 200, JSON.stringify(verified.json));

    // The message log masks the code.
    await openTab('Messages');
    const otpItem = page.locator('tbody.message-row').filter({ hasText: 'passcode' }).first();
    await otpItem.waitFor();
    await otpItem.getByRole('button', { name: /^Show attempts/ }).click();
    await otpItem.locator('.message-body').waitFor();
    assert.match(await otpItem.locator('.message-body').innerText(), /\*{4,}/, 'the body is shown, masked');
    assert.ok(!(await otpItem.innerText()).includes(digits), 'the code is never shown in the message log');

    // Revoke the key.
    await openTab('API keys');
    await page.getByRole('button', { name: 'Revoke backend' }).click();
    await page.getByRole('button', { name: 'Confirm revoking backend' }).click();
    await page.getByRole('button', { name: 'Revoke sender' }).click();
    await page.getByRole('button', { name: 'Confirm revoking sender' }).click();
    await page.getByText('No API keys').waitFor();
  });

  test('why a message failed: a refused test SMS explained, and a passcode whose primary failed over to the fallback', async () => {
    // The primary gateway passes the challenge but refuses every send: HTTP 400 with a JSON body.
    await page.goto(`${tenantUrl}/provider`);
    await page.getByTestId('fallback-auth_token-stored').waitFor();
    await page.getByLabel('Provider', { exact: true }).selectOption('CustomGateway');
    await page.getByLabel('Gateway URL').fill(`${gateway.url}/fail`);
    await page.getByLabel('API key').fill('gw-secret-123');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByTestId('save-checks').getByText(/checked live/).waitFor();

    // A test SMS tries the primary only: refused, and the page says what that means.
    await openTab('Send test SMS');
    await page.getByLabel('Phone number').fill(PHONE);
    await page.getByRole('button', { name: 'Send test SMS' }).click();
    await page.getByRole('alert').getByText('CustomGateway refused the test SMS').waitFor();
    const why = await page.getByTestId('refusal-explained').innerText();
    assert.match(why, /refused this message/);
    assert.match(why, /fallback provider at once/);
    const result = page.getByTestId('test-result');
    assert.equal(await result.getByTestId('provider-code').innerText(), 'none given', 'no "— (HTTP 400)"');
    assert.equal(await result.getByTestId('http-status').innerText(), '400');
    assert.match(await result.innerText(), /rejected/);
    assert.match(await result.innerText(), /\d+ ms/);
    const raw = result.getByTestId('raw-answer');
    assert.deepEqual(JSON.parse(await raw.innerText()), GATEWAY_REFUSAL, 'the raw answer, whole');
    const rawStyle = await raw.evaluate((el) => { const cs = (globalThis as any).getComputedStyle(el); return `${cs.whiteSpace} ${cs.overflowX}`; });
    assert.equal(rawStyle, 'pre auto', 'raw JSON is a scrollable block, not wrapped mid-word');
    const labels = await result.locator('dt').allInnerTexts();
    assert.equal(new Set(labels).size, labels.length, `each row has its own label: ${labels.join(' | ')}`);
    assert.equal(await page.getByTestId('delivery-status').count(), 0, 'no delivery status for a refused message');
    await shoot('test-sms-failed');

    // A passcode: the primary refuses (rejected), the fallback (Twilio) takes it at once.
    const key = await newApiKey();
    const send = await apiCall('POST', '/v1/otp/send', { phone_number: PHONE, purpose: 'login' }, key);
    assert.equal(send.status, 202, JSON.stringify(send.json));
    const msg = await waitForStatus(send.json.message_id, 'sent');
    assert.equal(msg.provider, 'Twilio');
    const tw = twilio.messages.find((m) => m.sid === msg.provider_message_id);
    assert.ok(tw, 'the fallback Twilio account got it');
    const otpCode = /\d{4,10}/.exec(tw.body)?.[0];
    const verified = await apiCall('POST', '/v1/otp/verify', { challenge_id: send.json.challenge_id, code: otpCode }, key);
    assert.equal(verified.status, 200, JSON.stringify(verified.json));

    await openTab('Messages');
    const item = page.locator(`tbody.message-row[data-message-id="${msg.id}"]`);
    await item.getByRole('button', { name: 'Show attempts (2)' }).click();
    const first = item.getByTestId('attempt-1');
    const firstText = await first.innerText();
    assert.match(firstText, /Attempt 1: CustomGateway/);
    assert.match(firstText, /\(primary\)/);
    assert.match(firstText, /failed/);
    assert.match(firstText, /Error kind\s+rejected/);
    assert.match(firstText, /Latency\s+\d+ ms/);
    assert.equal(await first.getByTestId('provider-code').innerText(), 'none given');
    assert.equal(await first.getByTestId('http-status').innerText(), '400');
    assert.deepEqual(JSON.parse(await first.getByTestId('raw-answer').innerText()), GATEWAY_REFUSAL);
    const second = await item.getByTestId('attempt-2').innerText();
    assert.match(second, /Attempt 2: Twilio/);
    assert.match(second, /\(fallback\)/);
    assert.match(second, /accepted/);
    assert.ok(second.includes(msg.provider_message_id), 'the fallback’s message id');
    assert.equal(await item.getByTestId('attempt-2').getByTestId('provider-code').count(), 0, 'no error rows on an accepted attempt');

    // The refused test SMS is in the log as failed, with why.
    await page.getByLabel('Status').selectOption('failed');
    const failed = page.locator('tbody.message-row.status-failed').first();
    await failed.waitFor();
    await failed.getByRole('button', { name: 'Show attempts (1)' }).click();
    assert.match(await failed.innerText(), /Why it failed\s+rejected/);
    assert.equal(await failed.getByTestId('attempt-1').getByTestId('http-status').innerText(), '400');

    // Twilio's delivery receipt arrives: the open message turns delivered without a reload.
    await page.getByLabel('Status').selectOption('');
    await item.waitFor();
    if ((await item.getByTestId('attempt-1').count()) === 0) await item.getByRole('button', { name: 'Show attempts (2)' }).click();
    await item.getByTestId('delivery').getByText('sent', { exact: true }).waitFor();
    await twilioReceipt(msg.provider_message_id, 'delivered');
    await item.getByTestId('delivery').getByText('delivered', { exact: true }).waitFor();
    await item.locator('.message-summary').getByText('delivered', { exact: true }).waitFor();
    if ((await failed.getByTestId('attempt-1').count()) === 0) await page.locator('tbody.message-row.status-failed').first().getByRole('button', { name: 'Show attempts (1)' }).click();
    await shoot('messages-failed');
  });

  test('delivery status as it arrives: a Twilio receipt turns the test SMS page to delivered', async () => {
    const put = await apiCall('PUT', '/cis/v1/tenantsmsproviders', { provider: 'Twilio', twilio: { ...TW, endpoint: twilio.url }, fallback: null }, otp.adminKey, tenantId);
    assert.equal(put.status, 200, JSON.stringify(put.json));
    await page.goto(`${tenantUrl}/test-sms`);
    await page.getByLabel('Phone number').fill(PHONE);
    await page.getByRole('button', { name: 'Send test SMS' }).click();
    await page.getByText('Accepted by the provider', { exact: true }).waitFor();
    const delivery = page.getByTestId('delivery-status');
    await delivery.getByText('Watching for Twilio’s delivery receipt…').waitFor();
    await delivery.getByText('sent', { exact: true }).waitFor();
    assert.equal(await delivery.getAttribute('data-final'), 'false');
    const sid = await page.getByTestId('test-result').locator('code').first().innerText();
    assert.match(sid, /^SM[0-9a-f]{32}$/);

    await twilioReceipt(sid, 'delivered');
    await delivery.getByText('delivered', { exact: true }).waitFor(); // the next poll, within 2 s
    await delivery.getByText(/to the phone, .+, says Twilio’s delivery receipt/).waitFor();
    assert.equal(await delivery.getAttribute('data-final'), 'true');
    assert.equal(await delivery.getByRole('status').count(), 0, 'stopped watching');
    await shoot('test-sms-delivered');
  });

  test('a test SMS through the unsaved form: sent as the form has it, nothing saved, and no receipt asked for', async () => {
    const before = await apiCall('GET', '/cis/v1/tenantsmsproviders', undefined, otp.adminKey, tenantId);
    await page.goto(`${tenantUrl}/provider`);
    await page.getByTestId('primary-auth_token-stored').waitFor();
    // A sender this Twilio account does not own, typed but not saved: the test catches it.
    await page.locator('#primary-sender_phone_number').fill('+15005550009');
    const n = twilio.messages.length;
    await page.getByLabel('Test phone number').fill(PHONE);
    await page.getByRole('button', { name: 'Send a test SMS with these settings' }).click();
    const tried = page.getByTestId('provider-try-result');
    await tried.getByText('Twilio refused the test SMS', { exact: true }).waitFor();
    assert.equal(await tried.getByTestId('provider-code').innerText(), '21606');
    await shoot('provider-try-refused');

    // The saved sender again, still unsaved: accepted, and no receipt is watched for.
    await page.locator('#primary-sender_phone_number').fill(TW.sender_phone_number);
    await page.getByRole('button', { name: 'Send a test SMS with these settings' }).click();
    await tried.getByText('Accepted by the provider', { exact: true }).waitFor();
    assert.equal(twilio.messages.length, n + 1, 'one message accepted (the refused one is not recorded by Twilio)');
    assert.equal(twilio.messages.at(-1)!.statusCallback, null);
    await tried.getByTestId('no-receipts').getByText(/a test through unsaved settings asks for no delivery receipt/).waitFor();
    assert.equal(await tried.getByTestId('delivery-status').getByRole('status').count(), 0, 'not watching for a receipt that was not asked for');
    const after = await apiCall('GET', '/cis/v1/tenantsmsproviders', undefined, otp.adminKey, tenantId);
    assert.deepEqual(after.json, before.json, 'nothing saved');
  });

  test('settings are validated like the API validates them, then saved', async () => {
    await page.goto(`${tenantUrl}/settings`);
    await page.getByLabel('Code length (digits)').fill('12');
    await page.getByLabel('Allowed countries').fill('US, gb, XYZ');
    await page.getByLabel('WebOTP domain').fill('https://shop.example.com');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('must be between 4 and 10').waitFor();
    await page.getByText('not ISO 3166-1 alpha-2 codes: XYZ').waitFor();
    await page.getByText('the host name only, without https://').waitFor();

    await page.getByLabel('Code length (digits)').fill('8');
    await page.getByLabel('Allowed countries').fill('US, gb');
    await page.getByLabel('WebOTP domain').fill('shop.example.com');
    await page.getByRole('button', { name: 'Add a test number' }).click();
    await page.getByLabel('Test number 1: phone').fill('+1 415 555 2672');
    await page.getByLabel('Test number 1: code').fill('12345678');
    assert.equal(await page.getByLabel('A resend while the code is valid').inputValue(), 'same_code', 'the default shown');
    await page.getByLabel('A resend while the code is valid').selectOption('new_code');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    const res = await fetch(`${otp.url}/v1/tenants/${tenantId}`, { headers: { authorization: `Bearer ${otp.adminKey}` } });
    const t = (await res.json()) as { settings: { otp_length: number; allowed_countries: string[]; webotp_domain: string; test_numbers: { phone_number: string }[]; resend_policy: string; code_alphabet: string } };
    assert.equal(t.settings.otp_length, 8);
    assert.equal(t.settings.resend_policy, 'new_code');
    assert.equal(t.settings.code_alphabet, 'digits', 'unchanged');
    assert.deepEqual(t.settings.allowed_countries, ['US', 'GB']);
    assert.equal(t.settings.webotp_domain, 'shop.example.com');
    assert.equal(t.settings.test_numbers[0]?.phone_number, '+14155552672');
    await shoot('settings');

    // The template preview now ends with the WebOTP line and an 8-digit sample code.
    await openTab('Templates');
    await page.getByTestId('template-preview').getByText('@shop.example.com #12345678').waitFor();
  });

  test('dashboard: sends, delivery rate, verify conversion and provider latency as charts', async () => {
    await page.goto(tenantUrl);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    for (const title of ['Sends', 'Delivery rate', 'Verify conversion', 'Provider latency']) {
      await page.locator('figure.chart').filter({ hasText: title }).locator('svg[role="img"]').waitFor();
    }
    await page.getByLabel('Time window').selectOption('1h');
    await page.locator('figure.chart').first().locator('svg[role="img"]').waitFor();
    await page.getByLabel('Time window').selectOption('24h');
    await page.locator('.stat').first().waitFor();
  });

  test('dashboard counts the passcodes sent and verified; delivery rate, one-bucket lines and latency axis', async () => {
    await page.goto(tenantUrl);
    await page.locator('figure.chart svg[role="img"]').first().waitFor();
    const stats = (await apiCall('GET', '/v1/stats?window=24h', undefined, otp.adminKey, tenantId)).json as { buckets: { sends: number; sent: number; receipts_expected: number; delivered: number; challenges: number; verified: number; avg_provider_latency_ms: number | null; latency_by_provider: Record<string, number> }[] };
    const total = (f: (b: (typeof stats.buckets)[number]) => number) => stats.buckets.reduce((n, b) => n + f(b), 0);
    const messages = Number(await page.locator('.stat').filter({ hasText: 'Messages' }).locator('dd').first().innerText());
    assert.ok(messages >= 2, `the dashboard counts the passcodes sent (test SMS are not counted); got ${messages}`);
    assert.equal(messages, total((b) => b.sends));
    assert.equal(await page.locator('.stat').filter({ hasText: 'Verify conversion' }).locator('dd').first().innerText(), '100%');

    // Delivery rate: delivered of the accepted messages whose provider was asked for a receipt
    // (the Inbox's passcode is accepted, and no receipt will ever come for it), on the card and
    // on the chart alike.
    const sentN = total((b) => b.sent);
    const expectedN = total((b) => b.receipts_expected);
    const deliveredN = total((b) => b.delivered);
    assert.ok(deliveredN >= 1, 'the Twilio receipt counted');
    assert.ok(expectedN < sentN, `a message through a provider without receipts is not in the base (${expectedN} of ${sentN})`);
    const rate = `${Math.round((100 * deliveredN) / expectedN)}%`;
    const card = page.getByTestId('delivery-rate');
    assert.equal(await card.locator('dd').first().innerText(), rate);
    assert.match(await card.innerText(), new RegExp(`${deliveredN} of ${expectedN} accepted confirmed delivered by a receipt \\(${sentN - expectedN} more went through providers that send none\\)`));
    const rateChart = page.locator('figure.chart').filter({ hasText: 'Delivery rate' });
    const lastBucket = [...stats.buckets].reverse().find((b) => b.receipts_expected > 0)!;
    const deliveredLabel = rateChart.locator('g[data-series="Delivered (of accepted)"]');
    await deliveredLabel.waitFor({ state: 'attached' });
    const pointLabels = await rateChart.locator('.point-label').allTextContents();
    const expected = `${Math.round((100 * lastBucket.delivered) / lastBucket.receipts_expected)}%`;
    assert.ok(pointLabels.includes(expected), `the chart plots delivered / asked for a receipt, as the card: ${expected} in ${pointLabels.join(', ')}`);

    // Lines with data in one bucket only: a visible level segment and the value, not a lone dot.
    const verify = page.locator('figure.chart').filter({ hasText: 'Verify conversion' });
    const pathLength = await verify.locator('g.line path').first().evaluate((el) => (el as unknown as { getTotalLength(): number }).getTotalLength());
    assert.ok(pathLength >= 8, `the one-bucket line is drawn (${pathLength} px long)`);
    assert.deepEqual(await verify.locator('.point-label').allTextContents(), ['100%']);

    // Provider latency: the axis follows the data (a few ms), not a fixed 100 ms.
    const latencies = stats.buckets.flatMap((b) => [b.avg_provider_latency_ms ?? 0, ...Object.values(b.latency_by_provider ?? {})]);
    const maxMs = Math.max(...latencies);
    const latency = page.locator('figure.chart').filter({ hasText: 'Provider latency' });
    const ticks = (await latency.locator('text.axis').allTextContents()).filter((t) => t.endsWith(' ms') || t.endsWith(' s')).map((t) => (t.endsWith(' s') ? 1000 * parseFloat(t) : parseFloat(t)));
    const top = Math.max(...ticks);
    assert.ok(top >= maxMs && top <= Math.max(4, 2 * maxMs), `latency axis tops at ${top} ms for data up to ${maxMs} ms`);
    await shoot('dashboard');
  });

  test('a tenant with a long name and no receipts: the breadcrumb stays on one line; the delivery rate says "no receipts"', async () => {
    await page.goto(`${otp.url}/admin/`);
    await page.getByLabel('Tenant name').fill(LONG_NAME);
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('heading', { name: LONG_NAME, level: 1 }).waitFor();
    const id = decodeURIComponent(/\/admin\/tenants\/([^/]+)\//.exec(new URL(page.url()).pathname)?.[1] ?? '');
    assert.ok(id);
    const put = await apiCall('PUT', '/cis/v1/tenantsmsproviders', { provider: 'Inbox' }, otp.adminKey, id);
    assert.equal(put.status, 200, JSON.stringify(put.json));
    const key = await newApiKey(id);
    const sendRes = await apiCall('POST', '/v1/otp/send', { phone_number: PHONE, purpose: 'login' }, key);
    assert.equal(sendRes.status, 202, JSON.stringify(sendRes.json));
    await waitForStatus(sendRes.json.message_id, 'sent', otp.adminKey, id);

    await page.goto(`${otp.url}/admin/tenants/${encodeURIComponent(id)}`);
    const card = page.getByTestId('delivery-rate');
    await card.waitFor();
    assert.equal(await card.locator('dd').first().innerText(), 'no receipts');
    assert.match(await card.innerText(), /Inbox sends no delivery receipts/);
    await page.locator('figure.chart').filter({ hasText: 'Delivery rate' }).getByText('no receipts').waitFor();
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: 844 });
      await settleLayout(page);
      const crumb = page.getByRole('navigation', { name: 'Breadcrumb' });
      const lines = await crumb.locator('ol').evaluate((ol) => {
        const items = [...ol.children].map((li) => Math.round(li.getBoundingClientRect().top));
        return new Set(items).size;
      });
      assert.equal(lines, 1, `at ${width} px the breadcrumb is one line ("Tenants / name")`);
      const current = crumb.locator('li[aria-current="page"]');
      assert.equal(await current.getAttribute('title'), LONG_NAME, 'the full name is in its title');
      assert.ok((await current.boundingBox())!.height < 30, 'the name does not wrap');
      await assertLayout('long tenant name dashboard');
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('"Load more" that fails shows an error state with a retry (tenants, audit log)', async () => {
    // The first page claims there is more; asking for it fails.
    const fake = async (route: Route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.has('cursor')) {
        await route.fulfill({ status: 503, contentType: 'application/problem+json', json: { type: 'about:blank', title: 'Service unavailable', status: 503, code: 'store.unavailable', detail: 'The database did not answer.', request_id: 'req_test' } });
        return;
      }
      const res = await route.fetch();
      await route.fulfill({ response: res, json: { ...(await res.json()), next_cursor: 'c_more' } });
    };
    const tenantsList = (u: URL) => u.pathname === '/v1/tenants';
    await page.route(tenantsList, fake);
    try {
      await page.goto(`${otp.url}/admin/`);
      await page.getByRole('button', { name: 'Load more' }).click();
      const err = page.getByRole('alert').filter({ hasText: 'Could not load more tenants' });
      await err.waitFor();
      assert.match(await err.innerText(), /The database did not answer/);
      await err.getByRole('button', { name: 'Try again' }).waitFor();
      await page.getByRole('link', { name: 'Acme Shop' }).waitFor(); // the first page stays
    } finally {
      await page.unroute(tenantsList, fake);
    }
    const auditList = (u: URL) => u.pathname.endsWith('/audit-log');
    await page.route(auditList, fake);
    try {
      await page.goto(`${tenantUrl}/audit`);
      await page.getByRole('button', { name: 'Load older entries' }).click();
      await page.getByRole('alert').filter({ hasText: 'Could not load older entries' }).waitFor();
      await page.getByRole('table', { name: 'Audit log' }).waitFor();
    } finally {
      await page.unroute(auditList, fake);
    }
  });

  test('audit log shows every change, without secrets', async () => {
    await page.goto(`${tenantUrl}/audit`);
    const log = page.getByRole('table', { name: 'Audit log' });
    await log.waitFor();
    const text = await log.innerText();
    for (const action of ['tenant.created', 'provider.updated', 'template.updated', 'api_key.created', 'api_key.revoked', 'tenant.updated']) {
      assert.ok(text.includes(action), `audit log shows ${action}`);
    }
    assert.ok(!text.includes('gw-secret-123'), 'no secret in the audit log');
    assert.ok(!text.includes(TW.auth_token), 'no Twilio token in the audit log');
    await shoot('audit');
  });

  test('every page fits a 390 px screen: no sideways scrolling, nothing beyond its card, buttons level with inputs', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.goto(`${otp.url}/admin/`);
      await page.getByRole('link', { name: 'Acme Shop' }).waitFor();
      await assertLayout('tenants');
      for (const tab of ['dashboard', 'provider', 'test-sms', 'settings', 'templates', 'messages', 'inbox', 'api-keys', 'audit']) {
        await page.goto(tab === 'dashboard' ? tenantUrl : `${tenantUrl}/${tab}`);
        await page.locator('.tab-panel .section').first().waitFor();
        await waitForCount(page, '.tab-panel .loading', 0);
        if (tab === 'messages') {
          const show = page.getByRole('button', { name: /^Show attempts/ });
          while ((await show.count()) > 0) await show.first().click();
        }
        if (tab === 'api-keys') {
          // The key shown once: whole, in full width, wrapped rather than cut.
          await page.getByRole('button', { name: 'Create API key' }).click();
          const shown = page.getByTestId('new-api-key');
          await shown.waitFor();
          const fit = await shown.evaluate((el) => ({ sw: el.scrollWidth, cw: el.clientWidth, sh: el.scrollHeight, ch: el.clientHeight }));
          assert.ok(fit.sw <= fit.cw && fit.sh <= fit.ch, `the whole key is visible: ${JSON.stringify(fit)}`);
        }
        await settleLayout(page);
        await assertLayout(`the ${tab} tab`);
      }
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  test('the Content-Security-Policy blocked nothing the console does', () => {
    assert.deepEqual(cspViolations, []);
  });

  test('every request the console sent matches the request schemas of /openapi.json', async () => {
    const spec = await fetchSpec(otp.url);
    const problems = [...new Set(sent.flatMap((r) => checkRequest(spec, r)))];
    assert.deepEqual(problems, [], 'query parameters or body fields the server does not take');
    const routes = new Set(sent.map((r) => `${r.method} ${r.url.split('?')[0]!.replace(/\/(ten|key|msg)_[a-z0-9]+/g, '/{id}')}`));
    assert.ok(routes.size >= 15, `the run exercised many routes (${routes.size}: ${[...routes].join(', ')})`);
    assert.ok(sent.some((r) => r.method === 'PUT' && r.url === '/cis/v1/tenantsmsproviders' && (r.body as { fallback?: { provider?: string } }).fallback?.provider === 'Twilio'), 'a fallback was saved');
    assert.ok(sent.some((r) => r.url.startsWith('/v1/messages?') && r.url.includes('status=failed')), 'a filtered message query was sent');
  });

  test('sign in with the keyboard only, with a visible focus ring; sign out', async () => {
    const p = await context.newPage(); // a new tab: its sessionStorage is empty
    try {
      await p.setViewportSize({ width: 1280, height: 900 });
      await p.goto(`${otp.url}/admin/`);
      await p.getByRole('heading', { name: 'Sign in' }).waitFor();
      let onSwitch = false;
      for (let i = 0; i < 10 && !onSwitch; i++) {
        await p.keyboard.press('Tab');
        onSwitch = await inPage<boolean>(p, `document.activeElement?.textContent === 'Use an API key instead'`);
      }
      assert.ok(onSwitch, 'Tab reaches "Use an API key instead"');
      await p.keyboard.press('Enter');
      await p.getByLabel('Admin key').waitFor();
      // Back up from the switch to the key field.
      let focused = '';
      for (let i = 0; i < 10 && focused !== 'admin-key'; i++) {
        await p.keyboard.press('Shift+Tab');
        focused = await inPage<string>(p, `document.activeElement?.id ?? ''`);
      }
      assert.equal(focused, 'admin-key', 'Tab reaches the admin key field');
      const outline = await inPage<string>(p, `getComputedStyle(document.activeElement).outlineStyle`);
      assert.notEqual(outline, 'none', 'the focused field shows a focus ring');
      await p.keyboard.type(otp.adminKey);
      await p.keyboard.press('Enter');
      await p.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();

      // Tab (no .focus()) through the page to the tenant's link, then open it with Enter.
      let onLink = false;
      for (let i = 0; i < 40 && !onLink; i++) {
        await p.keyboard.press('Tab');
        onLink = await inPage<boolean>(p, `document.activeElement?.tagName === 'A' && document.activeElement.textContent === 'Acme Shop'`);
      }
      assert.ok(onLink, 'Tab reaches the tenant link');
      assert.notEqual(await inPage<string>(p, `getComputedStyle(document.activeElement).outlineStyle`), 'none', 'links show a focus ring');
      await p.keyboard.press('Enter');
      await p.getByRole('heading', { name: 'Acme Shop', level: 1 }).waitFor();
      // Focus moved to the page; Shift+Tab goes back up to Sign out in the top bar.
      let onSignOut = false;
      for (let i = 0; i < 10 && !onSignOut; i++) {
        await p.keyboard.press('Shift+Tab');
        onSignOut = await inPage<boolean>(p, `document.activeElement?.textContent === 'Sign out'`);
      }
      assert.ok(onSignOut, 'Shift+Tab reaches Sign out');
      const ring = await inPage<string>(p, `getComputedStyle(document.activeElement).outlineStyle`);
      assert.notEqual(ring, 'none', 'buttons show a focus ring');
      await p.keyboard.press('Enter');
      await p.getByRole('heading', { name: 'Sign in' }).waitFor();
      assert.equal(await inPage<string | null>(p, `sessionStorage.getItem('otpgate.admin_key')`), null, 'signing out forgets the key');
    } finally {
      await p.close();
    }
  });
});

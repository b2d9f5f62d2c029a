/**
 * The admin console in a real browser (Debian's chromium driven by playwright-core) against a
 * real otpgate started in-process, with a local custom SMS gateway on loopback.
 *
 * Skips with a message when /usr/bin/chromium is missing (apt-get install chromium) or the
 * console is not built (cd console && npm install && npm run build).
 *
 * Saves a screenshot of every page at 1280 and 390 px into docs/screenshots/<page>-<width>.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.OTPGATE_CHROMIUM ?? '/usr/bin/chromium';
const DIST_INDEX = join(root, 'console/dist/index.html');
const SHOTS = join(root, 'docs/screenshots');
const PHONE = '+14155552671';
const WIDTHS = [1280, 390] as const;

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

/** A custom SMS gateway (Mosaic contract) on loopback: `/good` passes the challenge, `/bad` echoes a wrong key. */
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
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  let tenantId = '';
  let tenantUrl = '';
  let apiKey = '';

  /** Full-page screenshots at both widths; the page is left at 1280 px. */
  async function shoot(name: string, p: Page = page): Promise<void> {
    for (const width of WIDTHS) {
      await p.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await p.waitForTimeout(250); // let the charts re-measure and the layout settle
      // Full-page shots: the sticky top bar would otherwise be painted mid-page.
      await p.screenshot({ path: join(SHOTS, `${name}-${width}.png`), fullPage: true, animations: 'disabled', style: '.topbar { position: static !important; }' });
    }
    await p.setViewportSize({ width: 1280, height: 900 });
  }

  async function openTab(label: string): Promise<void> {
    const nav = page.getByRole('navigation', { name: 'Tenant sections' });
    await nav.getByRole('link', { name: label, exact: true }).click();
    await nav.locator('a[aria-current="page"]', { hasText: label }).waitFor();
  }

  async function apiCall(method: string, path: string, body?: unknown, auth = apiKey): Promise<{ status: number; json: any }> {
    const res = await fetch(otp.url + path, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    gateway = await startGateway();
    otp = await startTestServer();
    userDataDir = mkdtempSync(join(tmpdir(), 'otpgate-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      viewport: { width: 1280, height: 900 },
      locale: 'en-US',
      timezoneId: 'UTC',
    });
    context.setDefaultTimeout(15_000);
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => console.error('# page error:', err.message));
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    await otp?.close().catch(() => undefined);
    await gateway?.close().catch(() => undefined);
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  test('sign in with the admin key (a wrong key is refused; the key never goes in the URL)', async () => {
    await page.goto(`${otp.url}/admin/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await shoot('signin');

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
    await page.getByTestId('provider-result').getByText('The provider passed validation and is saved').waitFor();

    // Reloaded: the secret is not shown back, only marked as stored.
    await page.reload();
    await page.getByTestId('primary-api_key-stored').waitFor();
    assert.equal(await page.getByLabel('API key').inputValue(), '', 'secret fields are write-only');
    assert.equal(await page.getByLabel('Gateway URL').inputValue(), `${gateway.url}/good`);
    await shoot('provider');

    await openTab('Send test SMS');
    await page.getByLabel('Phone number').fill(PHONE);
    await page.getByRole('button', { name: 'Send test SMS' }).click();
    await page.getByText('Accepted by the provider').waitFor();
    const result = page.getByTestId('test-result');
    await result.getByText('CustomGateway').waitFor();
    await result.getByText('gw_1').waitFor();
    assert.match(await result.innerText(), /\d+ ms/);
    // The delivery status is polled from the message log.
    await page.getByTestId('delivery-status').getByText('sent', { exact: true }).waitFor();
    assert.equal(gateway.received.length, 1, 'the gateway got the test SMS');
    assert.equal(gateway.received[0]?.apiKey, 'gw-secret-123');
    assert.equal(gateway.received[0]?.body.phone_number, PHONE);
    await shoot('test-sms');
  });

  test('a gateway that fails the challenge is refused with what came back; field errors show inline', async () => {
    await page.goto(`${tenantUrl}/provider`);
    await page.getByTestId('primary-api_key-stored').waitFor();
    await page.getByLabel('Gateway URL').fill(`${gateway.url}/bad`);
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
    const item = page.locator('li.message').filter({ hasText: PHONE }).first();
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
    await shoot('api-keys');

    // Switch to the Inbox provider, open the inbox, then send a passcode with the new key.
    await page.goto(`${tenantUrl}/provider`);
    await page.getByLabel('Provider', { exact: true }).selectOption('Inbox');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByTestId('provider-result').getByText('passed validation and is saved').waitFor();

    await openTab('Inbox');
    await page.getByText('The inbox is empty').waitFor();
    const sent = await apiCall('POST', '/v1/otp/send', { phone_number: PHONE, purpose: 'login' });
    assert.equal(sent.status, 202, JSON.stringify(sent.json));
    const code = page.locator('.inbox-item mark.code').first();
    await code.waitFor({ timeout: 10_000 }); // arrives through the 2 s refresh, no reload
    const digits = await code.innerText();
    assert.match(digits, /^\d{6}$/);
    await shoot('inbox');

    const verified = await apiCall('POST', '/v1/otp/verify', { challenge_id: sent.json.challenge_id, code: digits });
    assert.equal(verified.status, 200, JSON.stringify(verified.json));

    // The message log masks the code.
    await openTab('Messages');
    const otpItem = page.locator('li.message').filter({ hasText: 'passcode' }).first();
    await otpItem.waitFor();
    assert.ok(!(await otpItem.innerText()).includes(digits), 'the code is never shown in the message log');

    // Revoke the key.
    await openTab('API keys');
    await page.getByRole('button', { name: 'Revoke backend' }).click();
    await page.getByRole('button', { name: 'Confirm revoking backend' }).click();
    await page.getByText('No API keys').waitFor();
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
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    const res = await fetch(`${otp.url}/v1/tenants/${tenantId}`, { headers: { authorization: `Bearer ${otp.adminKey}` } });
    const t = (await res.json()) as { settings: { otp_length: number; allowed_countries: string[]; webotp_domain: string; test_numbers: { phone_number: string }[] } };
    assert.equal(t.settings.otp_length, 8);
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
    await shoot('dashboard');
  });

  // TODO(server): GET /v1/stats answers all-zero buckets on SQLite — `created_at / bucketMs` is a
  // REAL division there (better-sqlite3 binds JS numbers as REAL), so no row matches its bucket.
  test('dashboard counts the passcode that was sent and verified', async () => {
    await page.goto(tenantUrl);
    await page.locator('figure.chart svg[role="img"]').first().waitFor();
    const messages = Number(await page.locator('.stat').filter({ hasText: 'Messages' }).locator('dd').innerText());
    assert.ok(messages >= 1, `the dashboard counts the passcode sent (test SMS are not counted); got ${messages}`);
    assert.equal(await page.locator('.stat').filter({ hasText: 'Verify conversion' }).locator('dd').innerText(), '100%');
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
    await shoot('audit');
  });

  test('sign in with the keyboard only, with a visible focus ring; sign out', async () => {
    const p = await context.newPage(); // a new tab: its sessionStorage is empty
    try {
      await p.setViewportSize({ width: 1280, height: 900 });
      await p.goto(`${otp.url}/admin/`);
      await p.getByRole('heading', { name: 'Sign in' }).waitFor();
      let focused = '';
      for (let i = 0; i < 10 && focused !== 'admin-key'; i++) {
        await p.keyboard.press('Tab');
        focused = await inPage<string>(p, `document.activeElement?.id ?? ''`);
      }
      assert.equal(focused, 'admin-key', 'Tab reaches the admin key field');
      const outline = await inPage<string>(p, `getComputedStyle(document.activeElement).outlineStyle`);
      assert.notEqual(outline, 'none', 'the focused field shows a focus ring');
      await p.keyboard.type(otp.adminKey);
      await p.keyboard.press('Enter');
      await p.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();

      // Keyboard through to the tenant, then sign out with the keyboard.
      await p.getByRole('link', { name: 'Acme Shop' }).focus();
      await p.keyboard.press('Enter');
      await p.getByRole('heading', { name: 'Acme Shop', level: 1 }).waitFor();
      await p.getByRole('button', { name: 'Sign out' }).focus();
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

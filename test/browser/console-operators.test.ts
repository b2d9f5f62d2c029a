/**
 * Operators in the console, in a real browser (Debian's chromium driven by playwright-core)
 * against a real otpgate: sign-in with email and password, then with an authenticator code;
 * the session surviving a new tab; the Operators page of an owner; a viewer's read-only console
 * (and the server refusing its writes regardless). Screenshots of the new pages at 1280 and
 * 390 px go to docs/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { totpAt } from '../../src/domain/totp.js';
import { startTestServer } from '../helpers/server.js';
import { fullPageScreenshot, LAYOUT_PROBLEMS, settleLayout } from './layout.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.OTPGATE_CHROMIUM ?? '/usr/bin/chromium';
const DIST_INDEX = join(root, 'console/dist/index.html');
const SHOTS = join(root, 'docs/screenshots');
const WIDTHS = [1280, 390] as const;
const OWNER = { email: 'olivia.owner@example.com', password: 'a long owner passphrase' };
const VIEWER = { email: 'victor.viewer@example.com', password: 'a long viewer passphrase' };

const skip = !existsSync(CHROMIUM)
  ? `chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the console browser tests`
  : !existsSync(DIST_INDEX)
    ? 'console/dist is not built: run `npm install && npm run build` in console/ to run the console browser tests'
    : false;
if (skip) console.log(`# SKIP operator console browser tests: ${skip}`);

function inPage<T>(p: Page, expression: string): Promise<T> {
  return p.evaluate<T>(expression);
}

describe('operators in the admin console', { skip }, () => {
  let otp: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;
  let tenantId = '';

  async function shoot(name: string, p: Page): Promise<void> {
    for (const width of WIDTHS) {
      await p.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await settleLayout(p);
      const problems = await inPage<string[]>(p, LAYOUT_PROBLEMS);
      assert.deepEqual(problems, [], `${name} at ${width} px: layout problems`);
      await fullPageScreenshot(p, join(SHOTS, `${name}-${width}.png`));
    }
    await p.setViewportSize({ width: 1280, height: 900 });
  }

  async function admin(method: string, path: string, body?: unknown): Promise<any> {
    const res = await fetch(otp.url + path, { method, headers: { authorization: `Bearer ${otp.adminKey}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    assert.ok(res.status < 300, `${method} ${path}: ${res.status}`);
    return res.json();
  }

  async function newContext(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('# page error:', err.message));
    return { context, page };
  }

  async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
    await page.goto(`${otp.url}/admin/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Email').fill(who.email);
    await page.getByLabel('Password').fill(who.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    otp = await startTestServer();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'] });
    tenantId = (await admin('POST', '/v1/tenants', { name: 'Acme Shop', settings: { fraud_guard: { mode: 'off' } } })).id;
    await admin('POST', '/v1/tenants', { name: 'Globex', settings: { fraud_guard: { mode: 'off' } } });
    await admin('POST', '/v1/operators', { email: OWNER.email, role: 'owner', password: OWNER.password });
    await admin('POST', '/v1/operators', { email: VIEWER.email, role: 'viewer', password: VIEWER.password });
    await admin('POST', '/v1/operators', { email: 'tina.tenant@example.com', role: 'tenant_admin', password: 'a long tenant passphrase', tenant_ids: [tenantId] });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await otp?.close().catch(() => undefined);
  });

  test('an owner signs in with email and password, keeps the session in a new tab, and manages operators', async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, { email: OWNER.email, password: 'not the password at all' });
      await page.getByText('The email or password is not correct.').waitFor();
      await page.getByLabel('Password').fill(OWNER.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
      const who = page.getByLabel('Signed in as');
      assert.match(await who.innerText(), /olivia\.owner@example\.com\s+Owner/);
      // The session is an HttpOnly cookie: script cannot read it, and nothing is in storage.
      assert.equal(await inPage<string>(page, 'document.cookie'), '');
      assert.equal(await inPage<number>(page, 'sessionStorage.length + localStorage.length'), 0);

      const tab = await context.newPage();
      await tab.goto(`${otp.url}/admin/operators`);
      await tab.getByRole('heading', { name: 'Operators', level: 1 }).waitFor();
      await tab.close();

      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operators' }).click();
      await page.getByRole('heading', { name: 'Operators', level: 1 }).waitFor();
      await page.getByRole('table', { name: 'Operators' }).getByText(VIEWER.email).waitFor();

      // A weak password is refused with the server's reason; nothing is created.
      await page.locator('#op-email').fill('new.admin@example.com');
      await page.locator('#op-role').selectOption('admin');
      await page.locator('#op-password').fill('Password1234');
      await page.getByRole('button', { name: 'Add operator' }).click();
      await page.getByText(/The password is too weak/).waitFor();
      await page.locator('#op-password').fill('a good admin passphrase');
      await page.getByRole('button', { name: 'Add operator' }).click();
      await page.getByText('new.admin@example.com can now sign in as admin.').waitFor();
      await page.getByRole('table', { name: 'Operators' }).getByText('new.admin@example.com').waitFor();
      const listed = (await admin('GET', '/v1/operators')).items.map((o: { email: string }) => o.email);
      assert.ok(listed.includes('new.admin@example.com'));

      // The last owner cannot demote itself: the server says so and the role stays.
      await page.getByLabel(`Role of ${OWNER.email}`).selectOption('admin');
      await page.getByText(/last active owner/).waitFor();
      const me = (await admin('GET', '/v1/operators')).items.find((o: { email: string }) => o.email === OWNER.email);
      assert.equal(me.role, 'owner');
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByText(/last active owner/).waitFor();
      await shoot('operators', page);

      // Account: set up an authenticator app and turn it on with its current code.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
      await page.getByRole('heading', { name: 'Account', level: 1 }).waitFor();
      await shoot('account', page);
      await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
      const secret = (await page.getByLabel('Authenticator key').innerText()).replace(/\s+/g, '');
      assert.match(secret, /^[A-Z2-7]{32}$/);
      await shoot('account-totp-setup', page);
      await page.getByLabel('Authenticator code').fill(totpAt(secret, Date.now()));
      await page.getByRole('button', { name: 'Turn on' }).click();
      await page.getByText('The authenticator is on: sign-ins now ask for its code.').waitFor();
      assert.equal((await admin('GET', '/v1/operators')).items.find((o: { email: string }) => o.email === OWNER.email).totp_enabled, true);

      await page.getByRole('button', { name: 'Sign out', exact: true }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      // Signed out on the server too: the cookie no longer opens the console.
      await page.goto(`${otp.url}/admin/`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();

      // Now the sign-in asks for the authenticator code after the password.
      await signIn(page, OWNER);
      await page.getByRole('heading', { name: 'Two-step verification' }).waitFor();
      await shoot('signin-totp', page);
      const now = totpAt(secret, Date.now());
      await page.getByLabel('Authenticator code').fill(now === '000000' ? '111111' : '000000');
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByText('That code is not correct.').waitFor();
      // The next step's code: the one used to turn it on is spent.
      await page.getByLabel('Authenticator code').fill(totpAt(secret, Date.now() + 30_000));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    } finally {
      await context.close();
    }
  });

  test('a viewer sees no write controls, and the server refuses its writes anyway', async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, VIEWER);
      await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
      assert.equal(await page.getByRole('heading', { name: 'Create a tenant' }).count(), 0);
      assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Operators' }).count(), 0);
      await page.getByRole('link', { name: 'Acme Shop' }).click();
      await page.getByRole('heading', { name: 'Acme Shop', level: 1 }).waitFor();
      const nav = page.getByRole('navigation', { name: 'Tenant sections' });
      assert.equal(await nav.getByRole('link', { name: 'Send test SMS' }).count(), 0);
      await nav.getByRole('link', { name: 'Settings', exact: true }).click();
      await page.getByText('You are signed in as a viewer: this section is read-only.').waitFor();
      assert.equal(await inPage<boolean>(page, `document.querySelector('fieldset.readonly-panel').disabled`), true);
      await shoot('tenant-settings-viewer', page);
      // The server enforces it: the same session, with its CSRF token, cannot create a tenant.
      const refused = await inPage<{ status: number; code: string }>(
        page,
        `(async () => {
          const me = await (await fetch('/v1/auth/me')).json();
          const r = await fetch('/v1/tenants', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf_token }, body: JSON.stringify({ name: 'Not allowed' }) });
          return { status: r.status, code: (await r.json()).code };
        })()`,
      );
      assert.deepEqual(refused, { status: 403, code: 'auth.forbidden' });
    } finally {
      await context.close();
    }
  });

  test('a tenant admin sees only its tenants', async () => {
    const { context, page } = await newContext();
    try {
      await signIn(page, { email: 'tina.tenant@example.com', password: 'a long tenant passphrase' });
      await page.getByRole('heading', { name: 'Your tenants', level: 1 }).waitFor();
      const rows = await page.getByRole('table', { name: 'Tenants' }).locator('tbody tr').allInnerTexts();
      assert.equal(rows.length, 1);
      assert.match(rows[0]!, /Acme Shop/);
      await page.getByRole('link', { name: 'Acme Shop' }).click();
      const nav = page.getByRole('navigation', { name: 'Tenant sections' });
      await nav.getByRole('link', { name: 'Audit log', exact: true }).click();
      // The audit log says who acted: here the admin key that created the tenant.
      await page.getByRole('cell', { name: 'Admin key' }).first().waitFor();
    } finally {
      await context.close();
    }
  });
});

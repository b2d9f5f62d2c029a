/**
 * Single sign-on in a real browser (Debian's chromium driven by playwright-core): the console's
 * "Sign in with SSO" goes to a real OpenID provider (`oidc-provider` on 127.0.0.1), through its
 * login and consent pages, and back into the console signed in; a refused account comes back to
 * the sign-in page with the reason. Screenshots at 1280 and 390 px go to docs/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { CHROMIUM, type ConsoleBrowser, fullPageScreenshot, launchConsoleBrowser, LAYOUT_PROBLEMS, settleLayout } from './layout.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = join(root, 'docs/screenshots');
const skip = !existsSync(CHROMIUM)
  ? `chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the SSO browser tests`
  : !existsSync(join(root, 'console/dist/index.html'))
    ? 'console/dist is not built: run `npm run build:console` to run the SSO browser tests'
    : false;
if (skip) console.log(`# SKIP single sign-on browser tests: ${skip}`);

/** A port free now, so that the public URL (and the provider's redirect URI) can name it before otpgate starts. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('single sign-on in the console', { skip }, () => {
  let otp: Awaited<ReturnType<typeof startTestServer>>;
  let idp: TestOidcProvider;
  let browser: ConsoleBrowser | undefined;
  let page: Page;

  async function shoot(name: string): Promise<void> {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await settleLayout(page);
      assert.deepEqual(await page.evaluate<string[]>(LAYOUT_PROBLEMS), [], `${name} at ${width} px: layout problems`);
      await fullPageScreenshot(page, join(SHOTS, `${name}-${width}.png`));
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  /** At the provider: types the login, then agrees to share the claims (once per account). */
  async function atProvider(login: string): Promise<void> {
    await page.waitForURL((u) => u.origin === idp.issuer);
    await page.locator('input[name="login"]').fill(login);
    // Any password: the provider's development login checks none, but the form requires one.
    await page.locator('input[name="password"]').fill('any password');
    const loginPage = page.url();
    await Promise.all([page.waitForURL((u) => u.href !== loginPage), page.locator('button[type="submit"]').click()]);
    await page.waitForLoadState();
    if (new URL(page.url()).origin === idp.issuer && (await page.locator('input[name="prompt"][value="consent"]').count()) > 0) {
      await page.locator('button[type="submit"]').click();
    }
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    idp = await startOidcProvider({ redirectUri: `${publicUrl}/v1/auth/oidc/callback` });
    idp.users.set('alice', { email: 'alice@example.com', email_verified: true, groups: ['otpgate-admins'] });
    idp.users.set('eve', { email: 'eve@evil.test', email_verified: true, groups: [] });
    otp = await startTestServer({
      env: {
        OTPGATE_PORT: String(port),
        OTPGATE_PUBLIC_URL: publicUrl,
        OTPGATE_OIDC_ISSUER: idp.issuer,
        OTPGATE_OIDC_CLIENT_ID: idp.clientId,
        OTPGATE_OIDC_CLIENT_SECRET: idp.clientSecret,
        OTPGATE_OIDC_SCOPES: 'openid email groups',
        OTPGATE_OIDC_ALLOWED_DOMAINS: 'example.com',
        OTPGATE_OIDC_ROLE_MAP: 'otpgate-admins:admin',
      },
    });
    browser = await launchConsoleBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await otp?.close().catch(() => undefined);
    await idp?.close().catch(() => undefined);
  });

  test('"Sign in with SSO" goes through the provider and back into the console, signed in as the mapped role', async () => {
    await page.goto(`${otp.url}/admin/`);
    const sso = page.getByRole('link', { name: 'Sign in with SSO' });
    await sso.waitFor();
    await shoot('sign-in-sso');
    await sso.click();
    await atProvider('alice');
    await page.waitForURL((u) => u.origin === otp.url && u.pathname === '/admin/');
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    const me = await page.evaluate<{ role: string; operator: { email: string } }>("fetch('/v1/auth/me').then((r) => r.json())");
    assert.equal(me.operator.email, 'alice@example.com');
    assert.equal(me.role, 'admin');
    // The session cookie is HttpOnly: the page cannot read it.
    assert.equal(await page.evaluate<string>('document.cookie'), '');
  });

  test('a refused account comes back to the sign-in page with the reason, and is not signed in', async () => {
    await browser!.context.clearCookies();
    await page.goto(`${otp.url}/admin/`);
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    await atProvider('eve');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /may not sign in to this console/);
    assert.equal(new URL(page.url()).search, '', 'the error code is dropped from the address');
    assert.equal((await page.evaluate<{ status: number }>("fetch('/v1/auth/me').then((r) => ({ status: r.status }))")).status, 401);
    await shoot('sign-in-sso-refused');
  });
});

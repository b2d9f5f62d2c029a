/**
 * The Content-Security-Policy in a real browser: the console (signed in, across its pages), the
 * API reference (Swagger UI) and the error pages render with no CSP violation, and the policy
 * does block what it should (an inline handler, a script of another origin, being framed).
 *
 * Skips with a message when /usr/bin/chromium is missing or the console is not built.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import { CHROMIUM, type ConsoleBrowser, launchConsoleBrowser, signInWithAdminKey } from './layout.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const skip = !existsSync(CHROMIUM)
  ? `chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the CSP browser tests`
  : !existsSync(join(root, 'console/dist/index.html'))
    ? 'console/dist is not built: run `npm run build:console` to run the CSP browser tests'
    : false;
if (skip) console.log(`# SKIP CSP browser tests: ${skip}`);

/**
 * Records every CSP violation the page reports (the `securitypolicyviolation` event, which
 * the browser fires for each blocked load, inline script, style or frame) into `window`.
 */
const RECORD_VIOLATIONS = `
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || ''));
  });
`;

describe('the CSP in a real browser', { skip }, () => {
  let otp: Awaited<ReturnType<typeof startTestServer>>;
  let context: BrowserContext;
  let page: Page;
  let browser: ConsoleBrowser | undefined;
  const consoleMessages: string[] = [];
  const violations = (p: Page) => p.evaluate<string[]>('window.__csp');

  before(async () => {
    otp = await startTestServer();
    browser = await launchConsoleBrowser({ timeoutMs: 20_000 });
    ({ context, page } = browser);
    await context.addInitScript(RECORD_VIOLATIONS);
    page.on('console', (m) => {
      if (m.type() === 'error') consoleMessages.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await otp?.close().catch(() => undefined);
  });

  test('the console: the sign-in page, then signed in, create a tenant, open its pages: no violation', async () => {
    await signInWithAdminKey(page, `${otp.url}/admin/`, otp.adminKey);
    await page.getByLabel('Tenant name').fill('Acme Shop');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('heading', { name: 'Acme Shop', level: 1 }).waitFor();
    const base = new URL(page.url()).pathname.replace(/\/provider$/, '');
    for (const sub of ['dashboard', 'provider', 'test-sms', 'templates', 'messages', 'inbox', 'api-keys', 'fraud-guard', 'settings', 'audit']) {
      await page.goto(`${otp.url}${base}/${sub}`);
      await page.getByRole('heading', { name: 'Acme Shop', level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      assert.deepEqual(await violations(page), [], `${sub}: CSP violations`);
    }
    assert.deepEqual(consoleMessages.filter((m) => /Content Security Policy/i.test(m)), []);
  });

  test('the API reference (Swagger UI) renders its operations: no violation', async () => {
    await page.goto(`${otp.url}/docs`);
    await page.locator('.opblock-summary-path', { hasText: '/v1/otp/send' }).first().waitFor();
    await page.waitForLoadState('networkidle');
    assert.deepEqual(await violations(page), []);
  });

  test('an error page (the type of a problem) renders with its style: no violation', async () => {
    await page.goto(`${otp.url}/errors/otp.invalid`);
    await page.getByRole('heading', { name: 'otp.invalid' }).waitFor();
    const font = await page.evaluate<string>("getComputedStyle(document.body).fontFamily");
    assert.match(font, /system-ui/, 'the page style applied (allowed by its hash)');
    assert.deepEqual(await violations(page), []);
  });

  test('the policy blocks what it should: an inline handler, a script from another origin, being framed', async () => {
    await page.goto(`${otp.url}/admin/`);
    await page.locator('#root *').first().waitFor();
    await page.evaluate(`(() => {
      window.__ran = false;
      document.body.insertAdjacentHTML('beforeend', '<img src="data:," onerror="window.__ran = true">');
      const s = document.createElement('script');
      s.src = 'http://127.0.0.2:9/evil.js';
      document.body.appendChild(s);
    })()`);
    await page.waitForFunction(() => ((globalThis as unknown as { __csp: string[] }).__csp.length >= 2));
    const seen = (await violations(page)).join('\n');
    assert.match(seen, /script-src-attr/);
    assert.match(seen, /script-src(-elem)? http:\/\/127\.0\.0\.2:9\/evil\.js/);
    assert.equal(await page.evaluate<boolean>('window.__ran'), false, 'the inline handler did not run');

    // Framed by another origin (localhost vs 127.0.0.1): frame-ancestors 'none' refuses it, and
    // the frame shows the browser's error page instead of the console.
    const framer = await context.newPage();
    const framed = `${otp.url.replace('127.0.0.1', 'localhost')}/admin/`;
    await framer.route('http://framer.test/', (r) => r.fulfill({ contentType: 'text/html', body: `<iframe src="${framed}"></iframe>` }));
    await framer.goto('http://framer.test/', { waitUntil: 'load' });
    const frame = framer.frames().find((f) => f !== framer.mainFrame());
    assert.ok(frame, 'the frame exists');
    assert.match(frame.url(), /^chrome-error:/, 'the browser refused to render the console inside a frame');
    assert.equal(await frame.locator('#root').count(), 0);
    await framer.close();
  });
});

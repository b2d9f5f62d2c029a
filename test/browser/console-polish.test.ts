/**
 * Console features operators expect, in a real browser (Debian's chromium driven by
 * playwright-core) against a real otpgate: tenant search and delete (after typing the name),
 * copy buttons for ids and the Inbox code (read back from the clipboard), confirmations before a
 * template is removed or edited text is thrown away, the list of saved templates, dark mode, and
 * axe-core on every page in light and dark mode (no serious or critical violation).
 *
 * Skips with a message when /usr/bin/chromium is missing (apt-get install chromium) or the
 * console is not built (npm run build:console). Saves docs/screenshots/<page>-{1280,390}.png of
 * the new states and dark-<page>-{1280,390}.png, each checked for layout problems.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import { checkRequest, fetchSpec } from '../../console/scripts/check-openapi.mjs';
import { CHROMIUM, type ConsoleBrowser, fullPageScreenshot, launchConsoleBrowser, LAYOUT_PROBLEMS, recordApiRequests, settleLayout, signInWithAdminKey, waitForCount } from './layout.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST_INDEX = join(root, 'console/dist/index.html');
const AXE = join(root, 'node_modules/axe-core/axe.min.js');
const SHOTS = join(root, 'docs/screenshots');
const WIDTHS = [1280, 390] as const;
const PHONE = '+14155552671';

const skip = !existsSync(CHROMIUM)
  ? `chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the console browser tests`
  : !existsSync(DIST_INDEX)
    ? 'console/dist is not built: run `npm run build:console` to run the console browser tests'
    : !existsSync(AXE)
      ? 'axe-core is not installed: run `npm install`'
      : false;
if (skip) console.log(`# SKIP console polish browser tests: ${skip}`);

/** Evaluates a browser-side expression (a string: the test code is type-checked without DOM types). */
function inPage<T>(p: Page, expression: string): Promise<T> {
  return p.evaluate<T>(expression);
}

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

describe('console polish in a browser', { skip }, () => {
  let otp: Awaited<ReturnType<typeof startTestServer>>;
  let context: BrowserContext;
  let page: Page;
  let browser: ConsoleBrowser | undefined;
  const sent: { method: string; url: string; body?: unknown }[] = [];
  /** name → id of the tenants made through the API. */
  const tenants: Record<string, string> = {};
  let apiKey = '';
  const mainName = 'Acme Shop';
  const url = (path: string) => `${otp.url}/admin${path}`;
  const tenantUrl = (name: string, tab = '') => url(`/tenants/${encodeURIComponent(tenants[name]!)}${tab ? `/${tab}` : ''}`);

  async function api(method: string, path: string, body?: unknown, auth = otp.adminKey, tenant?: string): Promise<{ status: number; json: any }> {
    const res = await fetch(otp.url + path, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(tenant ? { 'x-tenant-id': tenant } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  }

  async function assertLayout(what: string): Promise<void> {
    const problems = await inPage<string[]>(page, LAYOUT_PROBLEMS);
    assert.deepEqual(problems, [], `${what} at ${page.viewportSize()?.width} px: layout problems`);
  }

  /** Full-page screenshots at both widths, each checked for layout problems; the page is left at 1280 px. */
  async function shoot(name: string, { fullPage = true } = {}): Promise<void> {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await settleLayout(page);
      await assertLayout(name);
      // A modal dialog is shot as the screen shows it: its backdrop covers the viewport, not the page.
      if (fullPage) await fullPageScreenshot(page, join(SHOTS, `${name}-${width}.png`));
      else await page.screenshot({ path: join(SHOTS, `${name}-${width}.png`), animations: 'disabled' });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  /** Serious and critical axe-core violations of the page as it is now. */
  async function axeViolations(): Promise<AxeViolation[]> {
    // Evaluated by the debugger protocol, which a Content-Security-Policy does not govern (a <script> tag would be).
    if (!(await inPage<boolean>(page, `typeof window.axe === 'object'`))) await inPage(page, readFileSync(AXE, 'utf8'));
    return inPage<AxeViolation[]>(
      page,
      `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ': ' + n.failureSummary.replace(/\\s+/g, ' ').slice(0, 200)) })))`,
    );
  }

  async function openTab(label: string): Promise<void> {
    const nav = page.getByRole('navigation', { name: 'Tenant sections' });
    await nav.getByRole('link', { name: label, exact: true }).click();
    await nav.locator('a[aria-current="page"]', { hasText: label }).waitFor();
  }

  /** Waits until nothing on the page is loading. */
  async function settled(): Promise<void> {
    await waitForCount(page, '.loading', 0);
  }

  async function clipboard(): Promise<string> {
    return inPage<string>(page, 'navigator.clipboard.readText()');
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    otp = await startTestServer();
    for (const name of [mainName, 'Acme Bank', 'Globex', 'Initech Payroll']) {
      const t = await api('POST', '/v1/tenants', { name });
      assert.equal(t.status, 201, JSON.stringify(t.json));
      tenants[name] = t.json.id;
    }
    const main = tenants[mainName]!;
    const key = await api('POST', `/v1/tenants/${main}/api-keys`, { name: 'backend' });
    assert.equal(key.status, 201, JSON.stringify(key.json));
    apiKey = key.json.key;
    const provider = await api('PUT', '/cis/v1/tenantsmsproviders', { provider: 'Inbox' }, otp.adminKey, main);
    assert.equal(provider.status, 200, JSON.stringify(provider.json));
    const otpSend = await api('POST', '/v1/otp/send', { phone_number: PHONE, purpose: 'login' }, apiKey);
    assert.equal(otpSend.status, 202, JSON.stringify(otpSend.json));
    const tpl = await api('PUT', '/v1/templates/mfa/fr', { body: 'Votre code {{app_name}} : {{code}}' }, otp.adminKey, main);
    assert.equal(tpl.status, 200, JSON.stringify(tpl.json));

    browser = await launchConsoleBrowser({ colorScheme: 'light' });
    ({ context, page } = browser);
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: otp.url });
    recordApiRequests(context, otp.url, sent);

    await signInWithAdminKey(page, url('/'), otp.adminKey);
  });

  after(async () => {
    await browser?.close();
    await otp?.close().catch(() => undefined);
  });

  const rowNames = () => page.getByRole('table', { name: 'Tenants' }).locator('tbody tr td:first-child').allInnerTexts();

  test('tenant search: by name (any case) or id start, asked of the server; no match says so', async () => {
    await page.goto(url('/'));
    await page.getByRole('link', { name: 'Globex' }).waitFor();
    assert.equal((await rowNames()).length, 4);
    const search = page.getByRole('searchbox', { name: 'Search by name or id' });

    await search.fill('ACME');
    await waitForCount(page, 'table[aria-label="Tenants"] tbody tr', 2);
    assert.deepEqual((await rowNames()).sort(), ['Acme Bank', 'Acme Shop']);
    await page.getByRole('status').filter({ hasText: '2 tenants match ACME' }).waitFor();
    assert.ok(sent.some((r) => r.url === '/v1/tenants?limit=50&q=ACME'), 'the server filters');
    await shoot('tenants-search');

    const globex = tenants['Globex']!;
    await search.fill(globex.slice(0, -3));
    await waitForCount(page, 'table[aria-label="Tenants"] tbody tr', 1);
    assert.deepEqual(await rowNames(), ['Globex']);

    await search.fill('no such tenant');
    await page.getByText('No tenant matches').waitFor();
    await search.fill('');
    await waitForCount(page, 'table[aria-label="Tenants"] tbody tr', 4);
  });

  test('copy buttons put the exact id on the clipboard, show "Copied" and announce it', async () => {
    await page.goto(url('/'));
    const globex = tenants['Globex']!;
    const copy = page.getByRole('button', { name: 'Copy id of Globex' });
    await copy.click();
    await copy.getByText('Copied').waitFor();
    assert.equal(await clipboard(), globex);
    await page.getByRole('status').filter({ hasText: 'Copied the id of Globex to the clipboard' }).waitFor();
    await copy.getByText('Copy', { exact: true }).waitFor({ timeout: 5_000 }); // back to its name after a moment

    await page.goto(tenantUrl(mainName));
    await page.getByRole('heading', { name: mainName, level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Copy tenant id' }).click();
    assert.equal(await clipboard(), tenants[mainName]);

    // The message log: every message's id.
    await openTab('Messages');
    const messages = await api('GET', '/v1/messages', undefined, otp.adminKey, tenants[mainName]);
    const messageId = messages.json.items[0].id as string;
    // The id is in the message's details.
    await page.locator(`tbody.message-row[data-message-id="${messageId}"]`).getByRole('button', { name: /^Show attempts/ }).click();
    await page.getByRole('button', { name: 'Copy message id' }).first().click();
    assert.equal(await clipboard(), messageId);

    // The API keys: each key id.
    await openTab('API keys');
    const keys = await api('GET', `/v1/tenants/${tenants[mainName]}/api-keys`);
    await page.getByRole('button', { name: 'Copy id of key backend' }).click();
    assert.equal(await clipboard(), keys.json.items[0].id);
  });

  test('the Inbox code has a copy button that copies the code alone', async () => {
    await page.goto(tenantUrl(mainName, 'inbox'));
    const inbox = await api('GET', '/v1/inbox', undefined, otp.adminKey, tenants[mainName]);
    const code = /\b(\d{6})\b/.exec(inbox.json.items[0].body as string)?.[1];
    assert.ok(code, 'the inbox holds the passcode');
    const copy = page.getByRole('button', { name: `Copy code sent to ${PHONE}` });
    await copy.click();
    await copy.getByText('Copied').waitFor();
    assert.equal(await clipboard(), code);
    await shoot('inbox-copied');
  });

  test('templates: the saved ones are listed and open their editor; edited text is not lost without asking', async () => {
    await page.goto(tenantUrl(mainName, 'templates'));
    await settled();
    const list = page.getByRole('list', { name: 'Saved templates' });
    await list.getByRole('link', { name: /mfa · fr/ }).waitFor();
    assert.equal(await list.getByRole('listitem').count(), 1);

    // Saving a new one adds it to the list.
    const text = page.getByLabel('Template text');
    await text.fill('Your {{app_name}} login code: {{code}}');
    await page.getByRole('button', { name: 'Save template' }).click();
    await page.getByText('Saved: GSM-7').waitFor();
    await list.getByRole('link', { name: /login · en/ }).waitFor();
    assert.equal(await list.getByRole('listitem').count(), 2);

    // Editing, then opening another template asks first; "Cancel" keeps the text and the template.
    await text.fill('Your {{app_name}} code is {{code}} — unsaved');
    await list.getByRole('link', { name: /mfa · fr/ }).click();
    const dialog = page.getByRole('dialog', { name: 'Discard your changes?' });
    await dialog.waitFor();
    await shoot('templates-discard-dialog', { fullPage: false });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await text.inputValue(), 'Your {{app_name}} code is {{code}} — unsaved');
    assert.equal(await page.getByLabel('Purpose', { exact: true }).inputValue(), 'login');

    // Changing the purpose asks too; Escape is a cancel.
    await page.getByLabel('Purpose', { exact: true }).selectOption('verification');
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.getByLabel('Purpose', { exact: true }).inputValue(), 'login');
    assert.equal(await text.inputValue(), 'Your {{app_name}} code is {{code}} — unsaved');

    // Leaving the tab asks with the browser's own question; refusing stays.
    const refuseNextQuestion = () => new Promise<string>((resolve) => page.once('dialog', (d) => void d.dismiss().then(() => resolve(d.message()))));
    const here = page.url();
    let asked = refuseNextQuestion();
    await page.getByRole('navigation', { name: 'Tenant sections' }).getByRole('link', { name: 'Settings', exact: true }).click();
    assert.match(await asked, /unsaved|discard|leave/i);
    assert.equal(page.url(), here);
    assert.equal(await text.inputValue(), 'Your {{app_name}} code is {{code}} — unsaved');

    // So does the browser's Back button: refusing keeps the text, and the address comes back.
    asked = refuseNextQuestion();
    await page.evaluate('history.back()');
    await asked;
    await page.waitForFunction((url) => (globalThis as unknown as { location: { href: string } }).location.href === url, here);
    assert.equal(await text.inputValue(), 'Your {{app_name}} code is {{code}} — unsaved');
    await page.getByRole('heading', { name: 'Login · en' }).waitFor();

    // Agreeing opens the other template in the editor.
    await list.getByRole('link', { name: /mfa · fr/ }).click();
    await dialog.getByRole('button', { name: 'Discard changes' }).click();
    await page.getByRole('heading', { name: 'Multi-factor (MFA) · fr' }).waitFor();
    assert.equal(await text.inputValue(), 'Votre code {{app_name}} : {{code}}');
    assert.equal(await list.locator('[aria-current="true"]').innerText().then((t) => t.replace(/\s+/g, ' ')), 'Multi-factor (MFA) mfa · fr');
    const stored = await api('GET', '/v1/templates/login/en', undefined, otp.adminKey, tenants[mainName]);
    assert.equal(stored.json.body, 'Your {{app_name}} login code: {{code}}', 'the discarded text was never saved');

    // "Discard changes" asks too.
    await text.fill('Changed {{code}}');
    await page.getByRole('button', { name: 'Discard changes' }).click();
    await dialog.getByRole('button', { name: 'Discard changes' }).click();
    assert.equal(await text.inputValue(), 'Votre code {{app_name}} : {{code}}');

    // Removing asks; cancelling keeps it on the server, confirming removes it from the list.
    await page.getByRole('button', { name: 'Remove this template' }).click();
    const remove = page.getByRole('dialog', { name: 'Remove the Multi-factor (MFA) · fr template?' });
    await remove.waitFor();
    await shoot('templates-remove-dialog', { fullPage: false });
    await remove.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await api('GET', '/v1/templates', undefined, otp.adminKey, tenants[mainName])).json.items.length, 2);
    await page.getByRole('button', { name: 'Remove this template' }).click();
    await remove.getByRole('button', { name: 'Remove template' }).click();
    await page.getByText('Removed: sends use the fallback template again.').waitFor();
    await list.getByRole('link', { name: /mfa · fr/ }).waitFor({ state: 'detached' });
    assert.deepEqual(
      (await api('GET', '/v1/templates', undefined, otp.adminKey, tenants[mainName])).json.items.map((i: { purpose: string }) => i.purpose),
      ['login'],
    );
    await shoot('templates-saved-list');
  });

  test('deleting a tenant needs its exact name typed, then goes back to the list', async () => {
    const name = 'Initech Payroll';
    await page.goto(tenantUrl(name, 'settings'));
    await page.getByRole('button', { name: 'Delete tenant…' }).click();
    const dialog = page.getByRole('dialog', { name: `Delete ${name}?` });
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: 'Delete this tenant' });
    assert.equal(await confirm.isDisabled(), true, 'disabled until the name is typed');
    const box = dialog.getByLabel(`Type ${name} to confirm`);
    await box.fill('initech payroll');
    assert.equal(await confirm.isDisabled(), true, 'the name exactly, case included');
    const requestsBefore = sent.length;
    await box.press('Enter');
    await settleLayout(page);
    assert.deepEqual(sent.slice(requestsBefore).filter((r) => r.method === 'DELETE'), [], 'Enter with the wrong name sends no delete');
    assert.equal((await api('GET', `/v1/tenants/${tenants[name]}`)).status, 200, 'Enter with the wrong name deletes nothing');
    await box.fill(name);
    await shoot('tenant-delete-dialog', { fullPage: false });

    // Cancel keeps it.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await api('GET', `/v1/tenants/${tenants[name]}`)).status, 200);

    await page.getByRole('button', { name: 'Delete tenant…' }).click();
    assert.equal(await dialog.getByLabel(`Type ${name} to confirm`).inputValue(), '', 'the typed name is not kept');
    await dialog.getByLabel(`Type ${name} to confirm`).fill(name);
    await confirm.click();
    await page.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
    await page.getByText(`Tenant ${name} deleted.`).waitFor();
    assert.equal(new URL(page.url()).search, '', 'the notice is not kept in the address');
    assert.equal((await api('GET', `/v1/tenants/${tenants[name]}`)).status, 404);
    // The list loads after the notice shows.
    await waitForCount(page, 'table[aria-label="Tenants"] tbody tr', 3);
    assert.deepEqual((await rowNames()).sort(), ['Acme Bank', 'Acme Shop', 'Globex']);
    assert.ok(sent.some((r) => r.method === 'DELETE' && r.url === `/v1/tenants/${tenants[name]}`));
    await shoot('tenants-deleted');
  });

  /** Every page of the console, as [name, path]; the sign-in page is checked signed out. */
  const pages = (): [string, string][] => [
    ['tenants', '/'],
    ...['dashboard', 'provider', 'test-sms', 'settings', 'templates', 'messages', 'inbox', 'fraud-guard', 'api-keys', 'audit'].map((tab): [string, string] => [
      tab,
      `/tenants/${encodeURIComponent(tenants[mainName]!)}${tab === 'dashboard' ? '' : `/${tab}`}`,
    ]),
  ];

  for (const scheme of ['light', 'dark'] as const) {
    test(`axe-core finds no serious or critical issue on any page (${scheme} mode)`, async () => {
      await page.emulateMedia({ colorScheme: scheme });
      try {
        const found: string[] = [];
        const check = async (name: string) => {
          for (const v of await axeViolations()) found.push(`${name}: [${v.impact}] ${v.id} — ${v.help}\n    ${v.nodes.join('\n    ')}`);
        };
        assert.equal(await inPage<boolean>(page, `matchMedia('(prefers-color-scheme: dark)').matches`), scheme === 'dark');
        for (const [name, path] of pages()) {
          await page.goto(url(path));
          await page.locator('main .section').first().waitFor();
          await settled();
          await settleLayout(page);
          await check(name);
          // The phone layout has its own colours (the current tab is a filled pill).
          await page.setViewportSize({ width: 390, height: 844 });
          await settleLayout(page);
          await check(`${name} at 390 px`);
          await page.setViewportSize({ width: 1280, height: 900 });
          if (name === 'messages') {
            await page.getByRole('button', { name: /^Show attempts/ }).first().click();
            await check('messages, attempts shown');
          }
          if (name === 'settings') {
            await page.getByRole('button', { name: 'Delete tenant…' }).click();
            await page.getByRole('dialog').waitFor();
            await check('settings, delete dialog');
            await page.keyboard.press('Escape');
          }
          if (scheme === 'dark' && ['tenants', 'dashboard', 'provider', 'templates', 'messages', 'inbox', 'fraud-guard', 'settings'].includes(name)) {
            // The backgrounds really are dark: the scheme is followed, not just declared.
            const bg = await inPage<string>(page, `getComputedStyle(document.querySelector('.section')).backgroundColor`);
            assert.equal(bg, 'rgb(24, 29, 36)', `${name}: a section's background in dark mode`);
            await shoot(`dark-${name}`);
          }
        }
        // Signed out: the sign-in page.
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await check('sign-in');
        if (scheme === 'dark') await shoot('dark-signin');
        await page.getByRole('button', { name: 'Use an API key instead' }).click();
        await page.getByLabel('Admin key').fill(otp.adminKey);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
        assert.deepEqual(found, [], `axe-core violations (${scheme}):\n${found.join('\n')}`);
      } finally {
        await page.emulateMedia({ colorScheme: 'light' });
      }
    });
  }

  test('the whole console is usable from the keyboard: skip link, tabs, copy and dialogs', async () => {
    await page.goto(tenantUrl(mainName, 'settings'));
    await page.getByRole('button', { name: 'Delete tenant…' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await inPage<string>(page, 'document.activeElement.textContent'), 'Skip to content');
    await page.keyboard.press('Enter');
    // The delete dialog opens from the keyboard, takes the focus, and Escape gives it back.
    await page.getByRole('button', { name: 'Delete tenant…' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    assert.equal(await inPage<string>(page, `document.activeElement.closest('dialog') ? document.activeElement.tagName : 'outside'`), 'INPUT', 'focus moves into the dialog, on the name box');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    assert.equal(await inPage<string>(page, 'document.activeElement.textContent'), 'Delete tenant…', 'focus returns to the button');
    assert.equal((await api('GET', `/v1/tenants/${tenants[mainName]}`)).status, 200);
  });

  test('every request the console sent matches the request schemas of /openapi.json', async () => {
    const spec = await fetchSpec(otp.url);
    const problems = [...new Set(sent.flatMap((r) => checkRequest(spec, r)))];
    assert.deepEqual(problems, []);
    assert.ok(sent.some((r) => r.url.includes('q=ACME')));
  });
});

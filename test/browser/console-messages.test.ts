/**
 * The console's message log in a real browser (Debian's chromium driven by playwright-core)
 * against a real otpgate: the filters live in the address (a reload keeps them, Back returns
 * to the previous ones), a message the fallback delivered after the primary refused it is
 * marked as a failover, its details show the attempt timeline, and "Export CSV" downloads the
 * filtered rows as the server exports them (bodies masked).
 *
 * Skips when /usr/bin/chromium is missing or the console is not built (npm run
 * build:console). Saves docs/screenshots/messages-log-{1280,390}.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import { checkRequest, fetchSpec } from '../../console/scripts/check-openapi.mjs';
import { CHROMIUM, type ConsoleBrowser, fullPageScreenshot, launchConsoleBrowser, LAYOUT_PROBLEMS, recordApiRequests, settleLayout, signInWithAdminKey, waitForCount } from './layout.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST_INDEX = join(root, 'console/dist/index.html');
const SHOTS = join(root, 'docs/screenshots');
const WIDTHS = [1280, 390] as const;

const skip = !existsSync(CHROMIUM)
  ? `chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the console browser tests`
  : !existsSync(DIST_INDEX)
    ? 'console/dist is not built: run `npm run build:console` to run the console browser tests'
    : false;
if (skip) console.log(`# SKIP message log browser tests: ${skip}`);

/** A custom gateway that refuses every SMS (the primary), so the fallback takes them. */
async function startRefusingGateway() {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ key: req.headers['x-verification-key'] }));
      }
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'number_blocked' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('message log in a browser', { skip }, () => {
  let otp: Awaited<ReturnType<typeof startTestServer>>;
  let gateway: Awaited<ReturnType<typeof startRefusingGateway>>;
  let context: BrowserContext;
  let page: Page;
  let browser: ConsoleBrowser | undefined;
  let tenantId = '';
  let apiKey = '';
  const ids: Record<string, string> = {};
  const sent: { method: string; url: string; body?: unknown }[] = [];

  async function apiCall(method: string, path: string, body?: unknown, auth = otp.adminKey): Promise<{ status: number; json: any; text: string }> {
    const res = await fetch(otp.url + path, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(auth === otp.adminKey && tenantId ? { 'x-tenant-id': tenantId } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // CSV
    }
    return { status: res.status, json, text };
  }

  /** Waits until the dispatcher has finished the message (polls the API, no fixed sleep). */
  async function settled(id: string): Promise<any> {
    for (;;) {
      const m = (await apiCall('GET', `/v1/messages/${id}`)).json;
      if (m.status !== 'queued' && m.status !== 'sending') return m;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const base = () => `${otp.url}/admin/tenants/${encodeURIComponent(tenantId)}/messages`;
  const rows = () => page.getByRole('table', { name: 'Messages' }).locator('tbody.message-row');
  const shownIds = async () => (await rows().evaluateAll((els) => els.map((e) => e.getAttribute('data-message-id')))).sort();
  const idsOf = (...names: string[]) => names.map((n) => ids[n]!).sort();
  async function settledTable(): Promise<void> {
    await waitForCount(page, '.tab-panel .loading, .tab-panel [aria-busy="true"]', 0);
  }

  async function assertLayout(what: string): Promise<void> {
    const problems = await page.evaluate<string[]>(LAYOUT_PROBLEMS);
    assert.deepEqual(problems, [], `${what} at ${page.viewportSize()?.width} px: layout problems`);
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    otp = await startTestServer();
    gateway = await startRefusingGateway();
    browser = await launchConsoleBrowser({ acceptDownloads: true });
    ({ context, page } = browser);
    recordApiRequests(context, otp.url, sent);

    const t = await apiCall('POST', '/v1/tenants', { name: 'Log Ltd', settings: { resend_cooldown_seconds: 0 } });
    tenantId = t.json.id;
    apiKey = (await apiCall('POST', `/v1/tenants/${tenantId}/api-keys`, { name: 'test' })).json.key;

    // Two passcodes through the Inbox alone.
    const send = async (phone: string, purpose: string) => {
      const r = await apiCall('POST', '/v1/otp/send', { phone_number: phone, purpose }, apiKey);
      assert.equal(r.status, 202, r.text);
      return (await settled(r.json.message_id)).id as string;
    };
    ids.login = await send('+447400123111', 'login');
    ids.mfaUs = await send('+14155552671', 'mfa');
    // Then the gateway first, the Inbox as fallback: the next passcode goes through failover.
    const put = await apiCall('PUT', '/cis/v1/tenantsmsproviders', { provider: 'CustomGateway', custom_gateway: { uri: `${gateway.url}/sms`, api_key: 'gw-key' }, fallback: { provider: 'Inbox' } });
    assert.equal(put.status, 200, put.text);
    ids.mfaGb = await send('+447400123222', 'mfa');
    const failover = await settled(ids.mfaGb);
    assert.equal(failover.status, 'sent');
    assert.deepEqual(failover.attempt_log.map((a: { provider: string; outcome: string }) => `${a.provider}:${a.outcome}`), ['CustomGateway:failed', 'Inbox:accepted']);

    await signInWithAdminKey(page, `${otp.url}/admin/`, otp.adminKey);
  });

  after(async () => {
    await browser?.close();
    await otp?.close().catch(() => undefined);
    await gateway?.close().catch(() => undefined);
  });

  test('filters go into the address, survive a reload, and Back returns to the previous ones', async () => {
    await page.goto(base());
    await rows().first().waitFor();
    await settledTable();
    assert.deepEqual(await shownIds(), idsOf('login', 'mfaUs', 'mfaGb'));
    // Column headers.
    assert.deepEqual(await page.getByRole('table', { name: 'Messages' }).locator('thead th').allTextContents(), ['Created', 'To', 'Kind', 'Status', 'Provider', 'Attempts', 'Details']);

    await page.getByLabel('Purpose').fill('mfa');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/\?purpose=mfa$/);
    // The address changes before the filtered list is asked for, so no loading state may show yet.
    await waitForCount(page, 'tbody.message-row', 2);
    await settledTable();
    assert.deepEqual(await shownIds(), idsOf('mfaUs', 'mfaGb'));

    await page.getByLabel('Number starts with').fill('+44');
    await page.getByLabel('From (UTC)').fill(new Date().toISOString().slice(0, 10));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForURL(/phone_prefix=%2B44/);
    await settledTable();
    await waitForCount(page, 'tbody.message-row', 1);
    assert.deepEqual(await shownIds(), idsOf('mfaGb'));
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('purpose'), 'mfa');
    assert.equal(url.searchParams.get('phone_prefix'), '+44');

    await page.reload();
    await rows().first().waitFor();
    await settledTable();
    assert.deepEqual(await shownIds(), idsOf('mfaGb'), 'the reload kept the filters');
    assert.equal(await page.getByLabel('Purpose').inputValue(), 'mfa');
    assert.equal(await page.getByLabel('Number starts with').inputValue(), '+44');

    await page.goBack();
    await page.waitForURL(/\?purpose=mfa$/);
    await waitForCount(page, 'tbody.message-row', 2);
    assert.deepEqual(await shownIds(), idsOf('mfaUs', 'mfaGb'));
    assert.equal(await page.getByLabel('Number starts with').inputValue(), '', 'the form follows Back');

    // The status select applies at once; a bad value from the server lands on its field.
    await page.getByLabel('Number ends with').fill('12x');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('#msg-phone-suffix-error').getByText('must be 1 to 15 digits').waitFor();
    assert.ok(sent.some((r) => r.url.includes('phone_suffix=12x')));
    await page.getByLabel('Number ends with').fill('2671');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await waitForCount(page, 'tbody.message-row', 1);
    assert.deepEqual(await shownIds(), idsOf('mfaUs'));
    await page.getByRole('button', { name: 'Clear' }).click();
    await waitForCount(page, 'tbody.message-row', 3);
    assert.equal(new URL(page.url()).search, '');
  });

  test('a filtered search that comes back short reads on, up to 10 reads a click, and says it searched part of the log', async () => {
    // The server's windows need more than 5,000 messages (test/integration/message-log-filters):
    // here the answers are made in the browser, a window's worth of nothing with a cursor.
    const cursor = 'msg_01kbq000000000000000000000';
    const real = (await apiCall('GET', `/v1/messages/${ids.login}`)).json;
    let eventReads = 0;
    await page.route(/\/v1\/messages\?.*kind=event/, (route) => {
      eventReads++;
      return route.fulfill({ json: eventReads < 3 ? { items: [], next_cursor: cursor } : { items: [real], next_cursor: null } });
    });
    await page.route(/\/v1\/messages\?.*kind=test/, (route) => route.fulfill({ json: { items: [], next_cursor: cursor } }));
    const reads = (kind: string) => sent.filter((r) => r.url.startsWith('/v1/messages?') && r.url.includes(`kind=${kind}`));
    try {
      await page.goto(`${base()}?kind=event`);
      await waitForCount(page, 'tbody.message-row', 1);
      await settledTable();
      assert.equal(eventReads, 3, 'two short pages, then the match');
      assert.deepEqual(await shownIds(), [ids.login]);
      assert.equal(await page.getByRole('button', { name: /(Load|Search) older messages/ }).count(), 0);
      assert.ok(reads('event').slice(1).every((r) => r.url.includes(`cursor=${cursor}`)), 'each read goes on from the cursor');

      await page.goto(`${base()}?kind=test`);
      const heading = page.locator('.empty-title', { hasText: 'No message matches these filters in the part of the log searched so far' });
      await heading.waitFor();
      await settledTable();
      assert.equal(reads('test').length, 10);
      await fullPageScreenshot(page, '/tmp/messages-searched-so-far.png');
      await page.getByRole('button', { name: 'Search older messages' }).click();
      const deadline = Date.now() + 10_000;
      while (reads('test').length < 20) {
        assert.ok(Date.now() < deadline, `ten more reads after the click, not ${reads('test').length - 10}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      await waitForCount(page, '.tab-panel [aria-busy="true"]', 0);
      await heading.waitFor();
      assert.equal(reads('test').length, 20, 'one click: ten more reads, no more');
    } finally {
      await page.unrouteAll();
    }
  });

  test('failover is marked; the details show the attempt timeline', async () => {
    await page.goto(`${base()}?provider=Inbox`);
    await waitForCount(page, 'tbody.message-row', 3);
    const row = page.locator(`tbody.message-row[data-message-id="${ids.mfaGb}"]`);
    assert.equal(await row.getByTestId('failover').count(), 1);
    assert.match((await row.getByTestId('failover').getAttribute('title')) ?? '', /CustomGateway \(primary\) → Inbox \(fallback\)/);
    for (const other of [ids.login, ids.mfaUs]) assert.equal(await page.locator(`tbody.message-row[data-message-id="${other}"]`).getByTestId('failover').count(), 0);

    await row.getByRole('button', { name: 'Show attempts (2)' }).click();
    const first = await row.getByTestId('attempt-1').innerText();
    assert.match(first, /Attempt 1: CustomGateway/);
    assert.match(first, /\(primary\)/);
    assert.match(first, /failed/);
    assert.match(first, /HTTP status\s+400/i);
    const second = await row.getByTestId('attempt-2').innerText();
    assert.match(second, /Attempt 2: Inbox/);
    assert.match(second, /\(fallback\)/);
    assert.match(second, /accepted/);
    await row.getByTestId('delivery').getByText('sent', { exact: true }).waitFor();
    assert.match(await row.locator('.message-body').innerText(), /^\*{6} /, 'the code is masked');

    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await settleLayout(page);
      await assertLayout('the message log with a message open');
      await fullPageScreenshot(page, join(SHOTS, `messages-log-${width}.png`));
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('Export CSV downloads the filtered rows, with codes masked', async () => {
    await page.goto(`${base()}?purpose=mfa`);
    await waitForCount(page, 'tbody.message-row', 2);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    assert.match(download.suggestedFilename(), /^messages-ten_.*\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.split('\r\n').filter(Boolean);
    assert.equal(lines[0]!.split(',').slice(0, 9).join(','), 'id,created_at,kind,purpose,to,status,provider,attempts,failover');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]).sort(), idsOf('mfaUs', 'mfaGb'));
    const gb = lines.find((l) => l.startsWith(ids.mfaGb!))!;
    assert.match(gb, /,otp,mfa,'\+447400123222,sent,Inbox,2,yes,CustomGateway Inbox,/);
    assert.equal(csv, (await apiCall('GET', '/v1/messages.csv?purpose=mfa')).text, 'what the server exports for these filters');
    // No passcode: the codes the Inbox captured are not in the file.
    const inbox = (await apiCall('GET', '/v1/inbox?limit=100')).json.items as { body: string }[];
    const codes = inbox.map((i) => /\d{6}/.exec(i.body)?.[0]).filter((c): c is string => !!c);
    assert.ok(codes.length >= 2);
    for (const c of codes) assert.ok(!csv.includes(c), `code ${c} not exported`);
    assert.ok(sent.some((r) => r.url === '/v1/messages.csv?purpose=mfa'));
  });

  test('every request the console sent matches the request schemas of /openapi.json', async () => {
    const spec = await fetchSpec(otp.url);
    const problems = [...new Set(sent.filter((r) => !r.url.includes('phone_suffix=12x')).flatMap((r) => checkRequest(spec, r)))];
    assert.deepEqual(problems, [], 'query parameters or body fields the server does not take');
  });
});

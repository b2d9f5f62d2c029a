/**
 * The console's "Events" tab in a real browser (Debian's chromium driven by playwright-core)
 * against a real otpgate whose event worker delivers to a local receiver on 127.0.0.1 (the
 * development outbound policy allows http and loopback): an endpoint is added, its secret is
 * shown once and verifies the deliveries, a test event shows up delivered in the log, "send
 * again" re-sends it with the same webhook id, a refused URL shows the server's problem on the
 * field, and after a reload the secret is nowhere on the page.
 *
 * Skips the browser tests when /usr/bin/chromium is missing or the console is not built
 * (npm run build:console). Saves docs/screenshots/events-{1280,390}.png.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import { startTestServer } from '../helpers/server.js';
import { checkRequest, fetchSpec } from '../../console/scripts/check-openapi.mjs';
import { eventTypes as serverEventTypes } from '../../src/domain/events.js';
import { eventTypes } from '../../console/src/domain/events.js';
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
if (skip) console.log(`# SKIP events tab browser tests: ${skip}`);

test('the console offers the server’s event types', () => {
  assert.deepEqual([...eventTypes], [...serverEventTypes]);
});

interface Delivery {
  id: string;
  type: string;
  signatures: number;
  verified: boolean;
}

/** A tenant's backend: records each POST, verified with the secrets it was given. */
async function startReceiver() {
  const secrets: string[] = [];
  const got: Delivery[] = [];
  const waiters: (() => void)[] = [];
  let status = 204;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST') return res.writeHead(200).end('ok');
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      let type = '';
      let verified = false;
      for (const s of secrets) {
        try {
          type = (new Webhook(s).verify(body, headers) as { type: string }).type;
          verified = true;
          break;
        } catch {
          // the next secret
        }
      }
      got.push({ id: headers['webhook-id'] ?? '', type, signatures: (headers['webhook-signature'] ?? '').split(' ').length, verified });
      waiters.splice(0).forEach((w) => w());
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/otpgate-events`,
    secrets,
    got,
    setStatus(s: number) {
      status = s;
    },
    /** Resolves once `n` deliveries have arrived. */
    async waitFor(n: number) {
      while (got.length < n) await new Promise<void>((r) => waiters.push(r));
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('events tab in a browser', { skip }, () => {
  let otp: Awaited<ReturnType<typeof startTestServer>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let context: BrowserContext;
  let page: Page;
  let browser: ConsoleBrowser | undefined;
  let tenantId = '';
  let endpointId = '';
  let secret = '';
  const sent: { method: string; url: string; body?: unknown }[] = [];

  async function apiCall(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(otp.url + path, {
      method,
      headers: { authorization: `Bearer ${otp.adminKey}`, 'x-tenant-id': tenantId, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  }

  async function openTab(): Promise<void> {
    await page.goto(`${otp.url}/admin/tenants/${encodeURIComponent(tenantId)}/events`);
    await page.getByRole('heading', { name: 'Add an endpoint' }).waitFor();
    await waitForCount(page, '.tab-panel .loading', 0);
  }

  async function assertLayout(what: string): Promise<void> {
    const problems = await page.evaluate<string[]>(LAYOUT_PROBLEMS);
    assert.deepEqual(problems, [], `${what} at ${page.viewportSize()?.width} px: layout problems`);
  }

  async function shoot(name: string): Promise<void> {
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
      await settleLayout(page);
      await assertLayout(name);
      await fullPageScreenshot(page, join(SHOTS, `${name}-${width}.png`));
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  const deliveryRow = (eventId: string) => page.getByRole('table', { name: 'Delivery log' }).locator('tr', { hasText: eventId });

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    otp = await startTestServer();
    receiver = await startReceiver();
    browser = await launchConsoleBrowser();
    ({ context, page } = browser);
    recordApiRequests(context, otp.url, sent);
    const t = await fetch(`${otp.url}/v1/tenants`, { method: 'POST', headers: { authorization: `Bearer ${otp.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Hooks Ltd' }) });
    tenantId = ((await t.json()) as { id: string }).id;

    await signInWithAdminKey(page, `${otp.url}/admin/`, otp.adminKey);
  });

  after(async () => {
    await browser?.close();
    await otp?.close().catch(() => undefined);
    await receiver?.close().catch(() => undefined);
  });

  test('a URL the server refuses shows its problem on the URL field, and nothing is added', async () => {
    await openTab();
    await page.getByText('No endpoints').waitFor();
    await page.locator('#ev-new-url').fill('http://10.1.2.3/hooks');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const fieldError = page.locator('#ev-new-url-error');
    await fieldError.waitFor();
    assert.match(await fieldError.innerText(), /10\.1\.2\.3|private|not allowed/i);
    assert.equal(await page.locator('#ev-new-url').getAttribute('aria-invalid'), 'true');
    await page.getByRole('alert').filter({ hasText: 'Not saved' }).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await settleLayout(page);
    await assertLayout('the events tab with a refused URL');
    await page.setViewportSize({ width: 1280, height: 900 });
    assert.deepEqual((await apiCall('GET', '/v1/event-endpoints')).json.items, [], 'nothing saved');
  });

  test('adding an endpoint shows its secret once; a test event is delivered, signed with it, and shown in the log', async () => {
    await openTab();
    await page.locator('#ev-new-url').fill(receiver.url);
    await page.getByLabel(/^message\.failed/).check();
    await page.getByLabel(/^verification\.approved/).check();
    await page.getByLabel('Description (optional)').fill('billing backend');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const shown = page.getByTestId('event-secret');
    await shown.waitFor();
    secret = await shown.inputValue();
    assert.match(secret, /^whsec_/);
    await page.getByRole('button', { name: 'Copy secret' }).waitFor();
    receiver.secrets.push(secret);

    const [saved] = (await apiCall('GET', '/v1/event-endpoints')).json.items;
    endpointId = saved.id;
    assert.equal(saved.url, receiver.url);
    assert.deepEqual(saved.events, ['message.failed', 'verification.approved']);
    assert.equal(saved.description, 'billing backend');
    const row = page.locator(`tr[data-endpoint-id="${endpointId}"]`);
    const text = await row.innerText();
    assert.ok(text.includes(receiver.url) && text.includes('message.failed, verification.approved') && text.includes('billing backend'), text);
    assert.match(text, /enabled/);

    // The new endpoint is open below the list: send a test event and watch it delivered.
    await page.getByRole('button', { name: 'Send test event' }).click();
    await page.getByTestId('ev-notice').getByText('Test event queued').waitFor();
    await receiver.waitFor(1);
    const first = receiver.got[0]!;
    assert.equal(first.verified, true, 'signed with the secret the console showed');
    assert.equal(first.type, 'event_endpoint.test');
    const logRow = deliveryRow(first.id);
    await logRow.getByText('delivered', { exact: true }).waitFor();
    assert.match(await logRow.innerText(), /event_endpoint\.test[\s\S]*delivered[\s\S]*1[\s\S]*HTTP 204/);
    await shoot('events');
  });

  test('a failing endpoint shows the response code and the next retry; "send again" re-sends with the same webhook id', async () => {
    await openTab();
    await page.getByRole('button', { name: `Manage ${receiver.url}` }).click();
    receiver.setStatus(500);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await receiver.waitFor(2);
    const failing = receiver.got[1]!;
    const row = deliveryRow(failing.id);
    await row.locator('[data-col="last-response"]').getByText('HTTP 500').waitFor();
    const d = (await apiCall('GET', `/v1/event-endpoints/${endpointId}/deliveries`)).json.items.find((x: { event_id: string }) => x.event_id === failing.id);
    assert.equal(d.status, 'queued');
    assert.equal(d.attempts, 1);
    assert.ok(d.next_attempt_at);
    assert.match(await row.innerText(), /queued[\s\S]*1[\s\S]*HTTP 500/);
    assert.equal(await row.locator(`time[datetime="${d.next_attempt_at}"]`).count(), 1, 'the next retry, as the server has it');

    // "Send again" on the delivered one: the same webhook id arrives a second time.
    receiver.setStatus(204);
    const delivered = receiver.got[0]!;
    await deliveryRow(delivered.id).getByRole('button', { name: `Send event_endpoint.test ${delivered.id} again` }).click();
    while (!receiver.got.some((g, i) => i >= 2 && g.id === delivered.id)) await receiver.waitFor(receiver.got.length + 1);
    await deliveryRow(delivered.id).getByText('delivered', { exact: true }).waitFor();
    assert.ok(sent.some((r) => r.method === 'POST' && r.url.startsWith(`/v1/event-endpoints/${endpointId}/deliveries/`) && r.url.endsWith('/retry')));
  });

  test('after a reload the secret is nowhere on the page; rotating shows the new one once, and both sign', async () => {
    await openTab();
    await page.locator(`tr[data-endpoint-id="${endpointId}"]`).waitFor();
    assert.equal(await page.getByTestId('event-secret').count(), 0);
    assert.ok(!(await page.content()).includes(secret), 'the secret is not in the page');
    const listed = JSON.stringify((await apiCall('GET', '/v1/event-endpoints')).json);
    assert.ok(!listed.includes(secret) && !listed.includes('whsec_'));

    await page.getByRole('button', { name: `Manage ${receiver.url}` }).click();
    await page.getByRole('button', { name: 'Rotate secret…' }).click();
    await page.getByRole('button', { name: 'Rotate', exact: true }).click();
    const shown = page.getByTestId('event-secret');
    await shown.waitFor();
    const fresh = await shown.inputValue();
    assert.match(fresh, /^whsec_/);
    assert.notEqual(fresh, secret);
    await page.getByText('The previous secret also signs until').waitFor();
    const before = receiver.got.length;
    receiver.secrets.splice(0, receiver.secrets.length, fresh);
    await page.getByRole('button', { name: 'Send test event' }).click();
    await receiver.waitFor(before + 1);
    const last = receiver.got.at(-1)!;
    assert.equal(last.verified, true, 'the new secret verifies');
    assert.equal(last.signatures, 2, 'the previous secret signs beside it');
    await page.reload();
    await page.locator(`tr[data-endpoint-id="${endpointId}"]`).waitFor();
    assert.ok(!(await page.content()).includes(fresh));
  });

  test('changes are saved, turning off shows why it is off, and delete asks first', async () => {
    await openTab();
    await page.getByRole('button', { name: `Manage ${receiver.url}` }).click();
    await page.getByText('Change URL, events or description').click();
    await page.locator('#ev-edit-description').fill('billing, v2');
    await page.locator('#ev-edit-url').fill('http://[::ffff:10.0.0.1]/x');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('#ev-edit-url-error').waitFor();
    assert.equal((await apiCall('GET', `/v1/event-endpoints/${endpointId}`)).json.description, 'billing backend', 'nothing saved');
    await page.locator('#ev-edit-url').fill(receiver.url);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByTestId('ev-notice').getByText('Changes saved.').waitFor();
    assert.equal((await apiCall('GET', `/v1/event-endpoints/${endpointId}`)).json.description, 'billing, v2');
    const row = page.locator(`tr[data-endpoint-id="${endpointId}"]`);
    await row.getByText('billing, v2').waitFor();

    await page.getByRole('button', { name: 'Turn off' }).click();
    await row.getByText('disabled', { exact: true }).waitFor();
    await row.getByText('turned off in the console or the API').waitFor();
    assert.equal((await apiCall('GET', `/v1/event-endpoints/${endpointId}`)).json.enabled, false);
    await page.getByRole('button', { name: 'Turn on' }).click();
    await row.getByText('enabled', { exact: true }).waitFor();

    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByText('Delete it and its delivery log?').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await apiCall('GET', `/v1/event-endpoints/${endpointId}`)).status, 200, 'Cancel keeps it');
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByText('No endpoints').waitFor();
    assert.equal((await apiCall('GET', `/v1/event-endpoints/${endpointId}`)).status, 404);
  });

  test('every request the console sent matches the request schemas of /openapi.json', async () => {
    const spec = await fetchSpec(otp.url);
    const problems = [...new Set(sent.flatMap((r) => checkRequest(spec, r)))];
    assert.deepEqual(problems, [], 'query parameters or body fields the server does not take');
    const logs = otp.logs.text();
    assert.ok(secret.startsWith('whsec_') && !logs.includes(secret), 'the secret is never logged');
  });
});

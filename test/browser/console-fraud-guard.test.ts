/**
 * The console's "Fraud guard" tab in a real browser (Debian's chromium driven by
 * playwright-core) against a real otpgate: passcodes sent through the API pump one number
 * range until the guard blocks it; the tab shows the block with its reason, lifts it (the row
 * goes only once the server has lifted it), refuses an invalid threshold inline without saving,
 * saves a valid change, and shows the conversion, cost and budget use the API reports.
 *
 * The first test needs no browser: it holds the console's copies of the server's ranges,
 * number types and defaults (console/src/domain/fraud-guard.ts) to src/domain/fraud/settings.ts.
 *
 * Skips the browser tests with a message when /usr/bin/chromium is missing (apt-get install
 * chromium) or the console is not built (npm run build:console). Saves
 * docs/screenshots/fraud-guard-{1280,390}.png and checks the layout at both widths.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, type Route } from 'playwright-core';
import { startTestServer } from '../helpers/server.js';
import { checkRequest, fetchSpec } from '../../console/scripts/check-openapi.mjs';
import { tenantSettingsPatchSchema } from '../../src/services/tenant-settings.js';
import {
  defaultBlockedNumberTypes as serverDefaultTypes,
  defaultThresholds as serverDefaultThresholds,
  fraudGuardSchema,
  numberTypes as serverNumberTypes,
  resolveFraudGuard,
} from '../../src/domain/fraud/settings.js';
import { CHROMIUM, type ConsoleBrowser, fullPageScreenshot, launchConsoleBrowser, LAYOUT_PROBLEMS, recordApiRequests, settleLayout, signInWithAdminKey, waitForCount } from './layout.js';
import {
  blockMinutesRule,
  budgetPayload,
  budgetRules,
  budgetToForm,
  checkNumber,
  defaultBlockedNumberTypes,
  defaultThresholds,
  guardIssues,
  guardPayload,
  guardToForm,
  numberTypes,
  parseSafeList,
  prefixDigitsRule,
  priceRule,
  SAFE_LIST_MAX,
  safeEntryPattern,
  thresholdRules,
  validateBudget,
  validateGuard,
  type NumberRule,
} from '../../console/src/domain/fraud-guard.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DIST_INDEX = join(root, 'console/dist/index.html');
const SHOTS = join(root, 'docs/screenshots');
const WIDTHS = [1280, 390] as const;

const skip = !existsSync(CHROMIUM)
  ? `chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) to run the console browser tests`
  : !existsSync(DIST_INDEX)
    ? 'console/dist is not built: run `npm run build:console` to run the console browser tests'
    : false;
if (skip) console.log(`# SKIP fraud guard tab browser tests: ${skip}`);

/** Values around a range's ends, and a fraction for whole-number fields. */
function probes(r: NumberRule): number[] {
  const out = [r.min, r.max, r.min - 1, r.max + 1, r.max + 0.5, (r.min + r.max) / 2];
  if (!r.integer) out.push(r.min + 0.25, r.max - 0.01, r.min - 0.01);
  return [...new Set(out)];
}

test('the console checks fraud guard settings, budgets and prices with the server’s ranges, types and defaults', () => {
  assert.deepEqual([...numberTypes], [...serverNumberTypes]);
  assert.deepEqual([...defaultBlockedNumberTypes], [...serverDefaultTypes]);
  assert.deepEqual(defaultThresholds, serverDefaultThresholds);
  const accepts = (settings: Record<string, unknown>) => tenantSettingsPatchSchema.safeParse(settings).success;
  const agree = (what: string, rule: NumberRule, settings: (v: number) => Record<string, unknown>) => {
    for (const v of probes(rule)) assert.equal(checkNumber(rule, String(v)) === null, accepts(settings(v)), `${what} = ${v}`);
  };

  // Every threshold field of the form is one of the server's, with the same range.
  const ruleNames = Object.keys(serverDefaultThresholds).sort();
  assert.deepEqual(thresholdRules.map((r) => r.rule).sort(), ruleNames);
  for (const r of thresholdRules) {
    assert.deepEqual(r.fields.map((f) => f.key).sort(), Object.keys(serverDefaultThresholds[r.rule]).sort(), r.rule);
    for (const f of r.fields) agree(`${r.rule}.${f.key}`, f, (v) => ({ fraud_guard: { thresholds: { [r.rule]: { [f.key]: v } } } }));
  }
  agree('prefix_digits', prefixDigitsRule, (v) => ({ fraud_guard: { prefix_digits: v } }));
  agree('block_minutes', blockMinutesRule, (v) => ({ fraud_guard: { block_minutes: v } }));
  for (const r of budgetRules) agree(`budget.${r.key}`, r, (v) => ({ budget: { [r.key]: v } }));
  agree('sms_prices.GB', priceRule, (v) => ({ sms_prices: { GB: v } }));

  for (const entry of ['+44', '+447700900123', '+1', '+0123', '44123', '+', '+1234567890123456', '+44a']) {
    assert.equal(safeEntryPattern.test(entry), accepts({ fraud_guard: { safe_list: [entry] } }), `safe list entry ${entry}`);
  }
  const many = Array.from({ length: SAFE_LIST_MAX + 1 }, (_, i) => `+4477${String(i).padStart(5, '0')}`);
  assert.equal(accepts({ fraud_guard: { safe_list: many.slice(0, SAFE_LIST_MAX) } }), true);
  assert.equal(accepts({ fraud_guard: { safe_list: many } }), false);
  const tooMany = guardToForm(resolveFraudGuard(undefined));
  tooMany.safe_list = many.join('\n');
  assert.match(validateGuard(tooMany)['settings.fraud_guard.safe_list'] ?? '', /at most 1,000 entries/);

  // The form of the defaults is valid, and what it saves is what the server stores and answers.
  const form = guardToForm(resolveFraudGuard(undefined));
  assert.deepEqual(validateGuard(form), {});
  const payload = guardPayload(form);
  assert.equal(fraudGuardSchema.safeParse(payload).success, true);
  assert.deepEqual(resolveFraudGuard(payload), payload, 'the whole object, nothing left to defaults');
  form.safe_list = ' +44 7700 900123,\n+33(6)12\n\n+447700900123';
  assert.deepEqual(parseSafeList(form.safe_list), ['+447700900123', '+33612']);

  const budget = budgetToForm({ daily_messages: 10 }, { default: 0.01, GB: 0.04 });
  assert.deepEqual(validateBudget(budget), {});
  assert.deepEqual(budgetPayload(budget), { budget: { daily_messages: 10 }, sms_prices: { default: 0.01, GB: 0.04 } });
  assert.equal(accepts(budgetPayload(budget)), true);
  budget.prices.push({ country: 'gb', price: '1' });
  assert.match(validateBudget(budget)['prices.1.country'] ?? '', /GB is listed twice/);

  // An entry of a list the server refuses is shown on its list, with the entry.
  const issues = guardIssues({ 'settings.fraud_guard.safe_list.1': 'bad', 'settings.fraud_guard.thresholds.ip_day.floor': 'too small' }, { ...payload, safe_list: ['+44', '44x'] });
  assert.deepEqual(issues, { 'settings.fraud_guard.safe_list': '“44x”: bad', 'settings.fraud_guard.thresholds.ip_day.floor': 'too small' });
});

/** Every tripwire out of the way except the prefix floor the test sets. */
const quiet = {
  country_day: { floor: 1_000_000, ratio: 0 },
  country_hour: { floor: 1_000_000, ratio: 0 },
  prefix_hour: { floor: 2, ratio: 0 },
  prefix_velocity: { numbers: 100, span: 1, window_minutes: 10 },
  ip_countries: { max: 250 },
  ip_day: { floor: 1_000_000, ratio: 0 },
};
/** UK mobile numbers of one range: prefix `+447400<range>` with prefix_digits 3. */
const gb = (n: number, range = '123') => `+447400${range}${String(n).padStart(3, '0')}`;
const PREFIX = '+447400123';

describe('fraud guard tab in a browser', { skip }, () => {
  let otp: Awaited<ReturnType<typeof startTestServer>>;
  let context: BrowserContext;
  let page: Page;
  let browser: ConsoleBrowser | undefined;
  let tenantId = '';
  let apiKey = '';
  let blockId = '';
  /** Every API request the console sent (checked against /openapi.json at the end). */
  const sent: { method: string; url: string; body?: unknown }[] = [];

  async function apiCall(method: string, path: string, body?: unknown, auth = otp.adminKey, tenant?: string): Promise<{ status: number; json: any }> {
    const res = await fetch(otp.url + path, {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(tenant ? { 'x-tenant-id': tenant } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => null) };
  }
  const send = (phone: string, key = apiKey) => apiCall('POST', '/v1/otp/send', { phone_number: phone, purpose: 'login' }, key);
  const settingsOf = async (id = tenantId) => (await apiCall('GET', `/v1/tenants/${id}`)).json.settings;

  /** A tenant with the Inbox provider and an API key. */
  async function newTenant(name: string, settings: Record<string, unknown>): Promise<{ id: string; key: string }> {
    const t = await apiCall('POST', '/v1/tenants', { name, settings });
    assert.ok(t.status === 200 || t.status === 201, JSON.stringify(t.json));
    const id = t.json.id as string;
    const p = await apiCall('PUT', '/cis/v1/tenantsmsproviders', { provider: 'Inbox' }, otp.adminKey, id);
    assert.equal(p.status, 200, JSON.stringify(p.json));
    const k = await apiCall('POST', `/v1/tenants/${id}/api-keys`, { name: 'test' });
    assert.ok(k.status === 200 || k.status === 201, JSON.stringify(k.json));
    return { id, key: k.json.key as string };
  }

  async function openTab(id = tenantId): Promise<void> {
    await page.goto(`${otp.url}/admin/tenants/${encodeURIComponent(id)}/fraud-guard`);
    await page.getByRole('heading', { name: 'Active blocks' }).waitFor();
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

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    otp = await startTestServer();
    browser = await launchConsoleBrowser();
    ({ context, page } = browser);
    recordApiRequests(context, otp.url, sent);

    const t = await newTenant('Pump Watch', {
      resend_cooldown_seconds: 0,
      otp_ttl_seconds: 3600,
      fraud_guard: { mode: 'enforce', prefix_digits: 3, thresholds: quiet },
      budget: { daily_messages: 100 },
      sms_prices: { GB: 0.04, default: 0.01 },
    });
    tenantId = t.id;
    apiKey = t.key;

    await signInWithAdminKey(page, `${otp.url}/admin/`, otp.adminKey);
  });

  after(async () => {
    await browser?.close();
    await otp?.close().catch(() => undefined);
  });

  test('sends pumped into one number range are blocked at the floor; the tab shows the block with its reason', async () => {
    // prefix_hour floor 2: two unverified codes to the range pass, the third send trips it.
    assert.equal((await send(gb(1))).status, 202);
    assert.equal((await send(gb(2))).status, 202);
    const refused = await send(gb(3));
    assert.equal(refused.status, 403, JSON.stringify(refused.json));
    assert.equal(refused.json.code, 'fraud.blocked');
    assert.equal(refused.json.rule, 'prefix_hour');
    blockId = refused.json.block_id;
    // A resend of a code still pending is never tripped by a rule, but an active block refuses it.
    const resend = await send(gb(1));
    assert.equal(resend.status, 403);
    assert.equal(resend.json.block_id, blockId);

    const [block] = (await apiCall('GET', '/v1/fraud-guard/blocks', undefined, otp.adminKey, tenantId)).json.items;
    assert.equal(block.id, blockId);
    assert.equal(block.hits, 2);

    await openTab();
    await page.getByTestId('fg-mode').getByText('enforce', { exact: true }).waitFor();
    const row = page.locator(`tr[data-block-id="${blockId}"]`);
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /Prefix/);
    assert.ok(text.includes(PREFIX), text);
    assert.ok(text.includes(block.reason), `the reason as the server gives it: ${block.reason}`);
    assert.match(block.reason, /^unverified in 1 h 3 > max\(2, /, 'this send counted: 2 before it + 1');
    assert.match(text, /Number range, 1 h/);
    assert.match(text, /2 sends/);
    assert.match(text, /in 1[45] min · 15 min block/);
    // The figures behind the reason, from the server.
    await row.getByText('Figures').click();
    const figures = Object.entries(block.figures as Record<string, number>);
    assert.ok(figures.length > 0);
    assert.deepEqual(await row.locator('.figures dt').allInnerTexts(), figures.map(([k]) => k.replace(/_/g, ' ')));
    assert.deepEqual(await row.locator('.figures dd').allInnerTexts(), figures.map(([, v]) => String(v)));
    await row.getByText('Figures').click();

    // The decision log has it too.
    const log = page.getByRole('table', { name: 'Decision log' });
    await log.getByText(PREFIX).waitFor();
    assert.match(await log.innerText(), /block/);
    await shoot('fraud-guard');
  });

  test('the stats table, chart and budget use show what the API reports', async () => {
    const stats = (await apiCall('GET', '/v1/fraud-guard/stats?window=24h', undefined, otp.adminKey, tenantId)).json;
    const gbRow = stats.countries.find((c: { country: string }) => c.country === 'GB');
    assert.equal(gbRow.sent, 2, JSON.stringify(stats.countries));
    await openTab();
    const countries = page.getByRole('table', { name: 'Per country' });
    assert.equal(await countries.locator('tr[data-key="GB"] td[data-col="sent"]').innerText(), String(gbRow.sent));
    assert.match(await countries.locator('tr[data-key="GB"]').innerText(), new RegExp(`${gbRow.segments}\\s+${gbRow.cost.toFixed(2)}`));
    const prefixRow = stats.prefixes.find((p: { prefix: string }) => p.prefix === PREFIX);
    assert.equal(await page.getByRole('table', { name: 'Per prefix' }).locator(`tr[data-key="${PREFIX}"] td[data-col="sent"]`).innerText(), String(prefixRow.sent));
    // The chart: one point for GB, at its conversion (0 %: nothing verified).
    const chart = page.locator('figure', { hasText: 'Conversion per country' });
    assert.equal(await chart.locator('circle').count(), 1);
    assert.match((await chart.locator('svg').getAttribute('aria-label')) ?? '', /GB: Verified 0%/);

    // Budget use: today's messages against the daily limit, as a bar; no limit on spend, no bar.
    const used = stats.budget.day.messages;
    assert.equal(used, 2);
    const day = page.getByTestId('usage-Today messages');
    assert.match(await day.innerText(), new RegExp(`${used} of 100\\s+${Math.floor((100 * used) / 100)}%`));
    assert.equal(await day.getByRole('meter').getAttribute('aria-valuenow'), String(used));
    const spend = page.getByTestId('usage-Today spend');
    assert.match(await spend.innerText(), /0\.08 · no limit set/);
    assert.equal(await spend.getByRole('meter').count(), 0, 'no bar without a limit');
  });

  test('Lift asks first, keeps the row until the server has lifted the block, then a send to the range is accepted', async () => {
    await openTab();
    const row = page.locator(`tr[data-block-id="${blockId}"]`);
    await row.waitFor();

    // A lift the server does not confirm (here: the request fails) leaves the block listed.
    const failing = async (route: Route) => route.fulfill({ status: 503, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Service unavailable', status: 503, code: 'http.503', request_id: 'req_test' }) });
    await page.route('**/v1/fraud-guard/blocks/*', failing);
    await row.getByRole('button', { name: `Lift the block of ${PREFIX}` }).click();
    await row.getByText(`Lift? Sends to ${PREFIX} are accepted again.`).waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    await settleLayout(page);
    await assertLayout('the fraud guard tab asking to confirm a lift');
    await page.setViewportSize({ width: 1280, height: 900 });
    await row.getByRole('button', { name: `Confirm lifting the block of ${PREFIX}` }).click();
    await page.getByRole('alert').filter({ hasText: 'Not lifted' }).getByText('Service unavailable').waitFor();
    await page.unroute('**/v1/fraud-guard/blocks/*', failing);
    await waitForCount(page, '.tab-panel [aria-busy="true"]', 0);
    assert.equal(await row.count(), 1, 'still listed: the server did not lift it');

    // The real lift, held on its way: the row stays until the server's answer and the re-read list.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let reached!: () => void;
    const atServer = new Promise<void>((r) => (reached = r));
    const hold = async (route: Route) => {
      reached();
      await held;
      await route.continue();
    };
    await page.route('**/v1/fraud-guard/blocks/*', hold);
    await row.getByRole('button', { name: `Lift the block of ${PREFIX}` }).click();
    await row.getByRole('button', { name: `Confirm lifting the block of ${PREFIX}` }).click();
    await atServer;
    assert.equal(await row.count(), 1, 'listed while the lift is on its way');
    assert.equal(await row.getByRole('button', { name: `Confirm lifting the block of ${PREFIX}` }).getAttribute('aria-busy'), 'true');
    release();
    await page.getByText('No active blocks').waitFor();
    await page.getByText(`The block of ${PREFIX} was lifted.`).waitFor();
    await page.unroute('**/v1/fraud-guard/blocks/*', hold);
    assert.ok(sent.some((r) => r.method === 'DELETE' && r.url === `/v1/fraud-guard/blocks/${blockId}`));
    assert.deepEqual((await apiCall('GET', '/v1/fraud-guard/blocks', undefined, otp.adminKey, tenantId)).json.items, []);

    // The resend refused above is accepted now; the log shows the block as lifted.
    const again = await send(gb(1));
    assert.equal(again.status, 202, JSON.stringify(again.json));
    const log = page.getByRole('table', { name: 'Decision log' });
    await log.getByText(/lifted/).waitFor();
    await page.getByLabel('Action', { exact: true }).selectOption('would_block');
    await page.getByText('No would-blocks recorded').waitFor();
    assert.ok(sent.some((r) => r.url === '/v1/fraud-guard/decisions?limit=25&action=would_block'));
    await page.getByLabel('Action', { exact: true }).selectOption('block');
    await log.getByText(PREFIX).waitFor();
  });

  test('an invalid threshold is marked inline and nothing is saved; the server’s own refusal lands on its field', async () => {
    await openTab();
    const before = await settingsOf();
    const patches = () => sent.filter((r) => r.method === 'PATCH').length;
    const patchesBefore = patches();

    await page.locator('#fg-prefix_hour-floor').fill('0');
    await page.locator('#fg-prefix_hour-ratio').fill('11');
    await page.locator('#fg-block_minutes').fill('721');
    await page.getByRole('button', { name: 'Save guard settings' }).click();
    await page.locator('#fg-prefix_hour-floor-error').getByText('must be between 1 and 100,000').waitFor();
    assert.equal(await page.locator('#fg-prefix_hour-ratio-error').innerText(), 'must be between 0 and 10');
    assert.equal(await page.locator('#fg-block_minutes-error').innerText(), 'must be between 1 and 720');
    assert.equal(await page.locator('#fg-prefix_hour-floor').getAttribute('aria-invalid'), 'true');
    await page.getByText('Not saved: some settings are not valid').waitFor();
    assert.equal(patches(), patchesBefore, 'no request was sent');
    assert.deepEqual(await settingsOf(), before, 'nothing saved');
    await page.setViewportSize({ width: 390, height: 844 });
    await settleLayout(page);
    await assertLayout('the fraud guard tab with field errors');
    await page.setViewportSize({ width: 1280, height: 900 });

    // A valid form whose request the server refuses (changed on its way here): the server's
    // issue is shown on the field it names, and nothing is saved.
    await page.getByRole('button', { name: 'Discard changes' }).first().click();
    const tamper = async (route: Route) => {
      if (route.request().method() !== 'PATCH') return route.continue();
      const body = route.request().postDataJSON() as { settings: { fraud_guard: { thresholds: { country_day: { floor: number } } } } };
      body.settings.fraud_guard.thresholds.country_day.floor = 0;
      await route.continue({ postData: JSON.stringify(body) });
    };
    await page.route(`**/v1/tenants/${tenantId}`, tamper);
    await page.locator('#fg-block_minutes').fill('20');
    await page.getByRole('button', { name: 'Save guard settings' }).click();
    await page.locator('#fg-country_day-floor-error').getByText('expected number to be >=1').waitFor();
    await page.getByRole('alert').filter({ hasText: 'Not saved' }).waitFor();
    await page.unroute(`**/v1/tenants/${tenantId}`, tamper);
    assert.deepEqual(await settingsOf(), before, 'nothing saved');
  });

  test('a valid change is saved as the whole fraud_guard object; budgets and prices are saved the same way', async () => {
    await openTab();
    await page.locator('#fg-prefix_hour-floor').fill('7');
    await page.locator('#fg-prefix_hour-ratio').fill('0.5');
    await page.getByLabel(/Record only/).check();
    await page.getByLabel(/^Voicemail/).uncheck();
    await page.getByLabel('Blocked countries').fill('ng, vn');
    await page.getByLabel('Safe list').fill('+44 7400 123001\n+3361');
    await page.getByRole('button', { name: 'Save guard settings' }).click();
    await page.getByTestId('fg-settings-result').getByText('Guard settings saved.').waitFor();
    const patch = sent.filter((r) => r.method === 'PATCH').at(-1)?.body as { settings: Record<string, unknown> };
    assert.deepEqual(Object.keys(patch.settings), ['fraud_guard'], 'only fraud_guard is sent');
    const g = (await settingsOf()).fraud_guard;
    assert.deepEqual(g.thresholds.prefix_hour, { floor: 7, ratio: 0.5 });
    assert.deepEqual(g.thresholds.country_day, quiet.country_day, 'the other thresholds are kept');
    assert.equal(g.mode, 'record_only');
    assert.ok(!g.blocked_number_types.includes('voicemail') && g.blocked_number_types.includes('premium_rate'));
    assert.deepEqual(g.blocked_countries, ['NG', 'VN']);
    assert.deepEqual(g.safe_list, ['+447400123001', '+3361']);
    await page.getByTestId('fg-mode').getByText('record_only', { exact: true }).waitFor();
    // Unchanged after a reload: the form shows what the server stored.
    await openTab();
    assert.equal(await page.locator('#fg-prefix_hour-floor').inputValue(), '7');
    assert.equal(await page.getByLabel('Safe list').inputValue(), '+447400123001\n+3361');

    // Budgets: a monthly spend limit and a price for France; an empty daily limit is no limit.
    await page.getByLabel('Messages per day').fill('');
    await page.getByLabel('Spend per month').fill('0');
    await page.getByRole('button', { name: 'Save budgets and prices' }).click();
    await page.locator('#fg-budget-monthly_spend-error').getByText('must be more than 0 and at most 1,000,000,000').waitFor();
    await page.getByLabel('Spend per month').fill('250.5');
    await page.getByRole('button', { name: 'Add a country price' }).click();
    await page.locator('#fg-price-1-country').fill('fr');
    await page.locator('#fg-price-1-price').fill('0.07');
    await page.getByRole('button', { name: 'Save budgets and prices' }).click();
    await page.getByTestId('fg-budget-result').getByText('Budgets and prices saved.').waitFor();
    const s = await settingsOf();
    assert.deepEqual(s.budget, { monthly_spend: 250.5 });
    assert.deepEqual(s.sms_prices, { default: 0.01, GB: 0.04, FR: 0.07 });
    // Budget use follows: no daily message limit now, a bar for the monthly spend.
    await page.getByTestId('usage-Today messages').getByText('no limit set').waitFor();
    const month = page.getByTestId('usage-This month spend');
    await month.getByRole('meter').waitFor();
    assert.match(await month.innerText(), /of 250\.50/);
  });

  test('the decision log pages with the server’s cursor', async () => {
    // 26 blocks: two sends to each of 26 ranges with a prefix floor of 1.
    const t = await newTenant('Paging', { fraud_guard: { mode: 'enforce', prefix_digits: 3, thresholds: { ...quiet, prefix_hour: { floor: 1, ratio: 0 } } } });
    for (let r = 0; r < 26; r++) {
      const range = String(500 + r);
      assert.equal((await send(gb(1, range), t.key)).status, 202);
      assert.equal((await send(gb(2, range), t.key)).status, 403);
    }
    await openTab(t.id);
    const rows = page.getByRole('table', { name: 'Decision log' }).locator('tbody tr');
    await page.getByRole('button', { name: 'Load older decisions' }).waitFor();
    assert.equal(await rows.count(), 25);
    assert.equal(await page.getByRole('table', { name: 'Active blocks' }).locator('tbody tr').count(), 26);
    await page.getByRole('button', { name: 'Load older decisions' }).click();
    await rows.nth(25).waitFor();
    assert.equal(await rows.count(), 26);
    assert.match(await rows.nth(25).innerText(), /\+447400500/, 'the oldest block last');
    assert.equal(await page.getByRole('button', { name: 'Load older decisions' }).count(), 0);
  });

  test('every request the console sent matches the request schemas of /openapi.json', async () => {
    const spec = await fetchSpec(otp.url);
    const problems = [...new Set(sent.flatMap((r) => checkRequest(spec, r)))];
    assert.deepEqual(problems, [], 'query parameters or body fields the server does not take');
    for (const route of ['GET /v1/fraud-guard/blocks', 'DELETE /v1/fraud-guard/blocks/', 'GET /v1/fraud-guard/decisions', 'GET /v1/fraud-guard/stats', 'PATCH /v1/tenants/']) {
      assert.ok(sent.some((r) => `${r.method} ${r.url}`.startsWith(route)), `the run called ${route}`);
    }
  });
});

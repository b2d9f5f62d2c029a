import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium unless OTPGATE_CHROMIUM names another. */
export const CHROMIUM = process.env.OTPGATE_CHROMIUM ?? '/usr/bin/chromium';

type LaunchOptions = NonNullable<Parameters<typeof chromium.launchPersistentContext>[1]>;

export interface ConsoleBrowser {
  context: BrowserContext;
  /** The context's first tab. */
  page: Page;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

/**
 * Headless Chromium with a profile of its own (removed by `close`), at 1280 × 900, en-US, UTC,
 * with page errors printed. `options` adds to or overrides the context's options.
 */
export async function launchConsoleBrowser(options: LaunchOptions & { timeoutMs?: number } = {}): Promise<ConsoleBrowser> {
  const { timeoutMs = 15_000, ...contextOptions } = options;
  const userDataDir = mkdtempSync(join(tmpdir(), 'otpgate-chromium-'));
  const removeProfile = () => rmSync(userDataDir, { recursive: true, force: true });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
      viewport: { width: 1280, height: 900 },
      locale: 'en-US',
      timezoneId: 'UTC',
      ...contextOptions,
    });
  } catch (err) {
    removeProfile();
    throw err;
  }
  context.setDefaultTimeout(timeoutMs);
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (err) => console.error('# page error:', err.message));
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      removeProfile();
    },
  };
}

export interface ApiRequest {
  method: string;
  url: string;
  body?: unknown;
}

/** Records every API request (`/v1/…`, `/cis/…`) the console sends to `origin`, with its body. */
export function recordApiRequests(context: BrowserContext, origin: string, sent: ApiRequest[]): void {
  const wanted = new URL(origin).origin;
  context.on('request', (req) => {
    const u = new URL(req.url());
    if (u.origin !== wanted || !/^\/(v1|cis)\//.test(u.pathname)) return;
    const raw = req.postData();
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    sent.push({ method: req.method(), url: u.pathname + u.search, ...(body === undefined ? {} : { body }) });
  });
}

/**
 * Layout problems of the page as it is now: sideways scrolling, elements or text beyond their
 * card (`.section`, `.card`; the viewport outside them), scroll containers that scroll sideways
 * (a `pre` may), and buttons that sit beside an input but not level with it.
 */
export const LAYOUT_PROBLEMS = `(() => {
  const problems = [];
  const vw = window.innerWidth;
  const sw = document.scrollingElement.scrollWidth;
  if (sw > vw) problems.push('the page scrolls sideways: scrollWidth ' + sw + ' > ' + vw);
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  // Not checked: what is not shown (visually hidden, in a closed <details>), and what scrolls on
  // purpose (code blocks, chart boxes, the data tables under the charts).
  const memo = new Map();
  const skipped = (el) => {
    if (memo.has(el)) return memo.get(el);
    let out = false;
    if (el.matches('.sr-only, pre, .chart-box, svg, option, datalist, template, .table-wrap:has(> table:not(.responsive))')) out = true;
    else {
      const cs = getComputedStyle(el);
      const parent = el.parentElement;
      if (cs.clip && cs.clip !== 'auto') out = true;
      else if (parent && parent.tagName === 'DETAILS' && !parent.open && el.tagName !== 'SUMMARY') out = true;
      else if (parent && parent !== document.body) out = skipped(parent);
    }
    memo.set(el, out);
    return out;
  };
  const cardOf = (el) => {
    const c = el.parentElement && el.parentElement.closest('.section, .card');
    if (c) { const r = c.getBoundingClientRect(); return { left: r.left, right: r.right, name: describe(c) }; }
    return { left: 0, right: vw, name: 'the viewport' };
  };
  for (const el of document.body.querySelectorAll('*')) {
    if (skipped(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.position === 'fixed') continue;
    const card = cardOf(el);
    if (r.right > card.right + 1 || r.left < card.left - 1) problems.push(describe(el) + ' spans ' + Math.round(r.left) + '…' + Math.round(r.right) + ', beyond ' + card.name + ' (' + Math.round(card.left) + '…' + Math.round(card.right) + ')');
    if ((cs.overflowX === 'auto' || cs.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) problems.push(describe(el) + ' scrolls sideways (' + el.scrollWidth + ' > ' + el.clientWidth + ')');
  }
  // Text that overflows its box (an unbreakable id in a narrow cell) is not in any element's rectangle.
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim() || skipped(el)) continue;
    let clip = null;
    for (let a = el; a && a !== document.body; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX !== 'visible') { clip = a; break; }
      if (a.matches('.section, .card')) break;
    }
    if (clip && getComputedStyle(clip).textOverflow === 'ellipsis') continue; // cut on purpose, full text in a title
    const range = document.createRange();
    range.selectNodeContents(n);
    const box = clip ? clip.getBoundingClientRect() : cardOf(n);
    for (const r of range.getClientRects()) {
      if (r.width === 0) continue;
      if (r.right > box.right + 1 || r.left < box.left - 1) { problems.push('text "' + n.textContent.trim().slice(0, 40) + '" in ' + describe(el) + ' runs to ' + Math.round(r.right) + ', beyond ' + Math.round(box.right)); break; }
    }
  }
  // A button beside an input (they overlap vertically) must be level with it.
  for (const btn of document.querySelectorAll('.btn')) {
    const scope = btn.closest('form, .section-actions');
    if (!scope || skipped(btn)) continue;
    const b = btn.getBoundingClientRect();
    if (b.height === 0) continue;
    for (const input of scope.querySelectorAll('input:not([type=checkbox]):not([type=radio]), select')) {
      const i = input.getBoundingClientRect();
      if (i.height === 0 || i.bottom <= b.top || i.top >= b.bottom) continue;
      if (Math.abs(i.top - b.top) > 2 && Math.abs(i.bottom - b.bottom) > 2) problems.push('button "' + btn.textContent.trim() + '" is ' + Math.round(b.top - i.top) + ' px off the ' + describe(input) + ' beside it');
    }
  }
  return [...new Set(problems)];
})()`;

/**
 * A full-page screenshot with the sticky top bar painted once, at the top. The style goes in as
 * a constructed stylesheet: the console's Content-Security-Policy refuses the `<style>` element
 * that Playwright's `style` option would add (and a test that needed it would hide a real
 * violation).
 */
export async function fullPageScreenshot(p: import('playwright-core').Page, path: string): Promise<void> {
  await p.evaluate(`(() => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync('.topbar { position: static !important; }');
    window.__screenshotSheet = sheet;
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  })()`);
  try {
    await p.screenshot({ path, fullPage: true, animations: 'disabled' });
  } finally {
    await p.evaluate(`document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== window.__screenshotSheet)`);
  }
}

/**
 * Waits until `selector` matches exactly `count` elements. A function predicate, not a string:
 * Playwright evaluates a string predicate with `eval`, which the console's CSP forbids.
 */
export async function waitForCount(p: import('playwright-core').Page, selector: string, count: number): Promise<void> {
  type Doc = { querySelectorAll(s: string): { length: number } };
  await p.waitForFunction(([sel, n]) => (globalThis as unknown as { document: Doc }).document.querySelectorAll(sel).length === n, [selector, count] as const);
}

/**
 * Waits until the page has laid out and painted what it holds now (two animation frames), e.g.
 * after a viewport resize: a frame, not a guess at how long layout takes.
 */
export async function settleLayout(p: Page): Promise<void> {
  await p.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))))');
}

/** Opens the console at `consoleUrl` and signs in with the admin key, up to the Tenants page. */
export async function signInWithAdminKey(p: Page, consoleUrl: string, adminKey: string): Promise<void> {
  await p.goto(consoleUrl);
  // Email and password is the default; the admin key is one click away.
  await p.getByRole('button', { name: 'Use an API key instead' }).click();
  await p.getByLabel('Admin key').fill(adminKey);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Tenants', level: 1 }).waitFor();
}

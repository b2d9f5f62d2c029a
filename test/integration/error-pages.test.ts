/**
 * The `type` of every problem document is a page this server serves: every code of the catalog
 * answers 200 at its `type`, relative without OTPGATE_PUBLIC_URL and absolute under it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { errorCatalog, errorCodes } from '../../src/errors/codes.js';
import { problemTypeFor } from '../../src/errors/problem.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

describe('error type links', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t?.close());

  test("a problem's type resolves, against the request's URL, to a page of this server that describes its code", async () => {
    const r = await t.call('GET', '/v1/nothing-here');
    assert.equal(r.statusCode, 404);
    const problem = r.json();
    assert.equal(problem.type, '/errors/route.not_found');
    const resolved = new URL(problem.type, 'http://127.0.0.1:8080/v1/nothing-here');
    const page = await t.call('GET', resolved.pathname);
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<code>route\.not_found<\/code>/);
    assert.match(page.body, /No route matches the method and path/, 'the meaning from docs/errors.md');
  });

  test(`every code of src/errors/codes.ts (${errorCodes.length}) answers 200 at its type, in HTML and in JSON, without a key`, async () => {
    for (const code of errorCodes) {
      const url = problemTypeFor(code);
      const html = await t.call('GET', url);
      assert.equal(html.statusCode, 200, `${code}: ${url} answered ${html.statusCode}`);
      assert.ok(html.body.includes(`<code>${code}</code>`), `${code}: the page names it`);
      assert.ok(html.body.includes(`HTTP ${errorCatalog[code].status}`), `${code}: the page gives its status`);
      assert.doesNotMatch(html.body, /<script/i);
      const json = await t.call('GET', url, { headers: { accept: 'application/json' } });
      assert.equal(json.statusCode, 200, code);
      assert.deepEqual({ ...(json.json() as Record<string, unknown>), meaning: undefined }, { code, status: errorCatalog[code].status, title: errorCatalog[code].title, meaning: undefined });
      assert.ok(json.json().meaning.length > 0, code);
    }
    const index = await t.call('GET', '/errors');
    assert.equal(index.statusCode, 200);
    for (const code of errorCodes) assert.ok(index.body.includes(`href="/errors/${code}"`), `the index links ${code}`);
  });

  test('the pages carry the CSP, whose style hash matches their one style block', async () => {
    const { createHash } = await import('node:crypto');
    const r = await t.call('GET', '/errors/otp.invalid');
    const policy = String(r.headers['content-security-policy']);
    assert.match(policy, /script-src 'self'/);
    assert.match(policy, /frame-ancestors 'none'/);
    const style = /<style>([^<]*)<\/style>/.exec(r.body)?.[1];
    assert.ok(style !== undefined);
    assert.ok(policy.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`), 'the inline style is allowed by its hash, nothing else inline');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  });

  test('an unknown code is a 404 problem naming it', async () => {
    const r = await t.call('GET', '/errors/otp.nope');
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().code, 'route.not_found');
    assert.match(r.json().detail, /otp\.nope/);
    assert.doesNotMatch(r.body, /<script/i);
  });
});

test('with OTPGATE_PUBLIC_URL the type is absolute under it (a path prefix kept), and that path is served', async () => {
  const t = await createTestApp({ env: { OTPGATE_PUBLIC_URL: 'https://otp.example.com/' } });
  try {
    const r = await t.call('POST', '/v1/otp/send', { body: {} });
    assert.equal(r.statusCode, 401);
    const type = r.json().type;
    assert.equal(type, 'https://otp.example.com/errors/auth.missing_credentials');
    assert.equal((await t.call('GET', new URL(type).pathname)).statusCode, 200);
  } finally {
    await t.close();
  }
});

/**
 * The browser-facing pages are sent like a security product's (CSP, nosniff, no referrer,
 * HSTS in production), and the console's hashed assets are sent pre-compressed and cached for
 * a year: through app.inject and through a real socket with Accept-Encoding.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { consoleDistDir } from '../../src/app.js';
import { createTestApp, type TestApp } from '../helpers/app.js';

const dist = consoleDistDir();
const skip = dist ? false : 'console/dist is not built: run `npm run build:console`';
if (skip) console.log(`# SKIP console header tests: ${skip}`);

/** The CSP's directives as a map: name → sources. */
function csp(header: unknown): Map<string, string[]> {
  assert.equal(typeof header, 'string', 'a Content-Security-Policy header');
  return new Map(
    (header as string)
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((p) => p[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

function assertSecurityHeaders(headers: Record<string, unknown>, where: string, production = false): Map<string, string[]> {
  const policy = csp(headers['content-security-policy']);
  assert.deepEqual(policy.get('script-src'), ["'self'"], `${where}: scripts from self only`);
  assert.deepEqual(policy.get('frame-ancestors'), ["'none'"], `${where}: never framed`);
  assert.deepEqual(policy.get('object-src'), ["'none'"], where);
  assert.equal(headers['x-content-type-options'], 'nosniff', where);
  assert.equal(headers['referrer-policy'], 'no-referrer', where);
  assert.equal(headers['x-frame-options'], 'DENY', where);
  if (production) assert.match(String(headers['strict-transport-security']), /^max-age=31536000\b/, `${where}: HSTS in production`);
  else assert.equal(headers['strict-transport-security'], undefined, `${where}: no HSTS outside production (plain http://127.0.0.1 must keep working)`);
  return policy;
}

function assets(): { js: string; css: string } {
  const names = readdirSync(join(dist!, 'assets'));
  const js = names.find((n) => /^index-[\w-]+\.js$/.test(n));
  const css = names.find((n) => /^index-[\w-]+\.css$/.test(n));
  assert.ok(js && css, `hashed assets in console/dist/assets: ${names.join(', ')}`);
  return { js, css };
}

describe('console and pages: security headers, compression, caching', { skip }, () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t?.close());

  test('/admin, a client-side route and the API reference carry the CSP, nosniff, no-referrer and no HSTS in development', async () => {
    for (const url of ['/admin/', '/admin/tenants/ten_x', '/docs', '/docs/static/index.html', `/admin/assets/${assets().js}`]) {
      const r = await t.call('GET', url);
      assert.ok(r.statusCode === 200 || r.statusCode === 302, `${url}: ${r.statusCode}`);
      assertSecurityHeaders(r.headers, url);
    }
    const index = await t.call('GET', '/admin/');
    assert.equal(csp(index.headers['content-security-policy']).get('style-src')?.join(' '), "'self'", 'the console needs no inline style');
    assert.equal(index.headers['cache-control'], 'no-cache', 'index.html names the current assets: revalidated on every load');
    assert.equal((await t.call('GET', '/admin/tenants/ten_x')).headers['cache-control'], 'no-cache');
  });

  test('hashed assets: cached for a year, immutable, Brotli or gzip as accepted, the same bytes once decoded', async () => {
    const { js, css } = assets();
    for (const name of [js, css]) {
      const original = readFileSync(join(dist!, 'assets', name));
      const url = `/admin/assets/${name}`;
      const br = await t.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
      assert.equal(br.statusCode, 200, url);
      assert.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable', url);
      assert.equal(br.headers['content-encoding'], 'br', url);
      assert.match(String(br.headers['vary']), /accept-encoding/i, url);
      assert.match(String(br.headers['content-type']), name.endsWith('.js') ? /javascript/ : /text\/css/, url);
      assert.ok(br.rawPayload.length < original.length / 2, `${url}: ${br.rawPayload.length} bytes sent for ${original.length}`);
      assert.ok(brotliDecompressSync(br.rawPayload).equals(original), `${url}: decodes to the built file`);
      const gz = await t.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip' } });
      assert.equal(gz.headers['content-encoding'], 'gzip', url);
      assert.ok(gunzipSync(gz.rawPayload).equals(original), url);
      const plain = await t.app.inject({ method: 'GET', url });
      assert.equal(plain.headers['content-encoding'], undefined, `${url}: a client that accepts no encoding gets the file as is`);
      assert.ok(plain.rawPayload.equals(original), url);
      assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable', url);
    }
  });

  test('a hashed asset that does not exist (an old hash after an upgrade) is a 404, not the index page', async () => {
    const r = await t.call('GET', '/admin/assets/index-0ld0ld.js');
    assert.equal(r.statusCode, 404);
    assert.equal(r.json().code, 'route.not_found');
  });

  test('through a real socket: the bundle comes Brotli-encoded with the year-long cache and the security headers', async () => {
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { js } = assets();
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const req = httpRequest(`${address}/admin/assets/${js}`, { headers: { 'accept-encoding': 'br, gzip' } }, (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
        r.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'br');
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.ok(brotliDecompressSync(res.body).equals(readFileSync(join(dist!, 'assets', js))));
    assertSecurityHeaders(res.headers, 'socket');
  });

  test('the JSON API is answered without the page headers (they would only cost the hot path)', async () => {
    const r = await t.call('GET', '/healthz');
    assert.equal(r.headers['content-security-policy'], undefined);
  });
});

describe('production: HSTS on the pages', { skip }, () => {
  test('/admin/ and /docs send Strict-Transport-Security with OTPGATE_ENV=production', async () => {
    const t = await createTestApp({ env: { OTPGATE_ENV: 'production' } });
    try {
      for (const url of ['/admin/', '/docs/static/index.html', '/errors']) assertSecurityHeaders((await t.call('GET', url)).headers, url, true);
    } finally {
      await t.close();
    }
  });
});

test('console/dist exists in CI (the header tests above must not skip there)', { skip: !process.env.CI }, () => {
  assert.ok(existsSync(join(dist ?? 'console/dist', 'index.html')));
});

#!/usr/bin/env node
/**
 * Checks the console's API client against a running otpgate: every route the client calls
 * (the `'METHOD /path'` keys of `Routes` in src/api/client.ts) must exist in the server's
 * /openapi.json with that method.
 *
 *   node console/scripts/check-openapi.mjs http://127.0.0.1:8080
 *
 * Exits 0 when all routes exist, 1 when some are missing (each listed), 2 on usage or fetch
 * errors. Also importable: `checkOpenapi(baseUrl)` resolves to `{ checked, missing }`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CLIENT = join(here, '..', 'src', 'api', 'client.ts');
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The routes the client calls, read from the `Routes` interface of client.ts. */
export function clientRoutes(source = readFileSync(CLIENT, 'utf8')) {
  const start = source.indexOf('export interface Routes');
  if (start < 0) throw new Error(`no "export interface Routes" in ${CLIENT}`);
  const body = source.slice(start, source.indexOf('\n}', start));
  const routes = [];
  for (const m of body.matchAll(/^\s*'([A-Z]+) (\/[^']*)'\s*:/gm)) {
    const [, method, path] = m;
    if (!METHODS.includes(method)) throw new Error(`unknown method ${method} in ${m[0].trim()}`);
    routes.push({ method, path });
  }
  if (routes.length === 0) throw new Error(`no routes found in ${CLIENT}`);
  return routes;
}

/** `{id}` and `:id` spell the same parameter; compare paths with parameter names erased. */
function shape(path) {
  return path
    .replace(/\/+$/, '')
    .replace(/\{[^}]+\}/g, '{}')
    .replace(/:[A-Za-z0-9_]+/g, '{}');
}

export async function checkOpenapi(baseUrl, opts = {}) {
  const url = new URL('/openapi.json', baseUrl);
  const res = await (opts.fetch ?? fetch)(url, { headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  const spec = await res.json();
  const available = new Map();
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    const methods = Object.keys(item ?? {}).map((k) => k.toUpperCase()).filter((k) => METHODS.includes(k));
    const key = shape(path);
    available.set(key, new Set([...(available.get(key) ?? []), ...methods]));
  }
  const checked = clientRoutes();
  const missing = checked.filter((r) => !available.get(shape(r.path))?.has(r.method));
  return { checked, missing };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const base = process.argv[2] ?? process.env.OTPGATE_URL;
  if (!base) {
    console.error('usage: node console/scripts/check-openapi.mjs <otpgate base URL>   (or set OTPGATE_URL)');
    process.exit(2);
  }
  try {
    const { checked, missing } = await checkOpenapi(base);
    for (const r of checked) {
      const bad = missing.includes(r);
      console.log(`${bad ? 'MISSING' : 'ok     '} ${r.method} ${r.path}`);
    }
    if (missing.length > 0) {
      console.error(`\n${missing.length} of ${checked.length} routes the console calls are not in ${base}/openapi.json`);
      process.exit(1);
    }
    console.log(`\nall ${checked.length} routes the console calls are in the server's OpenAPI document`);
  } catch (err) {
    console.error(`check-openapi: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
}

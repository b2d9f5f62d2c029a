import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { errorCatalog } from '../../src/errors/codes.js';

test('docs/errors.md and the error catalog list the same codes with the same statuses', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Map<string, number>();
  for (const m of doc.matchAll(/^\| `([a-z_.]+)` \| (\d{3}) \|/gm)) documented.set(m[1]!, Number(m[2]));
  for (const [code, entry] of Object.entries(errorCatalog)) {
    assert.ok(documented.has(code), `${code} is in the catalog but not in docs/errors.md`);
    assert.equal(documented.get(code), entry.status, `${code}: docs say ${documented.get(code)}, catalog ${entry.status}`);
  }
  for (const code of documented.keys()) assert.ok(code in errorCatalog, `${code} is documented but not in the catalog`);
});

test('every problem code the source throws is in the catalog', () => {
  const out = execSync("grep -rhoE \"AppError\\('[a-z_.]+'\" src", { encoding: 'utf8' }) as string;
  for (const m of out.matchAll(/AppError\('([a-z_.]+)'/g)) assert.ok(m[1]! in errorCatalog, `${m[1]} is thrown but not catalogued`);
});


test('every catalog code is answered somewhere: src/ outside the catalog constructs an AppError with it', () => {
  const root = new URL('../../src', import.meta.url).pathname;
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && p !== join(root, 'errors', 'codes.ts')) files.push(p);
    }
  };
  walk(root);
  const source = files.map((f) => readFileSync(f, 'utf8')).join('\n');
  // `new AppError('code'` only: a bare string could be anything (`'rate_limited'` is also a provider error kind).
  const thrown = new Set([...source.matchAll(/AppError\(\s*'([a-z_.]+)'/g)].map((m) => m[1]!));
  const unused = Object.keys(errorCatalog).filter((code) => !thrown.has(code));
  assert.deepEqual(unused, [], `catalog codes nothing answers with: ${unused.join(', ')} (implement them or remove them from codes.ts and docs/errors.md)`);
});

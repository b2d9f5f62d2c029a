import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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


import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { configSchema, envNames, type ParsedConfig } from '../../src/config/schema.js';
import { COMMAND_VARIABLES, TOOLING_VARIABLES } from '../../src/config/unknown-variables.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const variable = /OTPGATE_[A-Z0-9_]+/g;
const real = new Set(Object.values(envNames));
const names = (text: string | undefined): string[] => text?.match(variable) ?? [];

/** The rows (cells, trimmed) of the first Markdown table after `heading`, before the next heading. */
function tableAfter(file: string, heading: RegExp): string[][] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => heading.test(l));
  assert.ok(start >= 0, `${file} has no heading ${heading}`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,6} /.test(line)) break;
    if (line.startsWith('|')) rows.push(line.slice(1, line.endsWith('|') ? -1 : undefined).split('|').map((c) => c.trim()));
    else if (rows.length > 0) break;
  }
  assert.ok(rows.length > 2, `${file}: no table after ${heading}`);
  return rows.slice(2); // header and separator
}

const docRows = tableAfter('docs/configuration.md', /^# Configuration$/);

test('docs/configuration.md: every setting of src/config/schema.ts has a row, and every variable in the table is a setting', () => {
  const rowNames = new Set(docRows.flatMap((cells) => names(cells[0])));
  for (const [key, name] of Object.entries(envNames)) assert.ok(rowNames.has(name), `${name} (${key}) is a setting but has no row in docs/configuration.md`);
  for (const cells of docRows) {
    for (const name of names(cells.join(' | '))) assert.ok(real.has(name), `docs/configuration.md names ${name}, which is not a setting (envNames)`);
  }
});

test("docs/configuration.md: each row's default is the schema's default", () => {
  for (const [key, name] of Object.entries(envNames) as [keyof ParsedConfig, string][]) {
    const fallback = (configSchema.shape[key] as z.ZodType).safeParse(undefined);
    if (!fallback.success || fallback.data === undefined) continue; // no default: unset, generated, or required
    const row = docRows.find((cells) => names(cells[0]).includes(name) && !cells[0]?.includes('='));
    assert.ok(row, `${name} has no row`);
    assert.ok(row[1]?.includes(`\`${String(fallback.data)}\``), `${name}: docs say the default is ${row[1]}, the schema says \`${String(fallback.data)}\``);
  }
});

test("README's configuration table names only real settings", () => {
  const rows = tableAfter('README.md', /^## Configuration$/);
  const named = rows.flatMap((cells) => names(cells.join(' | ')));
  assert.ok(named.length > 0, 'the README table names no variable');
  for (const name of named) assert.ok(real.has(name), `README.md's configuration table names ${name}, which is not a setting (envNames)`);
});

test('no doc, README or source file names an OTPGATE_ variable that does not exist (OTPGATE_TEST_* and TOOLING_VARIABLES are the tooling\'s)', () => {
  const files = ['README.md'];
  const walk = (dir: string, ext: RegExp) => {
    for (const name of readdirSync(join(root, dir))) {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) walk(path, ext);
      else if (ext.test(name)) files.push(path);
    }
  };
  walk('docs', /\.md$/);
  walk('src', /\.ts$/);
  for (const file of files) {
    // A line quoting the unknown-variable warning names a misspelt variable on purpose.
    const text = readFileSync(join(root, file), 'utf8')
      .split('\n')
      .filter((line) => !line.includes('is not an otpgate setting; did you mean'))
      .join('\n');
    for (const name of names(text)) {
      // Not settings: what the tooling reads, and the new password `otpgate operator create|password` reads (docs/operators.md).
      if (name.startsWith('OTPGATE_TEST_') || TOOLING_VARIABLES.includes(name) || COMMAND_VARIABLES.includes(name)) continue;
      assert.ok(real.has(name), `${file} names ${name}, which is not a setting (src/config/schema.ts envNames)`);
    }
  }
});

test('docs/configuration.md: every tenant setting has a row, with the default of src/services/tenant-settings.ts for enumerated ones', async () => {
  const { tenantSettingsShape, defaultSettings } = await import('../../src/services/tenant-settings.js');
  const rows = tableAfter('docs/configuration.md', /^## Tenant settings$/);
  const documented = new Map(rows.map((cells) => [cells[0]?.replace(/`/g, ''), cells]));
  for (const key of Object.keys(tenantSettingsShape)) assert.ok(documented.has(key), `tenant setting ${key} has no row in docs/configuration.md`);
  for (const key of documented.keys()) assert.ok(key !== undefined && key in tenantSettingsShape, `docs/configuration.md documents ${key}, which is not a tenant setting`);
  for (const key of ['resend_policy', 'code_alphabet'] as const) {
    assert.ok(documented.get(key)?.[1]?.includes(`\`${defaultSettings[key]}\``), `${key}: the documented default is not \`${defaultSettings[key]}\``);
    const values = (tenantSettingsShape[key] as unknown as { options: string[] }).options;
    for (const v of values) assert.ok(documented.get(key)?.[2]?.includes(`\`${v}\``), `${key}: value ${v} is not documented`);
  }
});

test('every OTPGATE_ variable that src/, test/, bench/ or scripts/ reads from process.env is known, so the start-up check reports none of them as unknown', async () => {
  const { unknownVariables } = await import('../../src/config/unknown-variables.js');
  const read = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(join(root, dir))) {
      const path = join(dir, name);
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (/\.(ts|mjs|js)$/.test(name)) {
        for (const m of readFileSync(join(root, path), 'utf8').matchAll(/process\.env(?:\.|\[['"])(OTPGATE_[A-Z0-9_]+)/g)) read.add(m[1]!);
      }
    }
  };
  for (const dir of ['src', 'test', 'bench', 'scripts']) walk(dir);
  assert.ok(read.has('OTPGATE_TEST_PG_URL') && read.has('OTPGATE_CHROMIUM'), `the scan finds the tooling's variables: ${[...read].join(', ')}`);
  const env = Object.fromEntries([...read].map((name) => [name, 'x']));
  assert.deepEqual(unknownVariables(env), [], 'read somewhere but reported as unknown at start');
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { providerRegistry } from '../../src/providers/registry.js';
import type { ProviderDescriptor } from '../../src/providers/types.js';

const providersDir = join(import.meta.dirname, '..', '..', 'src', 'providers');
const folders = readdirSync(providersDir).filter((name) => statSync(join(providersDir, name)).isDirectory());

function isDescriptor(value: unknown): value is ProviderDescriptor<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['id'] === 'string' && typeof v['create'] === 'function' && v['configSchema'] instanceof z.ZodType;
}

/** Unwraps optional/default wrappers down to the field's base type. */
function baseType(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodOptional || s instanceof z.ZodDefault) s = s.unwrap() as z.ZodType;
  return s;
}

describe('provider registry', () => {
  it('registers every provider folder', async () => {
    assert.ok(folders.length >= 7);
    for (const folder of folders) {
      const mod = (await import(pathToFileURL(join(providersDir, folder, 'index.ts')).href)) as Record<string, unknown>;
      const descriptors = Object.values(mod).filter(isDescriptor);
      assert.ok(descriptors.length > 0, `${folder}/index.ts exports no descriptor`);
      for (const d of descriptors) assert.equal(providerRegistry.get(d.id), d, `${folder}: descriptor ${d.id} is not in registry.ts`);
    }
    assert.equal(providerRegistry.size, folders.length, 'the registry holds a descriptor without a folder');
  });

  it('uses the API kind names and config keys of DESIGN.md', () => {
    const expected: Record<string, string> = {
      Inbox: 'inbox',
      Twilio: 'twilio',
      MessageBird: 'messagebird',
      Textlocal: 'textlocal',
      InstaAlerts: 'instaalerts',
      SalesforceMarketingCloud: 'salesforce_marketing_cloud',
      CustomGateway: 'custom_gateway',
    };
    assert.deepEqual(Object.fromEntries([...providerRegistry.values()].map((d) => [d.id, d.configKey])), expected);
  });

  for (const descriptor of providerRegistry.values()) {
    describe(descriptor.id, () => {
      const schema = descriptor.configSchema;

      it('has a strict object schema whose keys are exactly the fields, endpoint included', async () => {
        assert.ok(schema instanceof z.ZodObject, 'configSchema must be a z.strictObject');
        const keys = Object.keys(schema.shape).sort();
        assert.ok(keys.includes('endpoint'));
        // Inbox accepts `endpoint` only for uniformity; it has nothing to configure, so no form.
        if (descriptor.id !== 'Inbox') assert.deepEqual(descriptor.fields.map((f) => f.name).sort(), keys);
        for (const fixture of await loadFixtures(descriptor.id)) {
          assert.equal(schema.safeParse({ ...fixture, unexpected: 1 }).success, false, 'unknown fields must be refused');
        }
      });

      it('types every secret as a string, with help for every field', () => {
        assert.ok(schema instanceof z.ZodObject);
        const shape = schema.shape as Record<string, z.ZodType>;
        for (const field of descriptor.fields) {
          const type = shape[field.name];
          assert.ok(type, `${field.name} has no schema`);
          if (field.type === 'secret') assert.ok(baseType(type) instanceof z.ZodString, `${field.name} is secret but not a string`);
          if (field.type === 'enum') assert.ok(baseType(type) instanceof z.ZodEnum && field.options?.length);
          assert.ok(field.help && field.help.length > 10, `${field.name} needs help text`);
          assert.equal(field.required, !(type instanceof z.ZodOptional || type instanceof z.ZodDefault), `${field.name}: required flag`);
        }
      });

      it('accepts its fixtures, with and without an endpoint', async () => {
        const fixtures = await loadFixtures(descriptor.id);
        if (descriptor.id === 'Inbox') return;
        assert.ok(fixtures.length > 0);
        for (const f of fixtures) {
          const parsed = schema.safeParse(f);
          assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
          assert.ok(schema.safeParse({ ...f, endpoint: 'http://127.0.0.1:8080' }).success);
        }
      });
    });
  }
});

const folderOf: Record<string, string> = {
  Twilio: 'twilio',
  MessageBird: 'messagebird',
  Textlocal: 'textlocal',
  InstaAlerts: 'instaalerts',
  SalesforceMarketingCloud: 'salesforce-marketing-cloud',
  CustomGateway: 'custom-gateway',
};
async function loadFixtures(id: string): Promise<Record<string, unknown>[]> {
  const folder = folderOf[id];
  if (!folder) return [];
  const file = join(providersDir, folder, 'fixtures.ts');
  assert.ok(existsSync(file), `${folder} has no fixtures.ts`);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, Record<string, Record<string, unknown>>>;
  return Object.values(mod).flatMap((group) => Object.values(group));
}

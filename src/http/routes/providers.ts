import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { providerRegistry, receiptKinds } from '../../providers/registry.js';
import { DEFAULT_KIND } from '../../services/provider-config-service.js';
import { actorOf, requireTenant } from '../plugins/auth.js';
import { errorResponses } from '../schemas/common.js';

const selection = z
  .object({ provider: z.string().max(64) })
  .catchall(z.unknown())
  .describe('{"provider": "<Kind>", "<kind_key>": {…settings…}, "fallback": {…same shape…} | null}');

const providerKinds = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      configKey: z.string().nullable(),
      displayName: z.string(),
      fields: z.array(
        z.object({
          name: z.string(),
          label: z.string(),
          type: z.enum(['string', 'secret', 'url', 'enum']),
          required: z.boolean(),
          options: z.array(z.string()).readonly().optional(),
          help: z.string().optional(),
          placeholder: z.string().optional(),
          default: z.string().optional(),
          destination: z.boolean().optional(),
          unsent: z.boolean().optional(),
        }),
      ).readonly(),
      available: z.boolean(),
      receipts_supported: z.boolean().describe('The kind’s adapter takes delivery receipts'),
      receipts: z.boolean().describe('otpgate asks for receipts (OTPGATE_PUBLIC_URL is set), so `sent` is not yet final'),
      live_check: z.boolean().describe('Saving the kind contacts the provider (a custom gateway’s challenge); the others are checked for format only'),
    }),
  ),
});
const configured = z
  .object({
    provider: z.string(),
    fallback: z.object({ provider: z.string() }).catchall(z.unknown()).nullable(),
    updated_at: z.string().nullable(),
    platform_default: z.string().nullable().describe('The platform Default’s kind, null when there is none'),
  })
  .catchall(z.unknown())
  .describe('{"provider": "<Kind>", "<kind_key>": {…settings, secrets as "********"…}, "fallback": {…} | null, …}');
const testResult = z.object({
  status: z.enum(['accepted', 'failed']),
  provider: z.string(),
  message_id: z.string(),
  provider_message_id: z.string().nullable(),
  latency_ms: z.number(),
  segments: z.number(),
  error: z.object({ kind: z.string(), provider_code: z.string().nullable(), http_status: z.number().nullable(), message: z.string() }).nullable(),
});

export function providerRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'providers' as const };

  // `receipts_supported`: the kind's adapter takes delivery receipts. `receipts`: otpgate asks for
  // them (there is an OTPGATE_PUBLIC_URL to post them to), so `sent` is not yet final.
  // `live_check`: saving the kind contacts the provider (a custom gateway's challenge); the
  // others are checked for format only.
  const asked = receiptKinds(deps.config.publicUrl);
  const kindView = (d: { id: string; receipts?: unknown; validate?: unknown }) => ({ receipts_supported: d.receipts !== undefined, receipts: asked.has(d.id), live_check: d.validate !== undefined });
  r.get('/v1/provider-kinds', { config: { access: 'public' }, schema: { tags: ['providers'], description: 'Every provider kind with its configuration fields (drives the console form), whether it sends delivery receipts, and whether saving it is checked live.', response: { 200: providerKinds, ...errorResponses } } }, async () => {
    const platform = deps.platform ? providerRegistry.get(deps.platform.kind) : undefined;
    return {
      items: [
        {
          id: DEFAULT_KIND,
          configKey: null,
          displayName: `Platform default${deps.platform ? ` (${deps.platform.kind})` : ' (not configured)'}`,
          fields: [],
          available: deps.platform !== null,
          ...(platform ? kindView(platform) : { receipts_supported: false, receipts: false }),
          live_check: false,
        },
        ...[...providerRegistry.values()].map((d) => ({ id: d.id, configKey: d.configKey, displayName: d.displayName, fields: d.fields, available: true, ...kindView(d) })),
      ],
    };
  });

  r.get('/cis/v1/tenantsmsproviders', { config: tenant, schema: { tags: ['providers'], description: 'The tenant’s provider configuration; secrets are masked.', response: { 200: configured, ...errorResponses } } }, async (request) =>
    deps.providers.get(requireTenant(request).id),
  );

  r.put(
    '/cis/v1/tenantsmsproviders',
    { config: tenant, schema: { tags: ['providers'], body: selection, description: 'Saves the provider (and fallback) after validating it; a custom gateway must pass its challenge. Secrets left out are kept.', response: { 200: configured, ...errorResponses } } },
    async (request) => deps.providers.put(requireTenant(request).id, request.body, actorOf(request)),
  );

  r.post(
    '/v1/sms-provider/test',
    {
      config: tenant,
      schema: {
        tags: ['providers'],
        description: 'Sends a test SMS now through the saved configuration, or the given unsaved one, and answers what the provider said.',
        body: z.strictObject({ phone_number: z.string().max(64), config: selection.optional() }),
        response: { 200: testResult, ...errorResponses },
      },
    },
    async (request) => deps.providers.sendTest(requireTenant(request), request.body),
  );
}

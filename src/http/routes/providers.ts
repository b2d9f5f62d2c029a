import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { providerRegistry, receiptKinds } from '../../providers/registry.js';
import { DEFAULT_KIND } from '../../services/provider-config-service.js';
import { actorOf, requireTenant } from '../plugins/auth.js';

const selection = z
  .object({ provider: z.string().max(64) })
  .catchall(z.unknown())
  .describe('{"provider": "<Kind>", "<kind_key>": {…settings…}, "fallback": {…same shape…} | null}');

export function providerRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'providers' as const };

  // `receipts_supported`: the kind's adapter takes delivery receipts. `receipts`: otpgate asks for
  // them (there is an OTPGATE_PUBLIC_URL to post them to), so `sent` is not yet final.
  // `live_check`: saving the kind contacts the provider (a custom gateway's challenge); the
  // others are checked for format only.
  const asked = receiptKinds(deps.config.publicUrl);
  const kindView = (d: { id: string; receipts?: unknown; validate?: unknown }) => ({ receipts_supported: d.receipts !== undefined, receipts: asked.has(d.id), live_check: d.validate !== undefined });
  r.get('/v1/provider-kinds', { config: { access: 'public' }, schema: { tags: ['providers'], description: 'Every provider kind with its configuration fields (drives the console form), whether it sends delivery receipts, and whether saving it is checked live.' } }, async () => {
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

  r.get('/cis/v1/tenantsmsproviders', { config: tenant, schema: { tags: ['providers'], description: 'The tenant’s provider configuration; secrets are masked.' } }, async (request) =>
    deps.providers.get(requireTenant(request).id),
  );

  r.put(
    '/cis/v1/tenantsmsproviders',
    { config: tenant, schema: { tags: ['providers'], body: selection, description: 'Saves the provider (and fallback) after validating it; a custom gateway must pass its challenge. Secrets left out are kept.' } },
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
      },
    },
    async (request) => deps.providers.sendTest(requireTenant(request), request.body),
  );
}

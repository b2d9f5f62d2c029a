import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { isValidLocale, isValidPurpose } from '../../domain/template.js';
import { actorOf, requireTenant } from '../plugins/auth.js';

const params = z.strictObject({
  purpose: z.string().max(32).refine(isValidPurpose, 'must be lower-case letters, digits and _'),
  locale: z.string().max(35).refine(isValidLocale, 'must be a locale such as en or pt-BR'),
});

export function templateRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'settings' as const };

  r.get('/v1/templates', { config: tenant, schema: { tags: ['templates'], description: 'The tenant’s own templates and the built-in defaults.' } }, async (request) => ({
    items: await deps.templates.list(requireTenant(request).id),
    defaults: deps.templates.builtIns(),
  }));

  r.get('/v1/templates/:purpose/:locale', { config: tenant, schema: { tags: ['templates'], params, description: 'The template a send would use (with locale fallback pt-BR → pt → en), its encoding and segments.' } }, async (request) => {
    const t = requireTenant(request);
    return deps.templates.get(t.id, request.params.purpose, request.params.locale, t.settings, t.name);
  });

  r.put(
    '/v1/templates/:purpose/:locale',
    { config: tenant, schema: { tags: ['templates'], params, body: z.strictObject({ body: z.string().max(1000) }), description: 'Must contain {{code}}; refused when it renders over the tenant’s max_segments.' } },
    async (request) => {
      const t = requireTenant(request);
      return deps.templates.put(t.id, request.params.purpose, request.params.locale, request.body.body, t.settings, t.name, actorOf(request));
    },
  );

  r.delete('/v1/templates/:purpose/:locale', { config: tenant, schema: { tags: ['templates'], params } }, async (request, reply) => {
    await deps.templates.remove(requireTenant(request).id, request.params.purpose, request.params.locale, actorOf(request));
    return reply.code(204).send();
  });
}

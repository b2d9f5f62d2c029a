import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { isValidLocale, isValidPurpose } from '../../domain/template.js';
import { actorOf, requireTenant } from '../plugins/auth.js';
import { errorResponses, noContent } from '../schemas/common.js';

const params = z.strictObject({
  purpose: z.string().max(32).refine(isValidPurpose, 'must be lower-case letters, digits and _'),
  locale: z.string().max(35).refine(isValidLocale, 'must be a locale such as en or pt-BR'),
});

const templateView = z.object({
  purpose: z.string(),
  locale: z.string().describe('The locale asked for'),
  resolved_locale: z.string().nullable().describe('The locale whose template is used (after falling back pt-BR → pt → en); null for the built-in default'),
  body: z.string(),
  is_default: z.boolean().describe('True when no tenant template applies and the built-in default is used'),
  encoding: z.enum(['GSM-7', 'UCS-2']),
  segments: z.number(),
  characters: z.number(),
  preview: z.string().describe('The message as a user would receive it, with a sample code'),
  updated_at: z.string().nullable(),
});
const templateList = z.object({
  items: z.array(z.object({ purpose: z.string(), locale: z.string(), body: z.string(), encoding: z.string(), segments: z.number(), updated_at: z.string() })),
  defaults: z.array(z.object({ purpose: z.string(), body: z.string() })).describe('The built-in templates'),
});

export function templateRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'settings' as const };

  r.get('/v1/templates', { config: tenant, schema: { tags: ['templates'], description: 'The tenant’s own templates and the built-in defaults.', response: { 200: templateList, ...errorResponses } } }, async (request) => ({
    items: await deps.templates.list(requireTenant(request).id),
    defaults: deps.templates.builtIns(),
  }));

  r.get('/v1/templates/:purpose/:locale', { config: tenant, schema: { tags: ['templates'], params, description: 'The template a send would use (with locale fallback pt-BR → pt → en), its encoding and segments.', response: { 200: templateView, ...errorResponses } } }, async (request) => {
    const t = requireTenant(request);
    return deps.templates.get(t.id, request.params.purpose, request.params.locale, t.settings, t.name);
  });

  r.put(
    '/v1/templates/:purpose/:locale',
    { config: tenant, schema: { tags: ['templates'], params, body: z.strictObject({ body: z.string().max(1000) }), description: 'Must contain {{code}}; refused when it renders over the tenant’s max_segments.', response: { 200: templateView, ...errorResponses } } },
    async (request) => {
      const t = requireTenant(request);
      return deps.templates.put(t.id, request.params.purpose, request.params.locale, request.body.body, t.settings, t.name, actorOf(request));
    },
  );

  r.delete('/v1/templates/:purpose/:locale', { config: tenant, schema: { tags: ['templates'], params, response: { 204: noContent, ...errorResponses } } }, async (request, reply) => {
    await deps.templates.remove(requireTenant(request).id, request.params.purpose, request.params.locale, actorOf(request));
    return reply.code(204).send();
  });
}

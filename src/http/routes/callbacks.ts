import { z } from 'zod';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import type { CallbackRequest } from '../../providers/types.js';
import { errorResponses } from '../schemas/common.js';

function toCallbackRequest(request: FastifyRequest, publicUrl: string | undefined, now: number): CallbackRequest {
  const base = publicUrl ? publicUrl.replace(/\/$/, '') : `${request.protocol}://${request.host}`;
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  const query: Record<string, string> = {};
  const qs = request.url.indexOf('?');
  if (qs >= 0) for (const [k, v] of new URLSearchParams(request.url.slice(qs + 1))) query[k] = v;
  return { method: request.method, url: base + request.url, headers, query, now, rawBody: typeof request.body === 'string' ? request.body : request.body === undefined ? '' : JSON.stringify(request.body) };
}

/** Delivery receipts from providers. Signatures are checked by each provider's adapter. */
export function callbackRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const params = z.strictObject({ provider: z.string().max(64), tenant_id: z.string().max(64) });
  const handler = async (request: FastifyRequest<{ Params: { provider: string; tenant_id: string } }>) => {
    const result = await deps.receipts.handle(request.params.provider, request.params.tenant_id, toCallbackRequest(request, deps.config.publicUrl, deps.clock.now()));
    return { ok: true as const, ...result };
  };
  const schema = {
    tags: ['callbacks'],
    description: 'A provider’s delivery receipts, signed in its own scheme.',
    security: [],
    params,
    response: { 200: z.object({ ok: z.literal(true), applied: z.number().describe('Receipts that changed a message'), received: z.number() }), ...errorResponses },
  };
  r.post('/v1/callbacks/:provider/:tenant_id', { config: { access: 'public' }, schema }, handler);
  r.get('/v1/callbacks/:provider/:tenant_id', { config: { access: 'public' }, schema }, handler);
}

import { z } from 'zod';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { platforms, type PlatformAnswer, type ReceiverRequest } from '../../receivers/types.js';
import { actorOf, requireTenant } from '../plugins/auth.js';
import { errorResponses, noContent } from '../schemas/common.js';

const platform = z.enum(platforms).describe('The identity platform');

const saved = z.object({
  platform,
  enabled: z.boolean(),
  url: z.string().describe('The URL to give the platform'),
  secret: z.string().optional().describe('Only when otpgate made the secret (no `secrets` given): shown this once'),
});

const view = z.object({
  platform,
  enabled: z.boolean(),
  url: z.string(),
  secrets: z.number().describe('Active secrets: 1, or 2 during a rotation (never shown)'),
  created_at: z.string(),
  updated_at: z.string(),
});

/** The public URL base of the receiver routes: OTPGATE_PUBLIC_URL, else how this request reached us. */
function baseOf(request: FastifyRequest, publicUrl: string | undefined): string {
  return publicUrl ? publicUrl.replace(/\/$/, '') : `${request.protocol}://${request.host}`;
}

function toReceiverRequest(request: FastifyRequest, tenantId: string, now: number): ReceiverRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  const rawBody = typeof request.body === 'string' ? request.body : '';
  let body: unknown;
  try {
    body = rawBody === '' ? undefined : JSON.parse(rawBody);
  } catch {
    body = undefined;
  }
  return { headers, rawBody, body, now, tenantId };
}

function send(reply: FastifyReply, answer: PlatformAnswer) {
  for (const [k, v] of Object.entries(answer.headers ?? {})) reply.header(k, v);
  reply.code(answer.status);
  return answer.body === undefined ? reply.send() : reply.type('application/json').send(JSON.stringify(answer.body));
}

/**
 * DESIGN.md "Platform receivers and events": each platform's own call and answer at
 * `/v1/receivers/{platform}/{tenant_id}` (public: the platform authenticates with its own
 * scheme), and the tenant's configuration of them.
 */
export function receiverRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'events' as const };

  r.put(
    '/v1/receivers/:platform',
    {
      config: tenant,
      schema: {
        tags: ['receivers'],
        description:
          'Turns a platform receiver on or off and sets its secrets: the one the platform gave or the user chose (Supabase `v1,whsec_…`, Logto’s Authorization value, Auth0’s gateway secret, ZITADEL’s signing key, the Kratos or Mosaic API key), two during a rotation. Without `secrets`, otpgate makes one and answers it this once (not for ZITADEL, which makes its own). Secrets are never shown again.',
        params: z.strictObject({ platform: z.string().max(32) }),
        body: z.strictObject({ enabled: z.boolean(), secrets: z.array(z.string().min(1).max(512)).min(1).max(2).optional() }),
        response: { 200: saved, ...errorResponses },
      },
    },
    async (request) => deps.receivers.configure(requireTenant(request), request.params.platform, request.body, actorOf(request), baseOf(request, deps.config.publicUrl)),
  );

  r.get(
    '/v1/receivers',
    { config: tenant, schema: { tags: ['receivers'], description: 'The tenant’s platform receivers (never their secrets).', response: { 200: z.object({ items: z.array(view), next_cursor: z.null() }), ...errorResponses } } },
    async (request) => deps.receivers.list(requireTenant(request), baseOf(request, deps.config.publicUrl)),
  );

  r.delete(
    '/v1/receivers/:platform',
    { config: tenant, schema: { tags: ['receivers'], description: 'Removes a platform receiver and its secrets (audited); its calls are answered 404 from then on.', params: z.strictObject({ platform: z.string().max(32) }), response: { 204: noContent, ...errorResponses } } },
    async (request, reply) => {
      await deps.receivers.remove(requireTenant(request), request.params.platform, actorOf(request));
      return reply.code(204).send();
    },
  );

  // The platforms' own calls: the body is kept as received (signatures are over its bytes)
  // and parsed by the receiver, which answers malformed JSON in the platform's 400 form.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    const params = z.strictObject({ platform: z.string().max(32), tenant_id: z.string().max(64) });
    const s = scope.withTypeProvider<ZodTypeProvider>();
    const handler = (method: 'POST' | 'GET') => async (request: FastifyRequest<{ Params: { platform: string; tenant_id: string } }>, reply: FastifyReply) =>
      send(reply, await deps.receivers.handle(request.params.platform, toReceiverRequest(request, request.params.tenant_id, deps.clock.now()), method));
    // Each platform has its own answer (and error) form: documented as any JSON, not as ours.
    const answer = { 200: z.unknown().describe('The platform’s own answer form (docs/integrations.md)') };
    s.post(
      '/v1/receivers/:platform/:tenant_id',
      { config: { access: 'public' }, schema: { tags: ['receivers'], description: 'A platform’s SMS request, in its own form and authentication (docs/integrations.md); answered in its own form.', security: [], params, response: answer } },
      handler('POST'),
    );
    s.get(
      '/v1/receivers/:platform/:tenant_id',
      { config: { access: 'public' }, schema: { tags: ['receivers'], description: 'Mosaic’s gateway validation challenge: `X-API-Key` and `X-Verification-Key`, answered `{"key": …}`.', security: [], params, response: answer } },
      handler('GET'),
    );
  });
}

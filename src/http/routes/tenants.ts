import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { API_KEY_SCOPES } from '../../domain/scopes.js';
import { parseScopes } from '../../services/api-key-service.js';
import { actorOf } from '../plugins/auth.js';
import { cursorOf, errorResponses, listQuery, noContent, page } from '../schemas/common.js';

const tenantParams = z.strictObject({ id: z.string().min(1).max(64) });
const name = z.string().trim().min(1).max(100);
const search = z
  .string()
  .trim()
  .max(100)
  // Control characters cannot be in a name or an id; refusing them keeps a stray paste from looking like "no match".
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
  .optional()
  .describe('Only tenants whose name contains this text or whose id starts with it (case-insensitive); empty: every tenant.');
const settings = z.record(z.string(), z.unknown()).describe('Tenant settings (see docs/configuration.md); unknown settings are rejected.');

const tenantView = z.object({
  id: z.string(),
  name: z.string(),
  settings: z.record(z.string(), z.unknown()).describe('Every setting, defaults filled in (docs/configuration.md)'),
  created_at: z.string(),
  updated_at: z.string(),
});
const apiKeyView = z.object({
  id: z.string().describe('Also the OAuth client_id'),
  tenant_id: z.string(),
  name: z.string().nullable(),
  prefix: z.string().describe('The first characters of the key, to recognise it'),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  scopes: z.array(z.enum(API_KEY_SCOPES)),
});
export const auditRecord = z.object({
  id: z.string(),
  tenant_id: z.string().nullable(),
  actor: z.string(),
  actor_type: z.enum(['operator', 'api_key', 'admin_key', 'system']).nullable().describe('Who acted, by kind; null on entries older than operators'),
  actor_email: z.string().nullable().describe('The operator’s email when an operator acted'),
  action: z.string(),
  target: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  created_at: z.string(),
});

export function tenantRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const admin = { access: 'admin' as const };
  // One tenant's own record: a tenant_admin reaches it for its tenants (src/http/access.ts).
  const record = { access: 'tenant_record' as const };

  r.post('/v1/tenants', { config: admin, schema: { tags: ['tenants'], body: z.strictObject({ name, settings: settings.optional() }), response: { 201: tenantView, ...errorResponses } } }, async (request, reply) => {
    const t = await deps.tenants.create({ name: request.body.name, settings: request.body.settings }, actorOf(request));
    return reply.code(201).send(t);
  });

  r.get('/v1/tenants', { config: admin, schema: { tags: ['tenants'], querystring: z.strictObject({ ...listQuery, q: search }), response: { 200: page(tenantView), ...errorResponses } } }, async (request) => {
    return deps.tenants.list(request.query.limit, cursorOf(request.query.cursor, 'ten'), request.query.q || undefined);
  });

  r.get('/v1/tenants/:id', { config: record, schema: { tags: ['tenants'], params: tenantParams, response: { 200: tenantView, ...errorResponses } } }, async (request) => deps.tenants.get(request.params.id));

  r.patch(
    '/v1/tenants/:id',
    { config: record, schema: { tags: ['tenants'], params: tenantParams, body: z.strictObject({ name: name.optional(), settings: settings.optional() }), response: { 200: tenantView, ...errorResponses } } },
    async (request) => deps.tenants.update(request.params.id, { ...(request.body.name !== undefined ? { name: request.body.name } : {}), ...(request.body.settings !== undefined ? { settings: request.body.settings } : {}) }, actorOf(request)),
  );

  r.delete(
    '/v1/tenants/:id',
    {
      config: admin,
      schema: {
        tags: ['tenants'],
        description:
          'Deletes the tenant: at once it is gone from every read, its API keys and operators\' access with it, and nothing it had waiting is sent. Its stored rows are then erased in the background, in bounded batches (docs/data-lifecycle.md, "Deleting a tenant").',
        params: tenantParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deps.tenants.remove(request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  r.post(
    '/v1/tenants/:id/api-keys',
    {
      config: record,
      schema: {
        tags: ['api keys'],
        params: tenantParams,
        body: z
          .strictObject({
            name: z.string().trim().min(1).max(100).optional(),
            scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(API_KEY_SCOPES.length).optional().describe('What the key may do (docs/api-keys.md); left out: every scope'),
          })
          .optional(),
        response: { 201: apiKeyView.extend({ key: z.string().describe('The key itself: shown this once') }), ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await deps.apiKeys.create(request.params.id, request.body?.name ?? null, actorOf(request), parseScopes(request.body?.scopes))),
  );

  r.get('/v1/tenants/:id/api-keys', { config: record, schema: { tags: ['api keys'], params: tenantParams, querystring: z.strictObject(listQuery), response: { 200: page(apiKeyView), ...errorResponses } } }, async (request) => {
    await deps.tenants.get(request.params.id);
    return deps.apiKeys.list(request.params.id, request.query.limit, cursorOf(request.query.cursor, 'key'));
  });

  r.delete(
    '/v1/tenants/:id/api-keys/:key_id',
    { config: record, schema: { tags: ['api keys'], params: z.strictObject({ id: z.string().min(1).max(64), key_id: z.string().min(1).max(64) }), response: { 204: noContent, ...errorResponses } } },
    async (request, reply) => {
      await deps.apiKeys.revoke(request.params.id, request.params.key_id, actorOf(request));
      return reply.code(204).send();
    },
  );

  r.get(
    '/v1/platform/audit-log',
    {
      config: admin,
      schema: { tags: ['audit'], description: "The platform's own audit entries, which belong to no tenant: operators (created, changed, signed in, removed) and deleted tenants.", querystring: z.strictObject(listQuery), response: { 200: page(auditRecord), ...errorResponses } },
    },
    async (request) => deps.audit.list(null, request.query.limit, cursorOf(request.query.cursor, 'aud')),
  );

  r.get('/v1/tenants/:id/audit-log', { config: record, schema: { tags: ['audit'], params: tenantParams, querystring: z.strictObject(listQuery), response: { 200: page(auditRecord), ...errorResponses } } }, async (request) => {
    await deps.tenants.get(request.params.id);
    return deps.audit.list(request.params.id, request.query.limit, cursorOf(request.query.cursor, 'aud'));
  });
}

import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { OPERATOR_ROLES } from '../../domain/roles.js';
import { actorOf } from '../plugins/auth.js';
import { cursorOf, errorResponses, listQuery, noContent, page } from '../schemas/common.js';

const params = z.strictObject({ id: z.string().min(1).max(64) });
// The role is checked by the service, so an unknown one is `operator.unknown_role`, not a schema error.
const role = z.string().max(32).describe(`One of ${OPERATOR_ROLES.join(', ')}`);
const tenantIds = z.array(z.string().min(1).max(64)).max(1000).describe('The tenants of a tenant_admin');
const password = z.string().max(1024).describe('At least 12 characters; never returned or logged');

/** An operator account as the API answers it (never the password hash or the authenticator secret). */
export const operatorView = z
  .object({
    id: z.string(),
    email: z.string(),
    role: z.enum(OPERATOR_ROLES),
    tenant_ids: z.array(z.string()).describe('The tenants of a tenant_admin; empty for the other roles'),
    totp_enabled: z.boolean(),
    has_password: z.boolean(),
    disabled: z.boolean(),
    created_at: z.string(),
    updated_at: z.string(),
    last_sign_in_at: z.string().nullable(),
  })
  .meta({ id: 'Operator' });

/** Operator accounts: the admin key or an owner (docs/operators.md). */
export function operatorRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const owner = { access: 'operators' as const };

  r.post(
    '/v1/operators',
    { config: owner, schema: { tags: ['operators'], body: z.strictObject({ email: z.string().max(320), role, password: password.optional(), tenant_ids: tenantIds.optional() }), response: { 201: operatorView, ...errorResponses } } },
    async (request, reply) => reply.code(201).send(await deps.operators.create(request.body, actorOf(request))),
  );

  r.get('/v1/operators', { config: owner, schema: { tags: ['operators'], querystring: z.strictObject(listQuery), response: { 200: page(operatorView), ...errorResponses } } }, async (request) =>
    deps.operators.list(request.query.limit, cursorOf(request.query.cursor, 'opr')),
  );

  r.get('/v1/operators/:id', { config: owner, schema: { tags: ['operators'], params, response: { 200: operatorView, ...errorResponses } } }, async (request) => deps.operators.get(request.params.id));

  r.patch(
    '/v1/operators/:id',
    {
      config: owner,
      schema: {
        tags: ['operators'],
        params,
        body: z.strictObject({ role: role.optional(), tenant_ids: tenantIds.optional(), password: password.optional(), disabled: z.boolean().optional(), reset_totp: z.literal(true).optional() }),
        response: { 200: operatorView, ...errorResponses },
      },
    },
    async (request) => deps.operators.update(request.params.id, request.body, actorOf(request)),
  );

  r.delete('/v1/operators/:id', { config: owner, schema: { tags: ['operators'], params, response: { 204: noContent, ...errorResponses } } }, async (request, reply) => {
    await deps.operators.remove(request.params.id, actorOf(request));
    return reply.code(204).send();
  });
}

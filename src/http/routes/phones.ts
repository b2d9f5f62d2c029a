import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { phoneDataTables } from '../../services/phone-data-service.js';
import { actorOf, requireTenant } from '../plugins/auth.js';
import { errorResponses } from '../schemas/common.js';

// The number travels in the body, not the path: URLs end up in access logs and proxies.
const body = z.strictObject({ phone_number: z.string().max(64).describe('The number, E.164 or international format') });
const rows = z.array(z.record(z.string(), z.unknown()));
const perTable = <T extends z.ZodType>(value: T) => z.object(Object.fromEntries(phoneDataTables.map((t) => [t, value])) as Record<(typeof phoneDataTables)[number], T>);

const exportResponse = z.object({
  phone_number: z.string(),
  tenant_id: z.string(),
  generated_at: z.string(),
  data: perTable(rows).describe('Every row about the number, per table; never a code, an HMAC, a sealed body or a secret'),
  total_rows: z.number(),
});
const eraseResponse = z.object({
  erased: perTable(z.number()).describe('Rows deleted or anonymised per table'),
  total_rows: z.number(),
});

/** docs/data-lifecycle.md: a number's data for an access request, and its erasure. */
export function phoneRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'settings' as const };

  r.post(
    '/v1/phones/export',
    {
      config: tenant,
      schema: {
        tags: ['data lifecycle'],
        description: "Everything the tenant's store holds about one phone number (an access request). Audited.",
        body,
        response: { 200: exportResponse, ...errorResponses },
      },
    },
    async (request) => deps.phones.export(requireTenant(request), request.body.phone_number, actorOf(request)),
  );

  r.post(
    '/v1/phones/erase',
    {
      config: tenant,
      schema: {
        tags: ['data lifecycle'],
        description: "Deletes or anonymises every row about one phone number in the tenant's store; stats totals stay. Idempotent; audited.",
        body,
        response: { 200: eraseResponse, ...errorResponses },
      },
    },
    async (request) => deps.phones.erase(requireTenant(request), request.body.phone_number, actorOf(request)),
  );
}

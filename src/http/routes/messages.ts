import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { normalizePhone } from '../../domain/phone.js';
import { AppError } from '../../errors/app-error.js';
import { statsWindows, type StatsWindow } from '../../services/stats-service.js';
import { requireTenant } from '../plugins/auth.js';
import { cursorOf, listQuery } from '../schemas/common.js';

const statuses = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed'] as const;

export function messageRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // Reading the log, inbox and stats is `messages:read`; sending an event SMS is a send (`otp`);
  // the audit log belongs with the settings it records.
  const read = { access: 'tenant' as const, scope: 'messages:read' as const };
  const send = { access: 'tenant' as const, scope: 'otp' as const };
  const settings = { access: 'tenant' as const, scope: 'settings' as const };

  r.get(
    '/v1/messages',
    {
      config: read,
      schema: {
        tags: ['messages'],
        description: 'The message log, newest first. Bodies show any code masked.',
        querystring: z.strictObject({
          ...listQuery,
          status: z.enum(statuses).optional(),
          phone_number: z.string().max(64).optional(),
          purpose: z.string().max(32).optional(),
          kind: z.enum(['otp', 'event', 'test']).optional(),
        }),
      },
    },
    async (request) => {
      const q = request.query;
      let phone: string | undefined;
      if (q.phone_number !== undefined) {
        const n = normalizePhone(q.phone_number);
        if (!n.ok) throw new AppError('phone.invalid', n.reason, { issues: [{ path: 'phone_number', message: n.reason }] });
        phone = n.e164;
      }
      const beforeId = cursorOf(q.cursor, 'msg');
      return deps.messages.list(
        requireTenant(request).id,
        { ...(q.status ? { status: q.status } : {}), ...(phone ? { phone } : {}), ...(q.purpose ? { purpose: q.purpose } : {}), ...(q.kind ? { kind: q.kind } : {}), ...(beforeId ? { beforeId } : {}) },
        q.limit,
      );
    },
  );

  r.get('/v1/messages/:id', { config: read, schema: { tags: ['messages'], params: z.strictObject({ id: z.string().min(1).max(64) }) } }, async (request) =>
    deps.messages.get(requireTenant(request).id, request.params.id),
  );

  r.post(
    '/v1/messages',
    {
      config: send,
      schema: {
        tags: ['messages'],
        description: 'An event SMS (not a passcode) through the same outbox: a literal body, or a template with variables. 409 provider.not_configured when the tenant has no provider and there is no platform Default.',
        body: z.union([
          z.strictObject({ to: z.string().max(64), body: z.string().min(1).max(1600) }),
          z.strictObject({ to: z.string().max(64), template: z.string().min(1).max(1600), variables: z.record(z.string().max(40), z.string().max(500)).optional() }),
        ]),
      },
    },
    async (request, reply) => {
      const tenant = requireTenant(request);
      await deps.providers.requireUsable(tenant.id);
      return reply.code(202).send(await deps.messages.createEvent(tenant, request.body));
    },
  );

  r.get(
    '/v1/inbox',
    {
      config: read,
      schema: { tags: ['inbox'], description: 'Messages the Inbox provider captured (development), newest first, with their codes.', querystring: z.strictObject({ ...listQuery, phone_number: z.string().max(64).optional() }) },
    },
    async (request) => deps.messages.listInbox(requireTenant(request).id, request.query.phone_number, request.query.limit, cursorOf(request.query.cursor, 'inb')),
  );

  r.get(
    '/v1/stats',
    { config: read, schema: { tags: ['messages'], description: 'Sends, delivery, verify conversion and provider latency over time.', querystring: z.strictObject({ window: z.enum(Object.keys(statsWindows) as [StatsWindow, ...StatsWindow[]]).default('24h') }) } },
    async (request) => deps.stats.overview(requireTenant(request).id, request.query.window),
  );

  r.get('/v1/audit-log', { config: settings, schema: { tags: ['audit'], querystring: z.strictObject(listQuery) } }, async (request) =>
    deps.audit.list(requireTenant(request).id, request.query.limit, cursorOf(request.query.cursor, 'aud')),
  );
}

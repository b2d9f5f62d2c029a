import { Readable } from 'node:stream';
import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { normalizePhone } from '../../domain/phone.js';
import { AppError } from '../../errors/app-error.js';
import { hashPhone } from '../../crypto/hmac.js';
import type { MessageFilter } from '../../store/queries/messages.js';
import { statsWindows, type StatsWindow } from '../../services/stats-service.js';
import { requireTenant } from '../plugins/auth.js';
import { cursorOf, errorResponses, listQuery, page } from '../schemas/common.js';
import { auditRecord } from './tenants.js';

const statuses = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed'] as const;

const attemptView = z.object({
  attempt: z.number(),
  provider: z.string(),
  slot: z.string(),
  started_at: z.string(),
  latency_ms: z.number(),
  outcome: z.enum(['accepted', 'failed']),
  error_kind: z.string().nullable(),
  provider_code: z.string().nullable(),
  http_status: z.number().nullable(),
  error_message: z.string().nullable(),
  provider_message_id: z.string().nullable(),
});
const messageView = z.object({
  id: z.string(),
  kind: z.enum(['otp', 'event', 'test']),
  to: z.string(),
  purpose: z.string().nullable(),
  challenge_id: z.string().nullable(),
  body: z.string().describe('The text with any passcode replaced by `*`'),
  encoding: z.string(),
  segments: z.number(),
  status: z.enum(statuses),
  attempts: z.number(),
  provider: z.string().nullable(),
  provider_message_id: z.string().nullable(),
  error: z.object({ kind: z.string().nullable(), code: z.string().nullable(), message: z.string().nullable() }).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  sent_at: z.string().nullable(),
  delivered_at: z.string().nullable(),
  next_attempt_at: z.string().nullable(),
  attempt_log: z.array(attemptView).optional().describe('Each provider attempt (one message only)'),
});
const inboxItem = z.object({ id: z.string(), message_id: z.string(), to: z.string(), body: z.string().describe('The message as sent, code included (the Inbox provider is for development)'), created_at: z.string() });
const statsBucket = z.object({
  start: z.string(),
  sends: z.number(),
  sent: z.number(),
  delivered: z.number(),
  undelivered: z.number(),
  failed: z.number(),
  challenges: z.number(),
  verified: z.number(),
  attempts: z.number(),
  failed_attempts: z.number(),
  avg_provider_latency_ms: z.number().nullable(),
  latency_by_provider: z.record(z.string(), z.number()),
});
const isoDate = /^\d{4}-\d{2}-\d{2}$/;
const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Epoch ms of an ISO 8601 date (midnight UTC; with `endOfDay`, the next midnight) or date-time with a zone. */
function timeOf(v: string, endOfDay: boolean): number | undefined {
  if (isoDate.test(v)) {
    const t = Date.parse(`${v}T00:00:00Z`);
    if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== v) return undefined;
    return endOfDay ? t + 86_400_000 : t;
  }
  if (!isoDateTime.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

export function messageRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  // Reading the log, inbox and stats is `messages:read`; sending an event SMS is a send (`otp`);
  // the audit log belongs with the settings it records.
  const read = { access: 'tenant' as const, scope: 'messages:read' as const };
  const send = { access: 'tenant' as const, scope: 'otp' as const };
  const settings = { access: 'tenant' as const, scope: 'settings' as const };

  const filterQuery = {
    status: z.enum(statuses).optional(),
    phone_number: z.string().max(64).optional().describe('The whole number (any format); also finds rows whose number is already a keyed hash'),
    phone_prefix: z.string().max(32).optional().describe('`+` and the first digits, e.g. `+44770`; numbers already hashed never match'),
    phone_suffix: z.string().max(15).optional().describe('The last digits, e.g. `2671`; numbers already hashed never match'),
    purpose: z.string().max(32).optional(),
    kind: z.enum(['otp', 'event', 'test']).optional(),
    provider: z.string().max(64).optional().describe('The provider kind that last handled it, e.g. `Twilio`'),
    from: z.string().max(40).optional().describe('Created at or after: ISO 8601 date (`2026-12-01`, midnight UTC) or date-time'),
    to: z.string().max(40).optional().describe('Created before: ISO 8601 date-time; a date alone means up to the end of that day (UTC)'),
  };
  type FilterQuery = { [K in keyof typeof filterQuery]?: string | undefined };

  /** The query's filters, checked: a bad value is 400 message.invalid_filter naming it, before any read. */
  function filterOf(tenantId: string, q: FilterQuery): MessageFilter {
    const bad = (path: string, message: string): never => {
      throw new AppError('message.invalid_filter', `${path}: ${message}`, { issues: [{ path, message }] });
    };
    const f: MessageFilter = {};
    if (q.status) f.status = q.status as MessageFilter['status'];
    if (q.purpose) f.purpose = q.purpose;
    if (q.kind) f.kind = q.kind;
    if (q.provider) {
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(q.provider)) bad('provider', 'must be a provider kind name such as Twilio');
      f.provider = q.provider;
    }
    if (q.phone_number !== undefined && q.phone_number !== '') {
      const n = normalizePhone(q.phone_number);
      if (!n.ok) throw new AppError('phone.invalid', n.reason, { issues: [{ path: 'phone_number', message: n.reason }] });
      f.phoneForms = [n.e164, ...deps.phoneKeys.map((k) => hashPhone(k, tenantId, n.e164))];
    }
    if (q.phone_prefix) {
      const p = q.phone_prefix.replace(/[\s().-]/g, '');
      if (!/^\+\d{1,15}$/.test(p)) bad('phone_prefix', 'must be + followed by 1 to 15 digits');
      f.phonePrefix = p;
    }
    if (q.phone_suffix) {
      const p = q.phone_suffix.replace(/[\s().-]/g, '');
      if (!/^\d{1,15}$/.test(p)) bad('phone_suffix', 'must be 1 to 15 digits');
      f.phoneSuffix = p;
    }
    if (q.from) f.from = timeOf(q.from, false) ?? bad('from', 'must be an ISO 8601 date or date-time');
    if (q.to) f.to = timeOf(q.to, true) ?? bad('to', 'must be an ISO 8601 date or date-time');
    if (f.from !== undefined && f.to !== undefined && f.from >= f.to) bad('from', 'must be before to');
    return f;
  }

  r.get(
    '/v1/messages',
    {
      config: read,
      schema: {
        tags: ['messages'],
        description: 'The message log, newest first, filtered (docs/operations.md, "The message log"). Bodies show any code masked. With a filter on anything but `from` and `to`, a page looks through the next 5,000 of the tenant\'s messages only: it may hold fewer than `limit` messages, or none, and still have a `next_cursor`.',
        querystring: z.strictObject({ ...listQuery, ...filterQuery }),
        response: { 200: page(messageView), ...errorResponses },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request).id;
      const filter = filterOf(tenantId, request.query);
      const beforeId = cursorOf(request.query.cursor, 'msg');
      return deps.messages.list(tenantId, { ...filter, ...(beforeId ? { beforeId } : {}) }, request.query.limit);
    },
  );

  r.get(
    '/v1/messages.csv',
    {
      config: read,
      schema: {
        tags: ['messages'],
        description: 'The filtered message log as CSV (same filters as GET /v1/messages), newest first, every page. Bodies are masked; a cell starting with = + - @ gets a leading quote.',
        querystring: z.strictObject(filterQuery),
        response: {
          200: { description: 'RFC 4180 CSV with a header line, CRLF line ends, UTF-8.', content: { 'text/csv': { schema: z.string() } } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const tenantId = requireTenant(request).id;
      const filter = filterOf(tenantId, request.query);
      // The documented body is the CSV text; it is streamed as it is read (fastify sends a stream as is).
      const csv = Readable.from(deps.messages.csv(tenantId, filter)) as unknown as string;
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="messages.csv"')
        .header('cache-control', 'no-store')
        .send(csv);
    },
  );

  r.get('/v1/messages/:id', { config: read, schema: { tags: ['messages'], params: z.strictObject({ id: z.string().min(1).max(64) }), response: { 200: messageView, ...errorResponses } } }, async (request) =>
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
        response: { 202: messageView, ...errorResponses },
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
      schema: { tags: ['inbox'], description: 'Messages the Inbox provider captured (development), newest first, with their codes. With `phone_number`, a page looks through the next 5,000 of the tenant\'s items only: it may hold fewer than `limit` items and still have a `next_cursor`.', querystring: z.strictObject({ ...listQuery, phone_number: z.string().max(64).optional() }), response: { 200: page(inboxItem), ...errorResponses } },
    },
    async (request) => deps.messages.listInbox(requireTenant(request).id, request.query.phone_number, request.query.limit, cursorOf(request.query.cursor, 'inb')),
  );

  r.get(
    '/v1/stats',
    { config: read, schema: { tags: ['messages'], description: 'Sends, delivery, verify conversion and provider latency over time.', querystring: z.strictObject({ window: z.enum(Object.keys(statsWindows) as [StatsWindow, ...StatsWindow[]]).default('24h') }), response: { 200: z.object({ window: z.enum(Object.keys(statsWindows) as [StatsWindow, ...StatsWindow[]]), bucket_seconds: z.number(), buckets: z.array(statsBucket) }), ...errorResponses } } },
    async (request) => deps.stats.overview(requireTenant(request).id, request.query.window),
  );

  r.get('/v1/audit-log', { config: settings, schema: { tags: ['audit'], querystring: z.strictObject(listQuery), response: { 200: page(auditRecord), ...errorResponses } } }, async (request) =>
    deps.audit.list(requireTenant(request).id, request.query.limit, cursorOf(request.query.cursor, 'aud')),
  );
}

import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { fraudStatsWindows } from '../../services/fraud-guard.js';
import { actorOf, requireTenant } from '../plugins/auth.js';
import { cursorOf, errorResponses, listQuery, noContent } from '../schemas/common.js';

const id = z.string().min(1).max(64);

const decision = z.object({
  id: z.string(),
  action: z.enum(['block', 'would_block']),
  kind: z.enum(['country', 'prefix', 'number', 'ip', 'number_type']),
  key: z.string().describe('The country (GB), prefix (+4477009001), client IP or number type it applies to'),
  rule: z.string(),
  reason: z.string().describe('The figures that decided it, in one line'),
  figures: z.record(z.string(), z.number()),
  level: z.number().describe('0 for a first block; each repeat within 24 h adds one and doubles its length (at most 12 h)'),
  hits: z.number().describe('Sends it refused (or would have refused)'),
  created_at: z.string(),
  expires_at: z.string(),
  lifted_at: z.string().nullable(),
  lifted_by: z.string().nullable(),
});

const statsRow = {
  sent: z.number(),
  verified: z.number(),
  conversion: z.number().nullable().describe('verified ÷ sent (0–1), null when nothing was sent'),
  segments: z.number(),
  cost: z.number().describe('segments × `sms_prices` at the time of each send'),
};
const budgetUse = z.object({ messages: z.number(), spend: z.number(), start: z.string(), end: z.string() });
const fraudStats = z.object({
  window: z.enum(fraudStatsWindows),
  since: z.string(),
  countries: z.array(z.object({ country: z.string(), ...statsRow })),
  prefixes: z.array(z.object({ prefix: z.string(), ...statsRow })),
  budget: z.object({
    limits: z.object({ daily_messages: z.number().optional(), monthly_messages: z.number().optional(), daily_spend: z.number().optional(), monthly_spend: z.number().optional() }),
    day: budgetUse,
    month: budgetUse,
  }),
});

/** DESIGN.md "Fraud guard": blocks, decisions, conversion and cost, and verification feedback. */
export function fraudGuardRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'settings' as const };

  r.get(
    '/v1/fraud-guard/blocks',
    {
      config: tenant,
      schema: { tags: ['fraud guard'], description: 'Blocks in force (neither expired nor lifted), newest first.', response: { 200: z.object({ items: z.array(decision) }), ...errorResponses } },
    },
    async (request) => ({ items: await deps.fraud.listBlocks(requireTenant(request).id) }),
  );

  r.delete(
    '/v1/fraud-guard/blocks/:id',
    { config: tenant, schema: { tags: ['fraud guard'], description: 'Lifts a block at once, on every node (audited). The codes sent to its key up to the hour of the lift no longer count toward a new block of the key; a new block within 24 h is still escalated.', params: z.strictObject({ id }), response: { 204: noContent, ...errorResponses } } },
    async (request, reply) => {
      await deps.fraud.lift(requireTenant(request).id, request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  r.get(
    '/v1/fraud-guard/decisions',
    {
      config: tenant,
      schema: {
        tags: ['fraud guard'],
        description: 'Blocks and would-blocks (record_only), newest first, including ended and lifted ones.',
        querystring: z.strictObject({ ...listQuery, action: z.enum(['block', 'would_block']).optional() }),
        response: { 200: z.object({ items: z.array(decision), next_cursor: z.string().nullable() }), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      const cursor = cursorOf(q.cursor, 'fgb');
      return deps.fraud.listDecisions(requireTenant(request).id, q.limit, { ...(q.action ? { action: q.action } : {}), ...(cursor ? { cursor } : {}) });
    },
  );

  r.get(
    '/v1/fraud-guard/stats',
    {
      config: tenant,
      schema: {
        tags: ['fraud guard'],
        description: 'Per country and per prefix: codes sent, verified, conversion, segments and cost over the window; and budget use.',
        querystring: z.strictObject({ window: z.enum(fraudStatsWindows).default('24h') }),
        response: { 200: fraudStats, ...errorResponses },
      },
    },
    async (request) => deps.fraud.stats(requireTenant(request), request.query.window),
  );

  r.post(
    '/v1/messages/:id/feedback',
    {
      config: tenant,
      schema: {
        tags: ['fraud guard'],
        description: 'Reports that a passcode message’s code was used (checked outside otpgate), so the fraud guard counts it as converted. Repeating it changes nothing.',
        params: z.strictObject({ id }),
        body: z.strictObject({ outcome: z.literal('verified') }),
        response: { 200: z.object({ message_id: z.string(), outcome: z.literal('verified'), counted: z.boolean() }), ...errorResponses },
      },
    },
    async (request) => deps.fraud.feedback(requireTenant(request), request.params.id),
  );
}

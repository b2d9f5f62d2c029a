import { z } from 'zod';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../deps.js';
import { eventTypes } from '../../domain/events.js';
import { actorOf, requireTenant } from '../plugins/auth.js';
import { cursorOf, errorResponses, listQuery, noContent, page } from '../schemas/common.js';

const endpointView = z.object({
  id: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()).nullable().describe('The event types it receives; null: every type'),
  enabled: z.boolean(),
  disabled_reason: z.string().nullable().describe('Why otpgate disabled it (its deliveries failed for 3 days)'),
  failing_since: z.string().nullable(),
  previous_secret_expires_at: z.string().nullable().describe('During a rotation: until when the previous secret also signs'),
  created_at: z.string(),
  updated_at: z.string(),
});

const deliveryView = z.object({
  id: z.string(),
  event_id: z.string().describe('The `webhook-id`: the same on every retry and on "send again"'),
  type: z.string(),
  status: z.enum(['queued', 'sending', 'delivered', 'failed']),
  attempts: z.number(),
  next_attempt_at: z.string().nullable(),
  last_attempt_at: z.string().nullable(),
  last_http_status: z.number().nullable(),
  last_error: z.string().nullable(),
  created_at: z.string(),
  delivered_at: z.string().nullable(),
  payload: z.unknown().describe('The body sent: `{type, timestamp, data}`'),
});

const url = z.string().min(1).max(2048).describe('Where events are POSTed: https (development also allows http and loopback), a public address, no redirect');
const events = z.array(z.string().max(64)).max(eventTypes.length).describe(`Event types to receive (${eventTypes.join(', ')}); omitted or empty: every type`);
const description = z.string().max(500);
const idParams = z.strictObject({ id: z.string().max(64) });

/** DESIGN.md "Platform receivers and events": a tenant's webhook endpoints (docs/events.md). */
export function eventEndpointRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const tenant = { access: 'tenant' as const, scope: 'events' as const };
  const tags = ['events'];
  const svc = deps.eventEndpoints;

  r.post(
    '/v1/event-endpoints',
    {
      config: tenant,
      schema: {
        tags,
        description: 'Adds an endpoint. The answer carries its `whsec_` signing secret this once (docs/events.md shows how to verify deliveries).',
        body: z.strictObject({ url, events: events.optional(), description: description.optional() }),
        response: { 201: endpointView.extend({ secret: z.string().describe('Shown this once') }), ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await svc.create(requireTenant(request), request.body, actorOf(request))),
  );

  r.get(
    '/v1/event-endpoints',
    { config: tenant, schema: { tags, description: 'The tenant’s endpoints, oldest first (never their secrets).', querystring: z.strictObject(listQuery), response: { 200: page(endpointView), ...errorResponses } } },
    async (request) => svc.list(requireTenant(request), request.query.limit, cursorOf(request.query.cursor, 'whe')),
  );

  r.get(
    '/v1/event-endpoints/:id',
    { config: tenant, schema: { tags, description: 'One endpoint (never its secret).', params: idParams, response: { 200: endpointView, ...errorResponses } } },
    async (request) => svc.get(requireTenant(request), request.params.id),
  );

  r.patch(
    '/v1/event-endpoints/:id',
    {
      config: tenant,
      schema: {
        tags,
        description: 'Changes the URL, the event filter, the description, or turns the endpoint off and on (on again: its failure streak starts afresh).',
        params: idParams,
        body: z.strictObject({ url: url.optional(), events: events.optional(), description: description.nullable().optional(), enabled: z.boolean().optional() }),
        response: { 200: endpointView, ...errorResponses },
      },
    },
    async (request) => svc.update(requireTenant(request), request.params.id, request.body, actorOf(request)),
  );

  r.delete(
    '/v1/event-endpoints/:id',
    { config: tenant, schema: { tags, description: 'Removes the endpoint and its delivery log (audited).', params: idParams, response: { 204: noContent, ...errorResponses } } },
    async (request, reply) => {
      await svc.remove(requireTenant(request), request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  r.post(
    '/v1/event-endpoints/:id/rotate-secret',
    {
      config: tenant,
      schema: {
        tags,
        description: 'Makes a new secret, answered this once. The previous one keeps signing beside it for 24 h (two signatures in `webhook-signature`).',
        params: idParams,
        response: { 200: z.object({ id: z.string(), secret: z.string(), previous_secret_expires_at: z.string() }), ...errorResponses },
      },
    },
    async (request) => svc.rotateSecret(requireTenant(request), request.params.id, actorOf(request)),
  );

  r.post(
    '/v1/event-endpoints/:id/test',
    {
      config: tenant,
      schema: {
        tags,
        description: 'Queues an `event_endpoint.test` event to this endpoint only, whatever its filter; follow it in the delivery log.',
        params: idParams,
        response: { 202: z.object({ event_id: z.string(), delivery_id: z.string() }), ...errorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await svc.sendTest(requireTenant(request), request.params.id)),
  );

  r.get(
    '/v1/event-endpoints/:id/deliveries',
    {
      config: tenant,
      schema: { tags, description: 'The endpoint’s delivery log, newest first.', params: idParams, querystring: z.strictObject(listQuery), response: { 200: page(deliveryView), ...errorResponses } },
    },
    async (request) => svc.deliveries(requireTenant(request), request.params.id, request.query.limit, cursorOf(request.query.cursor, 'evd')),
  );

  r.post(
    '/v1/event-endpoints/:id/deliveries/:delivery_id/retry',
    {
      config: tenant,
      schema: {
        tags,
        description: '"Send again": queues the delivery due now with the same body and `webhook-id` (receivers dedupe on it) and a fresh 24 h retry window.',
        params: z.strictObject({ id: z.string().max(64), delivery_id: z.string().max(64) }),
        response: { 202: deliveryView, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(202).send(await svc.retryDelivery(requireTenant(request), request.params.id, request.params.delivery_id)),
  );
}

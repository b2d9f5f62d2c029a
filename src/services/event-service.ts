import { newWebhookSecret } from '../crypto/webhook-signature.js';
import { EVENT_ROTATION_OVERLAP_MS, eventEndpointSealAad, eventTypes, isEventType, testEventType } from '../domain/events.js';
import { newId } from '../domain/ids.js';
import { AppError } from '../errors/app-error.js';
import { checkOutboundTarget, HttpFailure, type HttpClient, type OutboundPolicy } from '../providers/http.js';
import {
  deleteEventEndpoint,
  findEventDelivery,
  findEventEndpoint,
  insertEventDeliveries,
  insertEventEndpoint,
  listEventDeliveries,
  listEventEndpoints,
  requeueEventDelivery,
  updateEventEndpoint,
  type EventEndpointUpdate,
} from '../store/queries/events.js';
import type { EventDeliveryRow, EventEndpointRow } from '../store/schema.js';
import type { AuditService } from './audit-service.js';
import type { Actor, ServiceContext } from './context.js';
import { eventPayload, newDelivery } from './event-emitter.js';
import { toPage, type Page } from './pagination.js';
import type { ActiveTenant } from './tenant-service.js';

/** An endpoint as the API shows it: never its secret. */
export interface EventEndpointView {
  id: string;
  url: string;
  description: string | null;
  /** The event types it receives; null: every type. */
  events: string[] | null;
  enabled: boolean;
  /** Why otpgate disabled it (failing for 3 days), or null. */
  disabled_reason: string | null;
  /** Since when its deliveries fail without a success, or null. */
  failing_since: string | null;
  /** During a rotation: until when the previous secret also signs. */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface EventDeliveryView {
  id: string;
  /** The `webhook-id` header: the same on every retry and on "send again". */
  event_id: string;
  type: string;
  status: EventDeliveryRow['status'];
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_http_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  /** The body sent: `{type, timestamp, data}`. */
  payload: unknown;
}

export interface EventEndpointInput {
  url: string;
  events?: string[] | undefined;
  description?: string | undefined;
}

const sealAad = eventEndpointSealAad;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function view(row: EventEndpointRow, now: number): EventEndpointView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events === null ? null : (JSON.parse(row.events) as string[]),
    enabled: row.enabled === 1,
    disabled_reason: row.disabled_reason,
    failing_since: iso(row.failing_since),
    previous_secret_expires_at: row.previous_secret_until !== null && row.previous_secret_until > now ? iso(row.previous_secret_until) : null,
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

function deliveryView(row: EventDeliveryRow): EventDeliveryView {
  return {
    id: row.id,
    event_id: row.event_id,
    type: row.type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'queued' ? iso(row.next_attempt_at) : null,
    last_attempt_at: iso(row.last_attempt_at),
    last_http_status: row.last_http_status,
    last_error: row.last_error,
    created_at: iso(row.created_at)!,
    delivered_at: iso(row.delivered_at),
    payload: JSON.parse(row.payload) as unknown,
  };
}

/** The filter as stored: NULL for every type; unknown types are refused with each one named. */
function filterOf(events: string[] | undefined): string | null {
  if (events === undefined || events.length === 0) return null;
  const unknown = events.filter((e) => !isEventType(e));
  if (unknown.length > 0) {
    throw new AppError('event_endpoint.unknown_event', `Unknown event type${unknown.length > 1 ? 's' : ''}: ${unknown.map((u) => u.slice(0, 60)).join(', ')}; types: ${eventTypes.join(', ')}.`, {
      issues: unknown.map((u) => ({ path: `events[${events.indexOf(u)}]`, message: `${u.slice(0, 60)} is not an event type` })),
    });
  }
  return JSON.stringify([...new Set(events)]);
}

/**
 * Event endpoints of a tenant (DESIGN.md "Platform receivers and events"; docs/events.md):
 * configuration with the same SSRF guard as provider endpoints, secret rotation, test events,
 * the delivery log and "send again". Delivery itself is src/dispatcher/event-worker.ts.
 */
export function createEventService(
  ctx: ServiceContext,
  deps: { audit: AuditService; http: HttpClient; outboundPolicy: OutboundPolicy },
) {
  const { store, clock, secretBox } = ctx;

  /**
   * The URL must pass the outbound guard now (scheme, literal and resolved addresses) and must
   * not answer a plain GET with a redirect: deliveries never follow one. An endpoint that does
   * not answer (not deployed yet) is accepted; the guard checks again on every delivery.
   */
  async function checkUrl(url: string): Promise<void> {
    const problem = await checkOutboundTarget(url, deps.outboundPolicy);
    if (problem) throw new AppError('event_endpoint.invalid_url', `The URL is not allowed: ${problem}.`, { issues: [{ path: 'url', message: problem }] });
    let status: number | undefined;
    try {
      status = (await deps.http.request({ method: 'GET', url, timeoutMs: 3_000, maxResponseBytes: 16 * 1024 })).status;
    } catch (err) {
      if (err instanceof HttpFailure && err.kind === 'forbidden_target') {
        throw new AppError('event_endpoint.invalid_url', `The URL is not allowed: ${err.message}.`, { issues: [{ path: 'url', message: err.message }] });
      }
    }
    if (status !== undefined && status >= 300 && status < 400) {
      throw new AppError('event_endpoint.invalid_url', `The URL answered with a redirect (${status}); deliveries never follow redirects: give the final URL.`, {
        issues: [{ path: 'url', message: `answered ${status}` }],
      });
    }
  }

  async function endpointOrThrow(tenantId: string, id: string): Promise<EventEndpointRow> {
    const row = await findEventEndpoint(store.db, tenantId, id);
    if (!row) throw new AppError('event_endpoint.not_found', 'There is no such event endpoint for this tenant.');
    return row;
  }

  return {
    async create(tenant: ActiveTenant, input: EventEndpointInput, actor: Actor): Promise<EventEndpointView & { secret: string }> {
      const events = filterOf(input.events);
      await checkUrl(input.url);
      const now = clock.now();
      const id = newId('whe', now);
      const secret = newWebhookSecret();
      const row = {
        id,
        tenant_id: tenant.id,
        url: input.url,
        description: input.description ?? null,
        events,
        secret_sealed: secretBox.seal(secret, sealAad(id)),
        previous_secret_sealed: null,
        previous_secret_until: null,
        enabled: 1,
        disabled_reason: null,
        failing_since: null,
        created_at: now,
        updated_at: now,
      };
      await store.writes.write(async (trx) => {
        await insertEventEndpoint(trx, row);
        await deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'event_endpoint.created', target: id, details: { url: input.url, events: input.events ?? null } });
      });
      return { ...view(row, now), secret };
    },

    async list(tenant: ActiveTenant, limit: number, cursor?: string): Promise<Page<EventEndpointView>> {
      const now = clock.now();
      return toPage(await listEventEndpoints(store.db, tenant.id, cursor, limit + 1), limit, (r) => view(r, now));
    },

    async get(tenant: ActiveTenant, id: string): Promise<EventEndpointView> {
      return view(await endpointOrThrow(tenant.id, id), clock.now());
    },

    async update(tenant: ActiveTenant, id: string, input: { url?: string | undefined; events?: string[] | undefined; description?: string | null | undefined; enabled?: boolean | undefined }, actor: Actor): Promise<EventEndpointView> {
      await endpointOrThrow(tenant.id, id);
      const update: EventEndpointUpdate = { updated_at: clock.now() };
      if (input.events !== undefined) update.events = filterOf(input.events);
      if (input.url !== undefined) {
        await checkUrl(input.url);
        update.url = input.url;
      }
      if (input.description !== undefined) update.description = input.description;
      // Turned on again by the tenant: the failure streak starts afresh.
      if (input.enabled !== undefined) Object.assign(update, input.enabled ? { enabled: 1, disabled_reason: null, failing_since: null } : { enabled: 0, disabled_reason: null });
      await store.writes.write(async (trx) => {
        if (!(await updateEventEndpoint(trx, tenant.id, id, update))) throw new AppError('event_endpoint.not_found', 'There is no such event endpoint for this tenant.');
        const details = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
        await deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'event_endpoint.updated', target: id, details });
      });
      return view(await endpointOrThrow(tenant.id, id), clock.now());
    },

    async remove(tenant: ActiveTenant, id: string, actor: Actor): Promise<void> {
      const gone = await store.writes.write(async (trx) => {
        const deleted = await deleteEventEndpoint(trx, tenant.id, id);
        if (deleted) await deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'event_endpoint.deleted', target: id });
        return deleted;
      });
      if (!gone) throw new AppError('event_endpoint.not_found', 'There is no such event endpoint for this tenant.');
    },

    /** A new secret, answered this once; the current one keeps signing for 24 h beside it. */
    async rotateSecret(tenant: ActiveTenant, id: string, actor: Actor): Promise<{ id: string; secret: string; previous_secret_expires_at: string }> {
      const row = await endpointOrThrow(tenant.id, id);
      const now = clock.now();
      const secret = newWebhookSecret();
      const until = now + EVENT_ROTATION_OVERLAP_MS;
      await store.writes.write(async (trx) => {
        const ok = await updateEventEndpoint(trx, tenant.id, id, {
          secret_sealed: secretBox.seal(secret, sealAad(id)),
          previous_secret_sealed: row.secret_sealed,
          previous_secret_until: until,
          updated_at: now,
        });
        if (!ok) throw new AppError('event_endpoint.not_found', 'There is no such event endpoint for this tenant.');
        await deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'event_endpoint.secret_rotated', target: id });
      });
      return { id, secret, previous_secret_expires_at: iso(until)! };
    },

    /** Queues a test event to this endpoint only (whatever its filter or state). */
    async sendTest(tenant: ActiveTenant, id: string): Promise<{ event_id: string; delivery_id: string }> {
      await endpointOrThrow(tenant.id, id);
      const now = clock.now();
      const eventId = newId('evt', now);
      const deliveryId = newId('evd', now);
      await store.writes.write((trx) =>
        insertEventDeliveries(trx, [newDelivery({ id: deliveryId, eventId, tenantId: tenant.id, endpointId: id, type: testEventType, payload: eventPayload(testEventType, now, { endpoint_id: id }), now })]),
      );
      return { event_id: eventId, delivery_id: deliveryId };
    },

    async deliveries(tenant: ActiveTenant, id: string, limit: number, cursor?: string): Promise<Page<EventDeliveryView>> {
      await endpointOrThrow(tenant.id, id);
      return toPage(await listEventDeliveries(store.db, tenant.id, id, cursor, limit + 1), limit, deliveryView);
    },

    /** "Send again": the same body and `webhook-id`, due now, with a fresh retry window. */
    async retryDelivery(tenant: ActiveTenant, id: string, deliveryId: string): Promise<EventDeliveryView> {
      await endpointOrThrow(tenant.id, id);
      const d = await findEventDelivery(store.db, tenant.id, id, deliveryId);
      if (!d) throw new AppError('event_delivery.not_found', 'There is no such delivery for this endpoint.');
      const ok = await store.writes.write((trx) => requeueEventDelivery(trx, d.id, clock.now()));
      if (!ok) throw new AppError('event_delivery.in_progress', 'This delivery is being attempted right now; look at its outcome, then send it again if needed.');
      return deliveryView((await findEventDelivery(store.db, tenant.id, id, deliveryId))!);
    },
  };
}

export type EventService = ReturnType<typeof createEventService>;

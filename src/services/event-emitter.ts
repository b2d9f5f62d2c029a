import type { Clock } from '../domain/clock.js';
import { endpointWants, type EventType } from '../domain/events.js';
import { newId } from '../domain/ids.js';
import type { Executor } from '../store/db.js';
import type { EventDeliveriesTable } from '../store/schema.js';
import { enabledEndpointFilters, insertEventDeliveries } from '../store/queries/events.js';

/** What an event carries: ids, statuses, figures — never a code, a secret or a message body. */
export type EventData = Record<string, string | number | boolean | null>;

export interface EventEmitter {
  /**
   * Queues `type` for every enabled endpoint of the tenant that wants it, in `trx`: the
   * transaction of the state change the event reports (outbox), so the event exists if and
   * only if the change committed. A tenant without endpoints costs one indexed read.
   */
  emit(trx: Executor, tenantId: string, type: EventType, data: EventData): Promise<void>;
  /**
   * An emitter for one write unit of many events (a batch of delivery outcomes): each tenant's
   * endpoints are read once for the unit, not once per event.
   */
  forUnit?(): EventEmitter;
  /**
   * The rows of an event that a store writes itself (PostgreSQL's batched delivery outcomes,
   * migration 0027): its id, body and time, and `endpoints` delivery ids, one per endpoint
   * that the store finds wants it.
   */
  draft?(type: EventType, data: EventData, endpoints: number): EventDraft;
}

/** An event as `draft` makes it: what `emit` would write, less the endpoints. */
export interface EventDraft {
  type: EventType;
  id: string;
  at: number;
  payload: string;
  delivery_ids: string[];
}

/** The JSON body of an event as every endpoint receives it. */
export function eventPayload(type: string, at: number, data: EventData): string {
  return JSON.stringify({ type, timestamp: new Date(at).toISOString(), data });
}

/** A queued delivery of one event to one endpoint, due at once. */
export function newDelivery(d: { id: string; eventId: string; tenantId: string; endpointId: string; type: string; payload: string; now: number }): EventDeliveriesTable {
  return {
    id: d.id,
    event_id: d.eventId,
    tenant_id: d.tenantId,
    endpoint_id: d.endpointId,
    type: d.type,
    payload: d.payload,
    status: 'queued',
    attempts: 0,
    next_attempt_at: d.now,
    lease_owner: null,
    lease_until: null,
    last_attempt_at: null,
    last_http_status: null,
    last_error: null,
    created_at: d.now,
    updated_at: d.now,
    delivered_at: null,
  };
}

type EndpointFilters = Awaited<ReturnType<typeof enabledEndpointFilters>>;

export function createEventEmitter(clock: Clock): EventEmitter {
  function emitter(filters: (trx: Executor, tenantId: string) => Promise<EndpointFilters>): EventEmitter {
    return {
      async emit(trx, tenantId, type, data) {
        const endpoints = (await filters(trx, tenantId)).filter((e) => endpointWants(e.events, type));
        if (endpoints.length === 0) return;
        const now = clock.now();
        const eventId = newId('evt', now);
        const payload = eventPayload(type, now, data);
        await insertEventDeliveries(trx, endpoints.map((e) => newDelivery({ id: newId('evd', now), eventId, tenantId, endpointId: e.id, type, payload, now })));
      },
      draft(type, data, endpoints) {
        const at = clock.now();
        return { type, id: newId('evt', at), at, payload: eventPayload(type, at, data), delivery_ids: Array.from({ length: endpoints }, () => newId('evd', at)) };
      },
      forUnit() {
        const read = new Map<string, Promise<EndpointFilters>>();
        return emitter((trx, tenantId) => {
          let f = read.get(tenantId);
          if (!f) read.set(tenantId, (f = enabledEndpointFilters(trx, tenantId)));
          return f;
        });
      },
    };
  }
  return emitter(enabledEndpointFilters);
}

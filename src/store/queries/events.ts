import { sql } from 'kysely';
import type { Executor, StoreCapabilities } from '../db.js';
import { p, prepared } from '../prepared.js';
import type { EventDeliveriesTable, EventDeliveryRow, EventEndpointRow, EventEndpointsTable } from '../schema.js';

// Prepared: it runs in every final delivery's transaction, mostly finding nothing.
const enabledEndpointsQuery = prepared((db) => db.selectFrom('event_endpoints').select(['id', 'events']).where('tenant_id', '=', p('tenant_id')).where('enabled', '=', sql.lit(1)));

/** The enabled endpoints of a tenant, with their filters: read inside an emitting transaction. */
export async function enabledEndpointFilters(db: Executor, tenantId: string): Promise<Array<Pick<EventEndpointRow, 'id' | 'events'>>> {
  return (await enabledEndpointsQuery.execute(db, { tenant_id: tenantId })).rows;
}

export async function insertEventDeliveries(db: Executor, rows: EventDeliveriesTable[]): Promise<void> {
  if (rows.length > 0) await db.insertInto('event_deliveries').values(rows).execute();
}

export async function insertEventEndpoint(db: Executor, row: EventEndpointsTable): Promise<void> {
  await db.insertInto('event_endpoints').values(row).execute();
}

export async function findEventEndpoint(db: Executor, tenantId: string, id: string): Promise<EventEndpointRow | undefined> {
  return db.selectFrom('event_endpoints').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

/** The endpoint of a delivery being made, whatever its tenant (the worker's read). */
export async function findEventEndpointById(db: Executor, id: string): Promise<EventEndpointRow | undefined> {
  return db.selectFrom('event_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Oldest first; only endpoints with an id above `afterId`. */
export async function listEventEndpoints(db: Executor, tenantId: string, afterId: string | undefined, limit: number): Promise<EventEndpointRow[]> {
  let q = db.selectFrom('event_endpoints').selectAll().where('tenant_id', '=', tenantId);
  if (afterId) q = q.where('id', '>', afterId);
  return q.orderBy('id').limit(limit).execute();
}

export type EventEndpointUpdate = Partial<Omit<EventEndpointsTable, 'id' | 'tenant_id' | 'created_at'>>;

export async function updateEventEndpoint(db: Executor, tenantId: string, id: string, update: EventEndpointUpdate): Promise<boolean> {
  const r = await db.updateTable('event_endpoints').set(update).where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteEventEndpoint(db: Executor, tenantId: string, id: string): Promise<boolean> {
  await db.deleteFrom('event_deliveries').where('tenant_id', '=', tenantId).where('endpoint_id', '=', id).execute();
  const r = await db.deleteFrom('event_endpoints').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** A delivery failed: the endpoint's failure streak starts now unless it already runs. Answers the streak's start. */
export async function markEndpointFailing(db: Executor, id: string, now: number): Promise<number> {
  await db.updateTable('event_endpoints').set({ failing_since: now }).where('id', '=', id).where('failing_since', 'is', null).execute();
  const r = await db.selectFrom('event_endpoints').select('failing_since').where('id', '=', id).executeTakeFirst();
  return r?.failing_since ?? now;
}

export async function markEndpointHealthy(db: Executor, id: string): Promise<void> {
  await db.updateTable('event_endpoints').set({ failing_since: null }).where('id', '=', id).where('failing_since', 'is not', null).execute();
}

export async function disableFailingEndpoint(db: Executor, id: string, reason: string, now: number): Promise<void> {
  await db.updateTable('event_endpoints').set({ enabled: 0, disabled_reason: reason, updated_at: now }).where('id', '=', id).where('enabled', '=', 1).execute();
}

/** Newest first; only deliveries with an id below `beforeId`. */
export async function listEventDeliveries(db: Executor, tenantId: string, endpointId: string, beforeId: string | undefined, limit: number): Promise<EventDeliveryRow[]> {
  let q = db.selectFrom('event_deliveries').selectAll().where('tenant_id', '=', tenantId).where('endpoint_id', '=', endpointId);
  if (beforeId) q = q.where('id', '<', beforeId);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

export async function findEventDelivery(db: Executor, tenantId: string, endpointId: string, id: string): Promise<EventDeliveryRow | undefined> {
  return db.selectFrom('event_deliveries').selectAll().where('tenant_id', '=', tenantId).where('endpoint_id', '=', endpointId).where('id', '=', id).executeTakeFirst();
}

/** "Send again": the delivery is queued due now with a fresh attempt count, unless it is being sent right now. */
export async function requeueEventDelivery(db: Executor, id: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('event_deliveries')
    .set({ status: 'queued', attempts: 0, next_attempt_at: now, lease_owner: null, lease_until: null, created_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', '!=', 'sending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export type ClaimedEventDelivery = Pick<EventDeliveryRow, 'id' | 'event_id' | 'tenant_id' | 'endpoint_id' | 'type' | 'payload' | 'attempts' | 'created_at'>;
const claimedColumns = ['id', 'event_id', 'tenant_id', 'endpoint_id', 'type', 'payload', 'attempts', 'created_at'] as const;

/**
 * Leases up to `limit` due deliveries to `owner` until `leaseUntil` in one statement: queued
 * ones due by `now`, or (`expiredLeases`) ones whose lease ran out (a worker that died or
 * stalled). Two statements rather than one OR, so each walks the (status, next_attempt_at)
 * index from its status. PostgreSQL skips rows another node is claiming at the same moment.
 */
export async function claimDueEventDeliveries(db: Executor, caps: StoreCapabilities, owner: string, now: number, leaseUntil: number, limit: number, expiredLeases = false): Promise<ClaimedEventDelivery[]> {
  let due = expiredLeases
    ? db.selectFrom('event_deliveries').select('id').where('status', '=', sql.lit('sending')).where('lease_until', '<', now)
    : db.selectFrom('event_deliveries').select('id').where('status', '=', sql.lit('queued')).where('next_attempt_at', '<=', now).orderBy('next_attempt_at');
  due = due.limit(limit);
  if (caps.skipLocked) due = due.forUpdate().skipLocked();
  return db
    .updateTable('event_deliveries')
    .set({ status: 'sending', lease_owner: owner, lease_until: leaseUntil, updated_at: now })
    .where('id', 'in', due)
    .returning(claimedColumns)
    .execute();
}

/** Records an attempt, but only while `owner` still holds the lease. */
export async function completeEventDelivery(
  db: Executor,
  id: string,
  owner: string,
  update: Pick<EventDeliveriesTable, 'status' | 'attempts' | 'next_attempt_at' | 'last_attempt_at' | 'last_http_status' | 'last_error' | 'updated_at' | 'delivered_at'>,
): Promise<boolean> {
  const r = await db
    .updateTable('event_deliveries')
    .set({ ...update, lease_owner: null, lease_until: null })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where('lease_owner', '=', owner)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** When the next queued delivery falls due, if any. */
export async function nextEventDueAt(db: Executor): Promise<number | undefined> {
  const r = await db.selectFrom('event_deliveries').select('next_attempt_at').where('status', '=', 'queued').orderBy('next_attempt_at').limit(1).executeTakeFirst();
  return r?.next_attempt_at;
}

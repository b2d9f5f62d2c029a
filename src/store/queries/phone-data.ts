import { sql } from 'kysely';
import type { Executor } from '../db.js';
import type { ChallengeStatus, MessageStatus, VerificationStatus } from '../schema.js';

/**
 * Everything stored about one phone number in one tenant, for an access request (export) and
 * an erasure (docs/data-lifecycle.md). `phones` is the number and its keyed hashes (rows kept
 * past OTPGATE_PHONE_RETENTION_DAYS hold the hash). Reads never select a code, an HMAC or a
 * sealed body.
 */

/** The value an erased phone column holds: never a number, never a hash of one. */
export const ERASED_PHONE = 'erased';

export async function challengesOfPhone(db: Executor, tenantId: string, phones: readonly string[]) {
  return db
    .selectFrom('challenges')
    .select(['id', 'phone', 'purpose', 'status', 'attempts', 'max_attempts', 'client_ip', 'is_test', 'message_id', 'verification_id', 'created_at', 'expires_at', 'verified_at'])
    .where('tenant_id', '=', tenantId)
    .where('phone', 'in', phones)
    .orderBy('id')
    .execute();
}

export async function verificationsOfPhone(db: Executor, tenantId: string, phones: readonly string[], ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom('verifications')
    .select(['id', 'phone', 'purpose', 'status', 'attempts', 'max_attempts', 'amount', 'payee', 'created_at', 'updated_at', 'expires_at', 'approved_at'])
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .where('phone', 'in', phones)
    .orderBy('id')
    .execute();
}

/**
 * One page of the tenant's messages or Inbox items, newest first, below `beforeId`: only the id
 * and the number. Neither has an index on the number (it would cost every send or delivery one
 * more index write; the Inbox since migration 0029), so the caller walks the tenant's rows page
 * by page and yields between pages.
 */
export async function phonesPage(db: Executor, table: 'messages' | 'inbox_messages', tenantId: string, beforeId: string | undefined, limit: number) {
  // Both tables have these columns; Kysely cannot type a table picked at run time.
  let q = db.selectFrom(table as 'messages').select(['id', 'to_phone']).where('tenant_id', '=', tenantId).orderBy('id', 'desc').limit(limit);
  if (beforeId !== undefined) q = q.where('id', '<', beforeId);
  return q.execute();
}

export async function messagesByIds(db: Executor, tenantId: string, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db
    .selectFrom('messages')
    .select([
      'id',
      'kind',
      'challenge_id',
      'purpose',
      'to_phone',
      'body_masked',
      'sender_id',
      'encoding',
      'segments',
      'status',
      'attempts',
      'provider',
      'provider_message_id',
      'error_kind',
      'error_code',
      'error_message',
      'created_at',
      'updated_at',
      'sent_at',
      'delivered_at',
    ])
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .orderBy('id')
    .execute();
}

export async function attemptsOfMessages(db: Executor, tenantId: string, messageIds: readonly string[]) {
  if (messageIds.length === 0) return [];
  return db
    .selectFrom('message_attempts')
    .select(['id', 'message_id', 'attempt_no', 'provider', 'slot', 'started_at', 'latency_ms', 'outcome', 'error_kind', 'provider_code', 'http_status', 'error_message', 'provider_message_id'])
    .where('tenant_id', '=', tenantId)
    .where('message_id', 'in', messageIds)
    .orderBy('id')
    .execute();
}

export async function inboxByIds(db: Executor, tenantId: string, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db.selectFrom('inbox_messages').select(['id', 'message_id', 'to_phone', 'created_at']).where('tenant_id', '=', tenantId).where('id', 'in', ids).orderBy('id').execute();
}

/**
 * One window of the tenant's idempotency keys after `afterKey` (the key order of the primary
 * key, `size` keys): those whose stored answer contains `needle`, and the window's last key,
 * undefined when no key is left after it. The needle is `+` and digits (no LIKE wildcard).
 */
export async function idempotencyMentioning(db: Executor, tenantId: string, needle: string, afterKey: string | undefined, size: number) {
  let edge = db.selectFrom('idempotency_keys').select('key').where('tenant_id', '=', tenantId);
  if (afterKey !== undefined) edge = edge.where('key', '>', afterKey);
  const last = (await edge.orderBy('key').limit(1).offset(size - 1).executeTakeFirst())?.key;
  let q = db.selectFrom('idempotency_keys').select(['key', 'route', 'status_code', 'response', 'created_at', 'expires_at']).where('tenant_id', '=', tenantId);
  if (afterKey !== undefined) q = q.where('key', '>', afterKey);
  if (last !== undefined) q = q.where('key', '<=', last);
  return { rows: await q.where('response', 'like', `%${needle}%`).orderBy('key').execute(), last };
}

/**
 * One window of the tenant's audit entries after `afterId` (`size` entries, id order): those
 * whose target or details contain any of `needles`, and the window's last id (undefined at the
 * end).
 */
export async function auditMentioning(db: Executor, tenantId: string, needles: readonly string[], afterId: string | undefined, size: number) {
  let edge = db.selectFrom('audit_log').select('id').where('tenant_id', '=', tenantId);
  if (afterId !== undefined) edge = edge.where('id', '>', afterId);
  const last = (await edge.orderBy('id').limit(1).offset(size - 1).executeTakeFirst())?.id;
  if (needles.length === 0) return { rows: [], last };
  let q = db.selectFrom('audit_log').select(['id', 'actor', 'action', 'target', 'details', 'created_at']).where('tenant_id', '=', tenantId);
  if (afterId !== undefined) q = q.where('id', '>', afterId);
  if (last !== undefined) q = q.where('id', '<=', last);
  const rows = await q
    .where((eb) => eb.or(needles.flatMap((n) => [eb('details', 'like', `%${n}%`), eb('target', 'like', `%${n}%`)])))
    .orderBy('id')
    .execute();
  return { rows, last };
}

/** The fraud guard's decisions about the number itself (`n:` keys; prefix keys name no number). */
export async function decisionsOfKeys(db: Executor, tenantId: string, keys: readonly string[]) {
  return db
    .selectFrom('fraud_decisions')
    .select(['id', 'action', 'kind', 'key', 'rule', 'reason', 'figures', 'level', 'hits', 'created_at', 'expires_at', 'lifted_at', 'lifted_by'])
    .where('tenant_id', '=', tenantId)
    .where('key', 'in', keys)
    .orderBy('id')
    .execute();
}

// Erasure: each statement takes ids found by the reads above, a bounded batch at a time.

/** The phone and client IP go; a pending code can no longer be used. */
export async function eraseChallenges(db: Executor, tenantId: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db
    .updateTable('challenges')
    .set({
      phone: ERASED_PHONE,
      client_ip: null,
      status: sql<ChallengeStatus>`case when status = 'pending' then 'canceled' else status end`,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .where('phone', '!=', ERASED_PHONE)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function eraseVerifications(db: Executor, tenantId: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db
    .updateTable('verifications')
    .set({
      phone: ERASED_PHONE,
      code_sealed: null,
      amount: null,
      payee: null,
      status: sql<VerificationStatus>`case when status = 'pending' then 'canceled' else status end`,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .where('phone', '!=', ERASED_PHONE)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * The number, the bodies (sealed and masked: an event SMS may name anyone) and the provider's
 * error text (providers echo the number) go; status, times and counts stay for the stats. A
 * message still queued is failed with `error_code` `erased` so it is never sent.
 */
export async function eraseMessages(db: Executor, tenantId: string, ids: readonly string[], now: number): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db
    .updateTable('messages')
    .set({
      to_phone: ERASED_PHONE,
      body_sealed: null,
      body_masked: '',
      error_message: null,
      error_kind: sql<string | null>`case when status = 'queued' then 'erased' else error_kind end`,
      error_code: sql<string | null>`case when status = 'queued' then 'erased' else error_code end`,
      status: sql<MessageStatus>`case when status = 'queued' then 'failed' else status end`,
      updated_at: now,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', 'in', ids)
    .where('to_phone', '!=', ERASED_PHONE)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function eraseAttempts(db: Executor, tenantId: string, messageIds: readonly string[]): Promise<number> {
  if (messageIds.length === 0) return 0;
  const r = await db
    .updateTable('message_attempts')
    .set({ error_message: null })
    .where('tenant_id', '=', tenantId)
    .where('message_id', 'in', messageIds)
    .where('error_message', 'is not', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function deleteInboxItems(db: Executor, tenantId: string, ids: readonly string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const r = await db.deleteFrom('inbox_messages').where('tenant_id', '=', tenantId).where('id', 'in', ids).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function deleteIdempotencyKeys(db: Executor, tenantId: string, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  const r = await db.deleteFrom('idempotency_keys').where('tenant_id', '=', tenantId).where('key', 'in', keys).executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function rewriteAudit(db: Executor, tenantId: string, id: string, set: { target: string | null; details: string }): Promise<number> {
  const r = await db.updateTable('audit_log').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function rewriteNumberDecision(db: Executor, tenantId: string, id: string, set: { key: string; reason: string; figures: string }): Promise<number> {
  const r = await db.updateTable('fraud_decisions').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The tenant's event endpoints, whose deliveries an export walks (deliveries have no index on the tenant). */
export async function eventEndpointIds(db: Executor, tenantId: string): Promise<string[]> {
  return (await db.selectFrom('event_endpoints').select('id').where('tenant_id', '=', tenantId).orderBy('id').execute()).map((r) => r.id);
}

/**
 * One window of an endpoint's deliveries after `afterId` (`size` deliveries, id order): those
 * whose payload or last error contains `needle`, and the window's last id (undefined at the end).
 */
export async function eventDeliveriesMentioning(db: Executor, tenantId: string, endpointId: string, needle: string, afterId: string | undefined, size: number) {
  let edge = db.selectFrom('event_deliveries').select('id').where('endpoint_id', '=', endpointId);
  if (afterId !== undefined) edge = edge.where('id', '>', afterId);
  const last = (await edge.orderBy('id').limit(1).offset(size - 1).executeTakeFirst())?.id;
  let q = db
    .selectFrom('event_deliveries')
    .select(['id', 'event_id', 'endpoint_id', 'type', 'payload', 'status', 'attempts', 'last_http_status', 'last_error', 'created_at', 'delivered_at'])
    .where('endpoint_id', '=', endpointId)
    .where('tenant_id', '=', tenantId);
  if (afterId !== undefined) q = q.where('id', '>', afterId);
  if (last !== undefined) q = q.where('id', '<=', last);
  const rows = await q
    .where((eb) => eb.or([eb('payload', 'like', `%${needle}%`), eb('last_error', 'like', `%${needle}%`)]))
    .orderBy('id')
    .execute();
  return { rows, last };
}

export async function rewriteEventDelivery(db: Executor, tenantId: string, id: string, set: { payload: string; last_error: string | null }): Promise<number> {
  const r = await db.updateTable('event_deliveries').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

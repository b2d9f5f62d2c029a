import { sql } from 'kysely';
import type { Executor } from '../db.js';

/**
 * Retention purges and phone hashing (docs/data-lifecycle.md). Every purge is one bounded
 * statement: a limited subquery on the primary key picks the batch (portable `DELETE … LIMIT`).
 * Rows are found by id range: ids start with their creation time, so the rows created before a
 * time sit below one id (`idBoundary`), reached through the primary key with no index on a
 * time column (each would cost every send one more index write). The time column still
 * decides, so a row goes exactly when its own time is past.
 */

/** The tables housekeeping bounds by id, and the time column each is ordered by. */
export const timeColumns = {
  challenges: 'created_at',
  verifications: 'created_at',
  messages: 'created_at',
  message_attempts: 'started_at',
  inbox_messages: 'created_at',
  audit_log: 'created_at',
  fraud_decisions: 'created_at',
  event_deliveries: 'created_at',
} as const;
export type TimedTable = keyof typeof timeColumns;

/** The first row of `table` at or after `fromId` in id order, with its time. */
export async function firstRowFrom(db: Executor, table: TimedTable, fromId: string): Promise<{ id: string; t: number } | undefined> {
  const column = timeColumns[table];
  // The table is picked at run time; every one of them has `id` and the time column.
  const row = await db
    .selectFrom(table as 'messages')
    .select(['id', `${column} as t` as 'created_at as t'])
    .where('id', '>=', fromId)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
  return row ? { id: row.id, t: Number(row.t) } : undefined;
}

/** Challenges below `beforeId` whose code expired before `expiredBefore`. */
export async function purgeChallenges(db: Executor, beforeId: string, expiredBefore: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('challenges')
    .where('id', 'in', (eb) => eb.selectFrom('challenges as old').select('old.id').where('old.id', '<', beforeId).where('old.expires_at', '<', expiredBefore).limit(limit))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Ended verifications below `beforeId` whose last code expired before `expiredBefore`. */
export async function purgeVerifications(db: Executor, beforeId: string, expiredBefore: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('verifications')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('verifications as old')
        .select('old.id')
        .where('old.id', '<', beforeId)
        .where('old.expires_at', '<', expiredBefore)
        .where('old.status', '!=', 'pending')
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Delivery attempts below `beforeId` started before `before`. */
export async function purgeAttempts(db: Executor, beforeId: string, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('message_attempts')
    .where('id', 'in', (eb) => eb.selectFrom('message_attempts as old').select('old.id').where('old.id', '<', beforeId).where('old.started_at', '<', before).limit(limit))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/** Final messages below `beforeId` created before `before` (their receipts are on the row; attempts cascade). */
export async function purgeMessages(db: Executor, beforeId: string, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('messages')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('messages as old')
        .select('old.id')
        .where('old.id', '<', beforeId)
        .where('old.created_at', '<', before)
        .where('old.status', 'not in', ['queued', 'sending'])
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function purgeInbox(db: Executor, beforeId: string, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('inbox_messages')
    .where('id', 'in', (eb) => eb.selectFrom('inbox_messages as old').select('old.id').where('old.id', '<', beforeId).where('old.created_at', '<', before).limit(limit))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * Finished event deliveries (delivered or failed) below `beforeId` created before `before`. A
 * delivery sent again ("Send again") has its `created_at` set anew, so it stays its own time.
 */
export async function purgeEventDeliveries(db: Executor, beforeId: string, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('event_deliveries')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('event_deliveries as old')
        .select('old.id')
        .where('old.id', '<', beforeId)
        .where('old.created_at', '<', before)
        // Not through the queue's index on status: that would walk every finished delivery.
        .where(sql<string>`old.status || ''`, 'in', ['delivered', 'failed'])
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

export async function purgeAudit(db: Executor, beforeId: string, before: number, limit: number): Promise<number> {
  const r = await db
    .deleteFrom('audit_log')
    .where('id', 'in', (eb) => eb.selectFrom('audit_log as old').select('old.id').where('old.id', '<', beforeId).where('old.created_at', '<', before).limit(limit))
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

// Phone hashing -------------------------------------------------------------------------------

/** The tables whose rows carry a phone number, and its column. */
export const phoneColumns = { challenges: 'phone', verifications: 'phone', messages: 'to_phone', inbox_messages: 'to_phone' } as const;
export type PhoneTable = keyof typeof phoneColumns;

export interface PhoneRow {
  id: string;
  tenant_id: string;
  phone: string;
  created_at: number;
}

/** Rows of `table` with ids in (afterId, beforeId), oldest first, at most `limit`. */
export async function phoneRowsInRange(db: Executor, table: PhoneTable, afterId: string, beforeId: string, limit: number): Promise<PhoneRow[]> {
  const column = phoneColumns[table];
  // One query per table: Kysely cannot type a column picked at run time across tables.
  const rows = await (db as Executor)
    .selectFrom(table as 'messages')
    .select(['id', 'tenant_id', `${column} as phone` as 'to_phone as phone', 'created_at'])
    .where('id', '>', afterId)
    .where('id', '<', beforeId)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, created_at: Number(r.created_at) })) as PhoneRow[];
}

/** Sets the phone column of one row, if it still holds `from` (a concurrent node may have been first). */
export async function replacePhone(db: Executor, table: PhoneTable, id: string, from: string, to: string): Promise<number> {
  const column = phoneColumns[table] as 'to_phone';
  const r = await db
    .updateTable(table as 'messages')
    .set({ [column]: to } as { to_phone: string })
    .where('id', '=', id)
    .where(column, '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Number blocks (`n:+…` keys) with ids in (afterId, beforeId), oldest first. */
export async function numberDecisionsInRange(db: Executor, afterId: string, beforeId: string, limit: number) {
  return db
    .selectFrom('fraud_decisions')
    .select(['id', 'tenant_id', 'key', 'reason', 'created_at'])
    .where('id', '>', afterId)
    .where('id', '<', beforeId)
    .where('kind', '=', 'number')
    .orderBy('id')
    .limit(limit)
    .execute();
}

export async function rewriteDecision(db: Executor, id: string, fromKey: string, set: { key: string; reason: string }): Promise<number> {
  const r = await db.updateTable('fraud_decisions').set(set).where('id', '=', id).where('key', '=', fromKey).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The last id the phone hashing of a table has done ('' when it has not started). */
export async function readMark(db: Executor, name: string): Promise<string> {
  const row = await db.selectFrom('lifecycle_marks').select('until_id').where('name', '=', name).executeTakeFirst();
  return row?.until_id ?? '';
}

/** Moves a mark forward (never back: two nodes may finish the same range in either order). */
export async function advanceMark(db: Executor, name: string, untilId: string): Promise<void> {
  await db
    .insertInto('lifecycle_marks')
    .values({ name, until_id: untilId })
    .onConflict((oc) => oc.column('name').doUpdateSet({ until_id: untilId }).where('lifecycle_marks.until_id', '<', untilId))
    .execute();
}

/**
 * An id below which every row of `table` was created before `cutoff` (rows are created in id
 * order; a stray row out of order is still judged by its own time by the purge): a bisection
 * over the time part of the id, one primary-key seek per step (about 48).
 * `floorOf(t)` is the smallest id made at `t` (src/domain/ids.ts idFloor).
 */
export async function idBoundary(db: Executor, table: TimedTable, cutoff: number, floorOf: (t: number) => string): Promise<string> {
  return bisectIdBoundary(cutoff, floorOf, async (fromId) => (await firstRowFrom(db, table, fromId))?.t);
}

/**
 * The bisection of idBoundary over any ordered rows: `timeFrom(id)` is the time of the first
 * row at or after `id`, undefined when there is none.
 */
export async function bisectIdBoundary(cutoff: number, floorOf: (t: number) => string, timeFrom: (fromId: string) => Promise<number | undefined>): Promise<string> {
  let lo = 0;
  let hi = 2 ** 48 - 1;
  // Invariant: the first row at/after floorOf(hi) is at or after the cutoff (or there is none);
  // the first row at/after floorOf(lo) is older, unless lo is still 0.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const t = await timeFrom(floorOf(mid));
    if (t === undefined || t >= cutoff) hi = mid;
    else lo = mid;
  }
  const t = await timeFrom(floorOf(lo));
  return t === undefined || t >= cutoff ? floorOf(lo) : floorOf(hi);
}

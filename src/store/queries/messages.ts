import { PostgresAdapter, sql } from 'kysely';
import type { Executor } from '../db.js';
import { limitOf, p, pgStatement, prepared } from '../prepared.js';
import { bisectIdBoundary } from './lifecycle.js';
import type { Message, MessageAttempt, MessagesTable, MessageStatus, MessageUpdate, NewMessage, NewMessageAttempt } from '../schema.js';

const messageColumns = [
  'id', 'tenant_id', 'kind', 'challenge_id', 'purpose', 'to_phone', 'body_sealed', 'body_masked', 'sender_id', 'encoding',
  'segments', 'status', 'attempts', 'chain_index', 'chain_attempts', 'next_attempt_at', 'lease_until', 'lease_owner',
  'expires_at', 'provider', 'provider_message_id', 'error_kind', 'error_code', 'error_message', 'created_at', 'updated_at',
  'sent_at', 'delivered_at',
] as const satisfies ReadonlyArray<keyof NewMessage>;

const insertMessageQuery = prepared((db) =>
  db.insertInto('messages').values(Object.fromEntries(messageColumns.map((c) => [c, p(c)])) as unknown as NewMessage),
);

export async function insertMessage(db: Executor, row: NewMessage): Promise<void> {
  await insertMessageQuery.execute(db, Object.fromEntries(messageColumns.map((c) => [c, row[c] ?? null])));
}

export async function findMessage(db: Executor, tenantId: string, id: string): Promise<Message | undefined> {
  return db.selectFrom('messages').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
}

export interface MessageFilter {
  status?: MessageStatus;
  phone?: string;
  purpose?: string;
  kind?: string;
  provider?: string;
  /** Created at or after (epoch ms). */
  from?: number;
  /** Created before (epoch ms). */
  to?: number;
  /** `+` and digits; numbers already reduced to a keyed hash never match. */
  phonePrefix?: string;
  /** Digits the number ends with; hashed numbers never match. */
  phoneSuffix?: string;
  /** The number in every stored form (E.164 and its keyed hashes): any of them matches. */
  phoneForms?: readonly string[];
  /** Newest first: only messages with an id below this one. */
  beforeId?: string;
}

/**
 * How many of the tenant's messages one filtered read looks at. The log has no index on status,
 * number, purpose or provider (each would cost every send one more index write), and on SQLite
 * a read runs on the request thread: without a window, a filter that few messages match walks
 * the tenant's whole log in one statement.
 */
const MESSAGE_LOG_WINDOW = 5_000;

/** The ids a read of the log is bounded to: `id < below` and `id >= atLeast`. */
export interface MessageIdRange {
  below?: string;
  atLeast?: string;
}

/** The first (or last) of the tenant's messages from (or before) an id, with its time. */
async function tenantMessageNear(db: Executor, tenantId: string, id: string, side: 'from' | 'before'): Promise<number | undefined> {
  const row = await db
    .selectFrom('messages')
    .select('created_at')
    .where('tenant_id', '=', tenantId)
    .where('id', side === 'from' ? '>=' : '<', id)
    .orderBy('id', side === 'from' ? 'asc' : 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.created_at) : undefined;
}

/**
 * An id that splits the tenant's messages at `cutoff`: those below it were created before, those
 * at or after it at or after (messages are created in id order; the read still checks each
 * row's own time). Ids carry the time they were made at, so the id made at `cutoff` nearly
 * always splits them (two reads); when it does not (a clock that ids do not follow, as in
 * tests), a bisection over the ids' time part finds one (about 48 reads).
 */
async function messageIdAt(db: Executor, tenantId: string, cutoff: number, floorOf: (t: number) => string): Promise<string> {
  const splits = async (id: string) => {
    const after = await tenantMessageNear(db, tenantId, id, 'from');
    if (after !== undefined && after < cutoff) return false;
    const before = await tenantMessageNear(db, tenantId, id, 'before');
    return before === undefined || before < cutoff;
  };
  const guess = floorOf(cutoff);
  if (await splits(guess)) return guess;
  return bisectIdBoundary(cutoff, floorOf, (id) => tenantMessageNear(db, tenantId, id, 'from'));
}

/**
 * The id range a filter's cursor and times come to, or null when it is empty. The times become
 * ids so that a read starts at the newest message before `to` and stops at the oldest after
 * `from`, instead of walking the rest of the log.
 */
export async function messageIdRange(db: Executor, tenantId: string, filter: MessageFilter, floorOf: (t: number) => string): Promise<MessageIdRange | null> {
  const range: MessageIdRange = {};
  if (filter.beforeId) range.below = filter.beforeId;
  if (filter.to !== undefined) {
    const to = await messageIdAt(db, tenantId, filter.to, floorOf);
    if (range.below === undefined || to < range.below) range.below = to;
  }
  if (filter.from !== undefined) range.atLeast = await messageIdAt(db, tenantId, filter.from, floorOf);
  return range.below !== undefined && range.atLeast !== undefined && range.atLeast >= range.below ? null : range;
}

/** True when the filter looks at more than the time and the cursor: the read is windowed. */
function filtersRows(f: MessageFilter): boolean {
  return !!(f.status || f.phone || f.purpose || f.kind || f.provider || f.phonePrefix || f.phoneSuffix || (f.phoneForms && f.phoneForms.length > 0));
}

/**
 * One page of the log, newest first, at most `limit` messages, within `range`. A filter on
 * anything but time looks at the tenant's next `MESSAGE_LOG_WINDOW` messages only; `low` is the
 * lowest id of that window when the window is full: older messages may match, and the next
 * read continues below it. Without `windowed`, one statement walks until `limit` match.
 */
export async function listMessagesIn(
  db: Executor,
  tenantId: string,
  filter: MessageFilter,
  range: MessageIdRange,
  limit: number,
  windowed = true,
): Promise<{ rows: Message[]; low: string | undefined }> {
  let low: string | undefined;
  if (windowed && filtersRows(filter)) {
    let edge = db.selectFrom('messages').select('id').where('tenant_id', '=', tenantId);
    if (range.below !== undefined) edge = edge.where('id', '<', range.below);
    if (range.atLeast !== undefined) edge = edge.where('id', '>=', range.atLeast);
    low = (await edge.orderBy('id', 'desc').limit(1).offset(MESSAGE_LOG_WINDOW - 1).executeTakeFirst())?.id;
  }
  let q = db.selectFrom('messages').selectAll().where('tenant_id', '=', tenantId);
  if (range.below !== undefined) q = q.where('id', '<', range.below);
  if (low !== undefined) q = q.where('id', '>=', low);
  else if (range.atLeast !== undefined) q = q.where('id', '>=', range.atLeast);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.phone) q = q.where('to_phone', '=', filter.phone);
  if (filter.purpose) q = q.where('purpose', '=', filter.purpose);
  if (filter.kind) q = q.where('kind', '=', filter.kind as Message['kind']);
  if (filter.provider) q = q.where('provider', '=', filter.provider);
  if (filter.from !== undefined) q = q.where('created_at', '>=', filter.from);
  if (filter.to !== undefined) q = q.where('created_at', '<', filter.to);
  if (filter.phoneForms && filter.phoneForms.length > 0) q = q.where('to_phone', 'in', [...filter.phoneForms]);
  // The values are `+` and digits only (checked by the route), so nothing in them is a LIKE wildcard.
  if (filter.phonePrefix) q = q.where('to_phone', 'like', `${filter.phonePrefix}%`);
  // A keyed hash (`h:` + base64url) can end in digits too: only numbers still in E.164 match.
  if (filter.phoneSuffix) q = q.where('to_phone', 'like', '+%').where('to_phone', 'like', `%${filter.phoneSuffix}`);
  return { rows: await q.orderBy('id', 'desc').limit(limit).execute(), low };
}

export async function listAttempts(db: Executor, messageIds: readonly string[]): Promise<MessageAttempt[]> {
  if (messageIds.length === 0) return [];
  return db.selectFrom('message_attempts').selectAll().where('message_id', 'in', messageIds).orderBy('message_id').orderBy('attempt_no').execute();
}

/**
 * What a delivery reads of a claimed message. Only these columns come back from a claim:
 * turning a row into an object costs per column, and the claim runs under the write lock.
 */
export const claimedColumns = ['id', 'tenant_id', 'to_phone', 'body_sealed', 'sender_id', 'attempts', 'chain_index', 'chain_attempts', 'expires_at', 'created_at'] as const;
export type ClaimedMessage = Pick<Message, (typeof claimedColumns)[number]>;

const claimQueries = new Map<boolean, ReturnType<typeof prepared<ClaimedMessage>>>();

/** The claim on SQLite, whose one writer needs no row locks; PostgreSQL calls `otpgate_claim`. */
function claimQuery(expiredLeases: boolean) {
  let q = claimQueries.get(expiredLeases);
  if (!q) {
    q = prepared((db) => {
      const due = expiredLeases
        ? // The literals let the planner use the partial indexes messages_sending_lease and messages_due.
          db.selectFrom('messages').select('id').where('status', '=', sql.lit('sending')).where('lease_until', '<', p<number>('now')).orderBy('lease_until')
        : db.selectFrom('messages').select('id').where('status', '=', sql.lit('queued')).where('next_attempt_at', '<=', p<number>('now')).orderBy('next_attempt_at');
      return db
        .updateTable('messages')
        .set({ status: 'sending', lease_owner: p('owner'), lease_until: p('lease_until'), updated_at: p('now') })
        .where('id', 'in', due.limit(limitOf('limit')))
        .returning(claimedColumns);
    });
    claimQueries.set(expiredLeases, q);
  }
  return q;
}

/**
 * Leases up to `limit` due messages to `owner` until `leaseUntil`, in one statement.
 * `expiredLeases` picks messages whose previous lease ran out (a crashed or stalled
 * dispatcher) instead of queued ones; the two are separate statements so each one uses its
 * index. PostgreSQL skips rows another node is claiming at the same moment.
 */
export async function claimDueMessages(
  db: Executor,
  owner: string,
  now: number,
  leaseUntil: number,
  limit: number,
  expiredLeases = false,
): Promise<ClaimedMessage[]> {
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    return (await claimCall.execute(db, [owner, now, leaseUntil, limit, expiredLeases])).rows;
  }
  const r = await claimQuery(expiredLeases).execute(db, { owner, now, lease_until: leaseUntil, limit });
  return r.rows;
}

/** The same claim on PostgreSQL, committed without waiting for the log's flush (migration 0028). */
const claimCall = pgStatement<ClaimedMessage>('select * from otpgate_claim($1, $2, $3, $4, $5)');

/**
 * When the next queued message falls due (for the dispatcher's timer), if any. Expired leases
 * are not looked for here: the dispatcher looks for them at most once per poll interval, so a
 * crashed node's messages come back within lease + poll interval. (min(lease_until) over the
 * 'sending' rows has no index of its own: on PostgreSQL it read every 'sending' entry of the
 * (status, next_attempt_at) index left since the last VACUUM, a cost growing with traffic, and
 * it ran on every dispatcher tick.)
 */
const nextDueQuery = prepared((db) => db.selectFrom('messages').select('next_attempt_at').where('status', '=', sql.lit('queued')).orderBy('next_attempt_at').limit(limitOf(1)));

export async function nextDueAt(db: Executor): Promise<number | undefined> {
  const r = await nextDueQuery.execute(db, {});
  return r.rows[0]?.next_attempt_at;
}

/**
 * Records an attempt and moves the message on, but only while this dispatcher still holds the
 * lease: a dispatcher whose lease ran out (and whose message another took) changes nothing.
 */
export async function completeAttempt(
  db: Executor,
  messageId: string,
  owner: string,
  update: MessageUpdate,
  attempt: NewMessageAttempt | undefined,
  /** Given: the attempt is added to it instead of inserted, for `insertAttempts` later in the same unit. */
  attempts?: NewMessageAttempt[],
): Promise<boolean> {
  const keys = Object.keys(update).filter((k) => (update as Record<string, unknown>)[k] !== undefined).sort() as Array<keyof MessageUpdate>;
  const signature = keys.join(',');
  let q = completeQueries.get(signature);
  if (!q) {
    q = prepared((db) =>
      db
        .updateTable('messages')
        .set(Object.fromEntries(keys.map((k) => [k, p(`set_${k}`)])) as MessageUpdate)
        .where('id', '=', p('id'))
        .where('status', '=', 'sending')
        .where('lease_owner', '=', p('owner')),
    );
    completeQueries.set(signature, q);
  }
  const values: Record<string, unknown> = { id: messageId, owner };
  for (const k of keys) values[`set_${k}`] = (update as Record<string, unknown>)[k] ?? null;
  const r = await q.execute(db, values);
  if (Number(r.numAffectedRows ?? 0n) === 0) return false;
  if (attempt && attempts) attempts.push(attempt);
  else if (attempt) await insertAttemptQuery.execute(db, attemptRow(attempt));
  return true;
}

/** PostgreSQL types of the messages columns, for reading an outcome's values out of JSON. */
const messagePgTypes: Record<keyof MessagesTable, 'text' | 'integer' | 'bigint'> = {
  id: 'text', tenant_id: 'text', kind: 'text', challenge_id: 'text', purpose: 'text', to_phone: 'text', body_sealed: 'text',
  body_masked: 'text', sender_id: 'text', encoding: 'text', segments: 'integer', status: 'text', attempts: 'integer',
  chain_index: 'integer', chain_attempts: 'integer', next_attempt_at: 'bigint', lease_until: 'bigint', lease_owner: 'text',
  expires_at: 'bigint', provider: 'text', provider_message_id: 'text', error_kind: 'text', error_code: 'text',
  error_message: 'text', created_at: 'bigint', updated_at: 'bigint', sent_at: 'bigint', delivered_at: 'bigint',
};

const completeManyQueries = new Map<string, ReturnType<typeof pgStatement<{ id: string }>>>();

export interface Completion {
  messageId: string;
  owner: string;
  update: MessageUpdate;
}

/**
 * PostgreSQL: the outcomes of a batch in one statement per set of columns they change (one,
 * as a rule), instead of a statement each. Answers, in order, whether each one's owner still
 * held the lease (its message was updated), as completeAttempt does one by one; the caller
 * records the attempts of those. Two outcomes for one message go one by one, in order.
 */
export async function completeAttempts(db: Executor, items: readonly Completion[]): Promise<boolean[]> {
  const held = new Array<boolean>(items.length).fill(false);
  const seen = new Set<string>();
  const groups = new Map<string, { keys: Array<keyof MessageUpdate>; at: number[] }>();
  const alone: number[] = [];
  items.forEach((it, i) => {
    if (seen.has(it.messageId)) return void alone.push(i);
    seen.add(it.messageId);
    const keys = Object.keys(it.update).filter((k) => (it.update as Record<string, unknown>)[k] !== undefined).sort() as Array<keyof MessageUpdate>;
    const signature = keys.join(',');
    const g = groups.get(signature) ?? { keys, at: [] };
    g.at.push(i);
    groups.set(signature, g);
  });
  for (const [signature, g] of groups) {
    let q = completeManyQueries.get(signature);
    if (!q) {
      const set = g.keys.map((k) => `"${k}" = v."${k}"`).join(', ');
      const columns = g.keys.map((k) => `, "${k}" ${messagePgTypes[k as keyof MessagesTable]}`).join('');
      q = pgStatement<{ id: string }>(
        `update messages as m set ${set} from jsonb_to_recordset($1::jsonb) as v(id text, lease_holder text${columns}) ` +
          `where m.id = v.id and m.status = 'sending' and m.lease_owner = v.lease_holder returning m.id`,
      );
      completeManyQueries.set(signature, q);
    }
    const rows = g.at.map((i) => {
      const it = items[i]!;
      const row: Record<string, unknown> = { id: it.messageId, lease_holder: it.owner };
      for (const k of g.keys) row[k] = (it.update as Record<string, unknown>)[k] ?? null;
      return row;
    });
    const r = await q.execute(db, [JSON.stringify(rows)]);
    const updated = new Set(r.rows.map((row) => row.id));
    for (const i of g.at) held[i] = updated.has(items[i]!.messageId);
  }
  for (const i of alone) {
    const it = items[i]!;
    held[i] = await completeAttempt(db, it.messageId, it.owner, it.update, undefined, []);
  }
  return held;
}

/** Several attempts in one statement (a batch of delivery outcomes). */
export async function insertAttempts(db: Executor, attempts: readonly NewMessageAttempt[]): Promise<void> {
  if (attempts.length === 0) return;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // One text for any number of rows, so it is prepared once (src/store/prepared.ts).
    await insertAttemptsPg.execute(db, [JSON.stringify(attempts.map(attemptRow))]);
    return;
  }
  // On SQLite one prepared row insert per attempt: a multi-row insert's text changes with the
  // count, so Kysely would build and compile it anew for every batch (1.6 % of the main
  // thread's samples in the send bench).
  for (const a of attempts) await insertAttemptQuery.execute(db, attemptRow(a));
}

/** The columns of `messages` an outcome may change in `otpgate_complete_batch` (migration 0027): all but what names the message. */
export const batchOutcomeColumns: ReadonlySet<string> = new Set<keyof MessagesTable>([
  'body_masked', 'sender_id', 'encoding', 'segments', 'status', 'attempts', 'chain_index', 'chain_attempts', 'next_attempt_at',
  'lease_until', 'lease_owner', 'expires_at', 'provider', 'provider_message_id', 'error_kind', 'error_code', 'error_message',
  'updated_at', 'sent_at', 'delivered_at', 'body_sealed',
]);

/** One outcome of `completeBatch`; every `id` of a batch differs, and `update` names only `batchOutcomeColumns`. */
export interface BatchOutcome {
  id: string;
  owner: string;
  tenant_id: string;
  update: MessageUpdate;
  attempt?: NewMessageAttempt;
  /** The event to queue for each endpoint of the tenant that wants `type` (event-emitter.ts `draft`). */
  event?: { type: string; id: string; at: number; payload: string; delivery_ids: string[] };
}

const completeBatchCall = pgStatement<{ r: { held: boolean[] } | { need: Record<string, number> } }>('select otpgate_complete_batch($1::jsonb) as r');

/**
 * PostgreSQL: a batch of delivery outcomes in one statement, with no transaction around it
 * (migration 0027). Answers whether each owner still held its lease, in order, or, writing
 * nothing, how many delivery ids the events of each tenant named need (one per endpoint that
 * wants them).
 */
export async function completeBatch(db: Executor, items: readonly BatchOutcome[]): Promise<{ held: boolean[] } | { need: Record<string, number> }> {
  const r = await completeBatchCall.execute(db, [JSON.stringify(items.map((it) => (it.attempt ? { ...it, attempt: attemptRow(it.attempt) } : it)))]);
  return r.rows[0]!.r;
}

const completeQueries = new Map<string, ReturnType<typeof prepared<unknown>>>();
const attemptColumns = [
  'id', 'message_id', 'tenant_id', 'attempt_no', 'provider', 'slot', 'started_at', 'latency_ms', 'outcome', 'error_kind',
  'provider_code', 'http_status', 'error_message', 'provider_message_id',
] as const satisfies ReadonlyArray<keyof NewMessageAttempt>;
const insertAttemptsPg = pgStatement(
  `insert into message_attempts (${attemptColumns.join(', ')}) select ${attemptColumns.join(', ')} from jsonb_populate_recordset(null::message_attempts, $1::jsonb)`,
);
/** An attempt's values by column, absent ones as null: the parameters of both attempt inserts. */
function attemptRow(a: NewMessageAttempt): Record<string, unknown> {
  return Object.fromEntries(attemptColumns.map((c) => [c, a[c] ?? null]));
}
const insertAttemptQuery = prepared((db) =>
  db.insertInto('message_attempts').values(Object.fromEntries(attemptColumns.map((c) => [c, p(c)])) as unknown as NewMessageAttempt),
);

export async function findMessageByProviderId(db: Executor, tenantId: string, provider: string, providerMessageId: string): Promise<Message | undefined> {
  return db
    .selectFrom('messages')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .where('provider', '=', provider)
    .where('provider_message_id', '=', providerMessageId)
    .executeTakeFirst();
}

export async function updateDeliveryStatus(
  db: Executor,
  id: string,
  fromStatuses: readonly MessageStatus[],
  update: MessageUpdate,
): Promise<boolean> {
  const r = await db.updateTable('messages').set(update).where('id', '=', id).where('status', 'in', fromStatuses).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** The outbox's depth. One count per status, each with a literal status: each is served by its partial index. */
export async function countQueued(db: Executor): Promise<{ queued: number; sending: number }> {
  const count = async (status: 'queued' | 'sending') =>
    Number((await db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', sql.lit(status)).executeTakeFirst())?.n ?? 0);
  return { queued: await count('queued'), sending: await count('sending') };
}

/** `pg_notify(channel, payload)` through the pool (PostgreSQL only): a fallback when the LISTEN connection is down. */
export async function notifyChannel(db: Executor, channel: string, payload: string): Promise<void> {
  await sql`select pg_notify(${channel}, ${payload})`.execute(db);
}

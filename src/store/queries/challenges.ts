import { sql } from 'kysely';
import type { Executor, StoreCapabilities } from '../db.js';
import type { Challenge, NewChallenge } from '../schema.js';
import { limitOf, p, prepared } from '../prepared.js';

const challengeColumns = [
  'id', 'tenant_id', 'phone', 'purpose', 'code_hash', 'status', 'attempts', 'max_attempts', 'client_ip', 'is_test',
  'message_id', 'created_at', 'expires_at', 'resend_available_at', 'verified_at', 'verification_id',
] as const satisfies ReadonlyArray<keyof NewChallenge>;

/**
 * What a send reads of a phone's latest code: on SQLite all of it is in `challenges_latest`
 * (migration 0033), so the read never reaches the table's row.
 */
const latestCodeColumns = ['id', 'status', 'created_at', 'expires_at', 'resend_available_at', 'verified_at', 'verification_id'] as const satisfies ReadonlyArray<keyof Challenge>;
export type LatestCodeRow = Pick<Challenge, (typeof latestCodeColumns)[number]>;

/**
 * A verification's pending codes, newest first: the order in which a verify tries them and in
 * which a joining send keeps the newest three, so both agree on which codes are live.
 */
const newestPendingOf = (db: Executor) =>
  db.selectFrom('challenges').where('verification_id', '=', p('verification')).where('status', '=', 'pending').orderBy('created_at', 'desc').orderBy('id', 'desc');

/** A phone's newest challenge for a purpose: the order `challenges_latest` keeps. */
const latestOf = (db: Executor) =>
  db
    .selectFrom('challenges')
    .where('tenant_id', '=', p('tenant'))
    .where('phone', '=', p('phone'))
    .where('purpose', '=', p('purpose'))
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limitOf(1));

const q = {
  insert: prepared((db) => db.insertInto('challenges').values(Object.fromEntries(challengeColumns.map((c) => [c, p(c)])) as unknown as NewChallenge)),
  find: prepared((db) => db.selectFrom('challenges').selectAll().where('tenant_id', '=', p('tenant')).where('id', '=', p('id'))),
  latest: prepared((db) => latestOf(db).selectAll()),
  latestCode: prepared((db) => latestOf(db).select(latestCodeColumns)),
  countPhone: prepared((db) =>
    db
      .selectFrom('challenges')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', p('tenant'))
      .where('phone', '=', p('phone'))
      .where('created_at', '>', p<number>('since')),
  ),
  countIp: prepared((db) =>
    db
      .selectFrom('challenges')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', p('tenant'))
      .where('client_ip', '=', p('ip'))
      .where('created_at', '>', p<number>('since')),
  ),
  liveCodes: prepared((db) => newestPendingOf(db).selectAll().limit(limitOf('limit'))),
  supersede: prepared((db) => db.updateTable('challenges').set({ status: 'superseded' }).where('id', '=', p('id')).where('status', '=', 'pending')),
  supersedeBeyond: prepared((db) =>
    db
      .updateTable('challenges')
      .set({ status: 'superseded' })
      .where('verification_id', '=', p('verification'))
      .where('status', '=', 'pending')
      .where('id', 'not in', newestPendingOf(db).select('id').limit(limitOf('keep'))),
  ),
  closeVerified: prepared((db) =>
    db.updateTable('challenges').set({ status: 'verified', verified_at: p<number>('now') }).where('verification_id', '=', p('verification')).where('status', '=', 'pending'),
  ),
  closeAs: prepared((db) =>
    db.updateTable('challenges').set({ status: p<Challenge['status']>('status') }).where('verification_id', '=', p('verification')).where('status', '=', 'pending'),
  ),
  verified: prepared((db) =>
    db
      .updateTable('challenges')
      .set({ status: 'verified', verified_at: p<number>('now') })
      .where('id', '=', p('id'))
      .where('status', '=', 'pending')
      .where('expires_at', '>', p<number>('now'))
      .whereRef('attempts', '<', 'max_attempts'),
  ),
  wrong: prepared((db) =>
    db
      .updateTable('challenges')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('id', '=', p('id'))
      .where('status', '=', 'pending')
      .whereRef('attempts', '<', 'max_attempts')
      .returning(['attempts', 'max_attempts']),
  ),
};

/**
 * Serialises concurrent sends for one key (tenant + phone, or tenant + client IP) until the
 * transaction ends, so per-phone caps and cooldowns hold across nodes. Takes a
 * transaction-level advisory lock where the engine has them (`advisoryLocks`); an engine
 * without them must be a `singleWriter` one (SQLite), where there is nothing to take.
 */
export async function lockSendKey(db: Executor, caps: StoreCapabilities, key: string): Promise<void> {
  if (!caps.advisoryLocks) {
    if (!caps.singleWriter) throw new Error('lockSendKey: an engine with concurrent writers needs advisory locks');
    return;
  }
  await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(db);
}

export async function insertChallenge(db: Executor, row: NewChallenge): Promise<void> {
  await q.insert.execute(db, Object.fromEntries(challengeColumns.map((c) => [c, row[c] ?? null])));
}

export async function findChallenge(db: Executor, tenantId: string, id: string): Promise<Challenge | undefined> {
  return (await q.find.execute(db, { tenant: tenantId, id })).rows[0];
}

/** The newest challenge for a phone and purpose, whatever its state. */
export async function findLatestChallenge(db: Executor, tenantId: string, phone: string, purpose: string): Promise<Challenge | undefined> {
  return (await q.latest.execute(db, { tenant: tenantId, phone, purpose })).rows[0];
}

/** The newest challenge for a phone and purpose, only what a send decides on: read from the index alone. */
export async function findLatestCode(db: Executor, tenantId: string, phone: string, purpose: string): Promise<LatestCodeRow | undefined> {
  return (await q.latestCode.execute(db, { tenant: tenantId, phone, purpose })).rows[0];
}

/** Sends to this phone since `since` (every purpose). */
export async function countSendsForPhone(db: Executor, tenantId: string, phone: string, since: number): Promise<number> {
  return Number((await q.countPhone.execute(db, { tenant: tenantId, phone, since })).rows[0]?.n ?? 0);
}

/**
 * The oldest send to this phone (`by: 'phone'`) or from this client IP (`by: 'client_ip'`)
 * since `since`, to tell the caller when the hourly cap frees up.
 */
export async function oldestSend(db: Executor, tenantId: string, by: 'phone' | 'client_ip', value: string, since: number): Promise<number | undefined> {
  const r = await db
    .selectFrom('challenges')
    .select('created_at')
    .where('tenant_id', '=', tenantId)
    .where(by, '=', value)
    .where('created_at', '>', since)
    .orderBy('created_at')
    .limit(1)
    .executeTakeFirst();
  return r?.created_at;
}

export async function countSendsForIp(db: Executor, tenantId: string, ip: string, since: number): Promise<number> {
  return Number((await q.countIp.execute(db, { tenant: tenantId, ip, since })).rows[0]?.n ?? 0);
}

/**
 * The pending codes of a verification, newest first, at most `limit` (expired ones included:
 * the caller compares expires_at with its clock).
 */
export async function pendingCodesOf(db: Executor, verificationId: string, limit: number): Promise<Challenge[]> {
  return (await q.liveCodes.execute(db, { verification: verificationId, limit })).rows;
}

/**
 * Supersedes the pending codes of a verification beyond its `keep` newest, in one statement: a
 * send that joins a verification ran a read of its codes and an update per old one before.
 */
export async function supersedeBeyondNewest(db: Executor, verificationId: string, keep: number): Promise<number> {
  const r = await q.supersedeBeyond.execute(db, { verification: verificationId, keep });
  return Number(r.numAffectedRows ?? 0n);
}

/**
 * Ends every pending code of a verification with it: `verified` (with `verified_at`) when it
 * was approved, `locked` when its attempts ran out, `canceled`, `superseded` or `expired`.
 */
export async function closeCodesOf(db: Executor, verificationId: string, status: 'verified' | 'locked' | 'canceled' | 'superseded' | 'expired', now: number): Promise<void> {
  if (status === 'verified') await q.closeVerified.execute(db, { verification: verificationId, now });
  else await q.closeAs.execute(db, { verification: verificationId, status });
}

/** A code that left its verification's last 3 (`new_code`), or a replaced legacy code. */
export async function supersedeChallenge(db: Executor, id: string): Promise<void> {
  await q.supersede.execute(db, { id });
}

/**
 * Marks the challenge verified if, and only if, it is still pending, unexpired and has
 * attempts left. Of two racing verifications, exactly one gets the row back.
 */
export async function markVerified(db: Executor, id: string, now: number): Promise<boolean> {
  const r = await q.verified.execute(db, { id, now });
  return Number(r.numAffectedRows ?? 0n) > 0;
}

/**
 * Counts one wrong code atomically; locks the challenge when it reaches its maximum.
 * Returns the attempts now used, or undefined when the challenge was no longer pending.
 */
export async function recordWrongAttempt(db: Executor, id: string): Promise<{ attempts: number; max_attempts: number } | undefined> {
  const row = (await q.wrong.execute(db, { id })).rows[0];
  if (row && row.attempts >= row.max_attempts) {
    await db.updateTable('challenges').set({ status: 'locked' }).where('id', '=', id).where('status', '=', 'pending').execute();
  }
  return row;
}

export async function markExpired(db: Executor, id: string): Promise<void> {
  await db.updateTable('challenges').set({ status: 'expired' }).where('id', '=', id).where('status', '=', 'pending').execute();
}

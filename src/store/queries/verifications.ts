import type { Executor } from '../db.js';
import type { Verification, VerificationStatus } from '../schema.js';
import { p, prepared } from '../prepared.js';

const verificationColumns = [
  'id', 'tenant_id', 'phone', 'purpose', 'status', 'attempts', 'max_attempts', 'code_sealed', 'amount', 'payee',
  'created_at', 'updated_at', 'expires_at', 'approved_at',
] as const satisfies ReadonlyArray<keyof Verification>;

const q = {
  // Prepared: a send that starts a verification runs it, and building the insert each time cost about as much as the rest of the send's statements.
  insert: prepared((db) => db.insertInto('verifications').values(Object.fromEntries(verificationColumns.map((c) => [c, p(c)])) as unknown as Verification)),
  find: prepared((db) => db.selectFrom('verifications').selectAll().where('tenant_id', '=', p('tenant')).where('id', '=', p('id'))),
  approve: prepared((db) =>
    db
      .updateTable('verifications')
      .set({ status: 'approved', approved_at: p<number>('now'), updated_at: p<number>('now'), code_sealed: null })
      .where('id', '=', p('id'))
      .where('status', '=', 'pending')
      .where('expires_at', '>', p<number>('now'))
      .whereRef('attempts', '<', 'max_attempts'),
  ),
  wrong: prepared((db) =>
    db
      .updateTable('verifications')
      .set((eb) => ({ attempts: eb('attempts', '+', 1), updated_at: p<number>('now') }))
      .where('id', '=', p('id'))
      .where('status', '=', 'pending')
      .whereRef('attempts', '<', 'max_attempts')
      .returning(['attempts', 'max_attempts']),
  ),
  // Prepared, as the send's other statements: a resend that joins runs one of these two.
  extend: prepared((db) =>
    db
      .updateTable('verifications')
      .set((eb) => ({ expires_at: eb.case().when('expires_at', '<', p<number>('expiresAt')).then(p<number>('expiresAt')).else(eb.ref('expires_at')).end(), updated_at: p<number>('now') }))
      .where('id', '=', p('id')),
  ),
  extendSealed: prepared((db) =>
    db
      .updateTable('verifications')
      .set((eb) => ({
        expires_at: eb.case().when('expires_at', '<', p<number>('expiresAt')).then(p<number>('expiresAt')).else(eb.ref('expires_at')).end(),
        updated_at: p<number>('now'),
        code_sealed: p('sealed'),
      }))
      .where('id', '=', p('id')),
  ),
  end: prepared((db) =>
    db
      .updateTable('verifications')
      .set({ status: p<VerificationStatus>('status'), updated_at: p<number>('now'), code_sealed: null })
      .where('id', '=', p('id'))
      .where('status', '=', 'pending'),
  ),
};

export async function insertVerification(db: Executor, row: Verification): Promise<void> {
  await q.insert.execute(db, row as unknown as Record<string, unknown>);
}

export async function findVerification(db: Executor, tenantId: string, id: string): Promise<Verification | undefined> {
  return (await q.find.execute(db, { tenant: tenantId, id })).rows[0];
}

/**
 * A resend joined the verification: its last code now expires at `expiresAt` (never earlier);
 * `codeSealed`, when given, is the code a `same_code` resend will repeat from now on.
 */
export async function extendVerification(db: Executor, id: string, expiresAt: number, now: number, codeSealed?: string): Promise<void> {
  if (codeSealed === undefined) await q.extend.execute(db, { id, expiresAt, now });
  else await q.extendSealed.execute(db, { id, expiresAt, now, sealed: codeSealed });
}

/**
 * Approves the verification if, and only if, it is still pending, unexpired and has attempts
 * left; clears its sealed code. Of two racing approvals exactly one gets true.
 */
export async function approveVerification(db: Executor, id: string, now: number): Promise<boolean> {
  const r = await q.approve.execute(db, { id, now });
  return Number(r.numAffectedRows ?? 0n) > 0;
}

/**
 * Counts one wrong code atomically; at the maximum the verification becomes
 * `max_attempts_reached` and its sealed code is cleared. Returns the attempts now used, or
 * undefined when it was no longer pending.
 */
export async function recordVerificationWrongAttempt(db: Executor, id: string, now: number): Promise<{ attempts: number; max_attempts: number } | undefined> {
  const row = (await q.wrong.execute(db, { id, now })).rows[0];
  if (row && row.attempts >= row.max_attempts) await endVerification(db, id, 'max_attempts_reached', now);
  return row;
}

/** Ends a pending verification (its sealed code goes with it); true when this call did it. */
export async function endVerification(db: Executor, id: string, status: Exclude<VerificationStatus, 'pending' | 'approved'>, now: number): Promise<boolean> {
  const r = await q.end.execute(db, { id, status, now });
  return Number(r.numAffectedRows ?? 0n) > 0;
}

/** Approves a pending verification without a code (the tenant's own decision); true when this call did it. */
export async function approveVerificationDirectly(db: Executor, id: string, now: number): Promise<boolean> {
  const r = await db
    .updateTable('verifications')
    .set({ status: 'approved', approved_at: now, updated_at: now, code_sealed: null })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Every send of a verification, oldest first (for its state; bounded by the hourly cap). */
export async function codesOfVerification(db: Executor, id: string): Promise<Array<{ id: string; created_at: number; expires_at: number; message_id: string | null; status: string }>> {
  return db
    .selectFrom('challenges')
    .select(['id', 'created_at', 'expires_at', 'message_id', 'status'])
    .where('verification_id', '=', id)
    .orderBy('created_at')
    .orderBy('id')
    .limit(100)
    .execute();
}

/**
 * Marks up to `limit` pending verifications whose last code expired before `now` as expired,
 * removing their sealed codes (a verification nobody touches again is otherwise only found
 * expired when read); returns how many.
 */
export async function expireVerifications(db: Executor, now: number, limit: number): Promise<number> {
  const r = await db
    .updateTable('verifications')
    .set({ status: 'expired', code_sealed: null, updated_at: now })
    // `approved_at is null` as in `verifications_pending`'s predicate (migration 0032), which only this statement states.
    .where('id', 'in', (eb) => eb.selectFrom('verifications').select('id').where('status', '=', 'pending').where('approved_at', 'is', null).where('expires_at', '<=', now).limit(limit))
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

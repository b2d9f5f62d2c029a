import { createCallBatcher, type CallBatcherOptions } from '../call-batcher.js';
import type { Executor } from '../db.js';
import { pgStatement } from '../prepared.js';
import type { FraudCountersTable, IdempotencyKeysTable, NewChallenge, NewMessage, Verification } from '../schema.js';

/** What `otpgate_send` is given: the send's decisions' inputs and every row it may write, precomputed. */
export interface OneCallSend {
  tenant_id: string;
  phone: string;
  purpose: string;
  now: number;
  /** The caller's clock is the wall clock: the time after the lock is `now` plus the wait. */
  live_clock: boolean;
  client_ip: string | null;
  amount: string | null;
  payee: string | null;
  resend_policy: 'new_code' | 'same_code';
  /** Count the hourly caps in the store (no Redis reservation was made). */
  count_caps: boolean;
  max_per_phone: number;
  max_per_ip: number;
  /** How many of a verification's newest codes still verify. */
  live_codes: number;
  idempotency_key: string | null;
  /** Without `verification_id`: the function sets it (the new verification's or the one joined). */
  challenge: Omit<NewChallenge, 'verification_id'>;
  /** The verification to insert when the send starts one. */
  verification: Verification;
  message: NewMessage;
  /** Its `response` names `verification.id`; the function puts the joined verification's id in its place. */
  idempotency: IdempotencyKeysTable | null;
  /**
   * A `same_code` resend's second call (migration 0025): `challenge` and `message` carry the
   * code and expiry of this open verification, which the send must join.
   */
  join_verification?: string;
}

/** What `otpgate_send_guarded` is given besides: the phone's latest code for the purpose as the fraud guard judged the send (null: none). */
export interface GuardedSend extends OneCallSend {
  expect_latest: string | null;
  /** The send's rows of `fraud_counters` to add once it is accepted, in its statement (migration 0026). */
  counts?: FraudCountersTable[];
}

export type OneCallAnswer =
  | { outcome: 'accepted'; verification_id: string }
  | { outcome: 'cooldown'; resend_available_at: number }
  | { outcome: 'phone_cap' | 'ip_cap'; oldest: number | null }
  | { outcome: 'race' }
  /** `open`: the verification a `same_code` resend would join (migration 0025); absent when the fraud guard's judged latest code was another. */
  | { outcome: 'fallback'; open?: { id: string; code_sealed: string | null; expires_at: number } | null };

/** SQLSTATE of `otpgate_send` when the idempotency key was inserted by another request meanwhile (the send rolled back). */
export const IDEMPOTENCY_TAKEN = 'OG001';

/** SQLSTATE of `otpgate_send_guarded` when the send would join the open verification (the send rolled back). */
export const SEND_JOINED = 'OG003';

/** SQLSTATE of `otpgate_send` when a `join_verification` send would start or join another verification (the send rolled back). */
export const OPEN_VERIFICATION_CHANGED = 'OG004';

/**
 * A passcode send in one statement (PostgreSQL, `sendFunction`): run outside any transaction,
 * it is its own, so the send costs one round trip. See migration 0017 for what it decides.
 */
const sendCall = pgStatement<{ r: OneCallAnswer }>('select otpgate_send($1::jsonb) as r');
const sendGuardedCall = pgStatement<{ r: OneCallAnswer }>('select otpgate_send_guarded($1::jsonb) as r');
const sendBatchCall = pgStatement<{ r: OneCallAnswer[] }>('select otpgate_send_batch($1::jsonb) as r');

export async function sendInOneCall(db: Executor, args: OneCallSend): Promise<OneCallAnswer> {
  const r = await sendCall.execute(db, [JSON.stringify(args)]);
  return r.rows[0]!.r;
}

/** The send of a tenant whose fraud guard is on, judged beforehand, in one statement (migration 0021). */
export async function sendGuardedInOneCall(db: Executor, args: GuardedSend): Promise<OneCallAnswer> {
  const r = await sendGuardedCall.execute(db, [JSON.stringify(args)]);
  return r.rows[0]!.r;
}

/**
 * One send on its own: the guarded call when the fraud guard judged it, and a batch of one when
 * it is counted too (only the batch function counts).
 */
async function sendAlone(db: Executor, args: OneCallSend | GuardedSend): Promise<OneCallAnswer> {
  if ('counts' in args) return (await sendBatchCall.execute(db, [JSON.stringify([args])])).rows[0]!.r[0]!;
  return 'expect_latest' in args ? sendGuardedInOneCall(db, args) : sendInOneCall(db, args);
}

/**
 * Sends in batches (PostgreSQL, src/store/call-batcher.ts): concurrent sends go together in one
 * call of `otpgate_send_batch` (migration 0022), which answers each as `otpgate_send` (or
 * `otpgate_send_guarded`) would. A batch that fails (an idempotency key stored meanwhile,
 * OG001; a guarded send that would join, OG003; a resend whose open verification changed, OG004)
 * is made again send by send.
 */
export function createSendBatcher(db: Executor, options: CallBatcherOptions = {}) {
  const batcher = createCallBatcher<OneCallSend | GuardedSend, OneCallAnswer>(
    {
      alone: (args) => sendAlone(db, args),
      together: async (args) => (await sendBatchCall.execute(db, [JSON.stringify(args)])).rows[0]!.r,
    },
    options,
  );
  return { send: batcher.call };
}

export type SendBatcher = ReturnType<typeof createSendBatcher>;

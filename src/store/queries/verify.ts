import { createCallBatcher, type CallBatcherOptions } from '../call-batcher.js';
import type { Executor } from '../db.js';
import { pgStatement } from '../prepared.js';
import type { Challenge, Verification } from '../schema.js';

const verifyReadCall = pgStatement<{ r: { challenge: Challenge; verification?: Verification; codes?: Challenge[] } | null }>(
  'select otpgate_verify_read($1, $2, $3, $4, $5::int) as r',
);
const verifyApproveCall = pgStatement<{ r: { approved: boolean; converted?: boolean } }>('select otpgate_verify_approve($1::jsonb) as r');
type NamedRow = { approved?: boolean; wrong?: boolean; challenge: Challenge; verification?: Verification; codes?: Challenge[] } | null;
const verifyNamedCall = pgStatement<{ r: NamedRow }>('select otpgate_verify_named($1::jsonb) as r');
const verifyBatchCall = pgStatement<{ r: NamedRow[] }>('select otpgate_verify_batch($1::jsonb) as r');

/** What a verify reads before it checks the code (`otpgate_verify_read`). */
export interface VerifyRead {
  challenge: Challenge;
  verification?: Verification;
  /** The verification's newest pending codes, newest first; empty unless it is pending. */
  codes: Challenge[];
}

/**
 * The challenge by id, or the newest for a phone and purpose, with its verification and its
 * pending codes, in one statement (PostgreSQL, `verifyFunctions`; migration 0018).
 */
export async function readForVerify(
  db: Executor,
  tenantId: string,
  by: { challengeId: string } | { phone: string; purpose: string },
  liveCodes: number,
): Promise<VerifyRead | undefined> {
  const challengeId = 'challengeId' in by ? by.challengeId : null;
  const phone = 'phone' in by ? by.phone : null;
  const purpose = 'purpose' in by ? by.purpose : null;
  const r = await verifyReadCall.execute(db, [tenantId, challengeId, phone, purpose, liveCodes]);
  const row = r.rows[0]?.r;
  return row ? { challenge: row.challenge, verification: row.verification, codes: row.codes ?? [] } : undefined;
}

export interface ApproveCall {
  tenant_id: string;
  verification_id: string;
  challenge_id: string;
  now: number;
  /** Mark the matched code converted (not for a test number's code). */
  mark_converted: boolean;
  event_type: string;
  event_id: string;
  payload: string;
  /** One per endpoint that may want the event; more endpoints than these raise OG002. */
  delivery_ids: string[];
}

/** SQLSTATE of `otpgate_verify_approve` when the tenant has more endpoints for the event than delivery ids were given (nothing written). */
export const TOO_MANY_ENDPOINTS = 'OG002';

/** Approves, closes the codes, marks the conversion and queues the event in one statement (migration 0018). */
export async function approveInOneCall(db: Executor, args: ApproveCall): Promise<{ approved: boolean; converted: boolean }> {
  const r = await verifyApproveCall.execute(db, [JSON.stringify(args)]);
  const answer = r.rows[0]!.r;
  return { approved: answer.approved, converted: answer.converted === true };
}

export interface NamedCall {
  tenant_id: string;
  challenge_id: string;
  /** The entered code's HMAC for the named challenge. */
  code_hash: string;
  now: number;
  live_codes: number;
  event_type: string;
  event_id: string;
  /** The event body with `"@verification_id@"` and `"@purpose@"` where their values go. */
  payload: string;
  delivery_ids: string[];
}

export type NamedAnswer =
  | { approved: true; converted: boolean; challenge: Challenge; verification: Verification; wrong?: undefined }
  | { wrong: true; attempts: number; max_attempts: number; approved?: undefined }
  | (VerifyRead & { approved?: undefined; wrong?: undefined });

/**
 * A verify that names its challenge, in one statement (`otpgate_verify_named`, migration
 * 0018): approved at once when the named code is the entered one, a wrong attempt counted at
 * once when no other code could match, else what `readForVerify` reads; undefined when there
 * is no such challenge.
 */
export async function verifyNamedInOneCall(db: Executor, args: NamedCall): Promise<NamedAnswer | undefined> {
  const r = await verifyNamedCall.execute(db, [JSON.stringify(args)]);
  return namedAnswer(r.rows[0]?.r ?? null);
}

function namedAnswer(row: NamedRow): NamedAnswer | undefined {
  if (!row) return undefined;
  if (row.approved === true || row.wrong === true) return row as unknown as NamedAnswer;
  return { challenge: row.challenge, verification: row.verification, codes: row.codes ?? [] };
}

/**
 * Verifies that name their challenge, in batches (src/store/call-batcher.ts): concurrent ones
 * go together in one call of `otpgate_verify_batch` (migration 0023), which answers each as
 * `otpgate_verify_named` would. A batch that fails (OG002 for one of its tenants) is made
 * again verify by verify.
 */
export function createVerifyBatcher(db: Executor, options: CallBatcherOptions = {}) {
  const batcher = createCallBatcher<NamedCall, NamedAnswer | undefined>(
    {
      alone: (args) => verifyNamedInOneCall(db, args),
      together: async (args) => (await verifyBatchCall.execute(db, [JSON.stringify(args)])).rows[0]!.r.map(namedAnswer),
    },
    options,
  );
  return { verify: batcher.call };
}

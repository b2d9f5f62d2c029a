import type { Migration, MigrationProvider } from 'kysely';
import { m0001Initial } from './0001-initial.js';
import { m0002SendingLeaseIndex } from './0002-sending-lease-index.js';
import { m0003ChallengesLatestIndex } from './0003-challenges-latest-index.js';
import { m0004PartialIndexes } from './0004-partial-indexes.js';
import { m0005QueuedIndex } from './0005-queued-index.js';
import { m0006IdempotencyExpiryIndex } from './0006-idempotency-expiry-index.js';
import { m0007FraudGuard } from './0007-fraud-guard.js';
import { m0008DataLifecycle } from './0008-data-lifecycle.js';
import { m0009Verifications } from './0009-verifications.js';
import { m0010Receivers } from './0010-receivers.js';
import { m0011TwilioServices } from './0011-twilio-services.js';
import { m0012FraudCountersKeyOrder } from './0012-fraud-counters-key-order.js';
import { m0013Events } from './0013-events.js';
import { m0014KeyScopes } from './0014-key-scopes.js';
import { m0015Operators } from './0015-operators.js';
import { m0017PgSendFunction } from './0017-pg-send-function.js';
import { m0018PgVerifyFunctions } from './0018-pg-verify-functions.js';
import { m0019ChallengesPhoneIndex } from './0019-challenges-phone-index.js';
import { m0020PgChallengesFillfactor } from './0020-pg-challenges-fillfactor.js';
import { m0021PgGuardedSendFunction } from './0021-pg-guarded-send-function.js';
import { m0022PgSendBatchFunction } from './0022-pg-send-batch-function.js';
import { m0023PgVerifyBatchFunction } from './0023-pg-verify-batch-function.js';
import { m0024PgQueueVacuum } from './0024-pg-queue-vacuum.js';
import { m0025PgSameCodeResend } from './0025-pg-same-code-resend.js';
import { m0026PgSendBatchCounts } from './0026-pg-send-batch-counts.js';
import { m0027PgCompleteBatch } from './0027-pg-complete-batch.js';
import { m0028PgClaimFunction } from './0028-pg-claim-function.js';
import { m0029InboxTenantOrder } from './0029-inbox-tenant-order.js';
import { m0030TenantDeletion } from './0030-tenant-deletion.js';
import { m0031FraudDecisionsAction } from './0031-fraud-decisions-action.js';
import { m0032VerificationsPendingExpiry } from './0032-verifications-pending-expiry.js';
import { m0033SqliteChallengesLatestCovering } from './0033-sqlite-challenges-latest-covering.js';

/**
 * Every migration, in order. Append-only: a released migration is never edited or removed;
 * a change to the schema is a new entry. Migrations never import application code.
 */
export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-initial': m0001Initial,
  '0002-sending-lease-index': m0002SendingLeaseIndex,
  '0003-challenges-latest-index': m0003ChallengesLatestIndex,
  '0004-partial-indexes': m0004PartialIndexes,
  '0005-queued-index': m0005QueuedIndex,
  '0006-idempotency-expiry-index': m0006IdempotencyExpiryIndex,
  '0007-fraud-guard': m0007FraudGuard,
  '0008-data-lifecycle': m0008DataLifecycle,
  '0009-verifications': m0009Verifications,
  '0010-receivers': m0010Receivers,
  '0011-twilio-services': m0011TwilioServices,
  '0012-fraud-counters-key-order': m0012FraudCountersKeyOrder,
  '0013-events': m0013Events,
  '0014-key-scopes': m0014KeyScopes,
  '0015-operators': m0015Operators,
  '0017-pg-send-function': m0017PgSendFunction,
  '0018-pg-verify-functions': m0018PgVerifyFunctions,
  '0019-challenges-phone-index': m0019ChallengesPhoneIndex,
  '0020-pg-challenges-fillfactor': m0020PgChallengesFillfactor,
  '0021-pg-guarded-send-function': m0021PgGuardedSendFunction,
  '0022-pg-send-batch-function': m0022PgSendBatchFunction,
  '0023-pg-verify-batch-function': m0023PgVerifyBatchFunction,
  '0024-pg-queue-vacuum': m0024PgQueueVacuum,
  '0025-pg-same-code-resend': m0025PgSameCodeResend,
  '0026-pg-send-batch-counts': m0026PgSendBatchCounts,
  '0027-pg-complete-batch': m0027PgCompleteBatch,
  '0028-pg-claim-function': m0028PgClaimFunction,
  '0029-inbox-tenant-order': m0029InboxTenantOrder,
  '0030-tenant-deletion': m0030TenantDeletion,
  '0031-fraud-decisions-action': m0031FraudDecisionsAction,
  '0032-verifications-pending-expiry': m0032VerificationsPendingExpiry,
  '0033-sqlite-challenges-latest-covering': m0033SqliteChallengesLatestCovering,
});

export const staticMigrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};

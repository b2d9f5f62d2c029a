import type { Kysely } from 'kysely';

/**
 * `fraud_decisions_tenant_action` (tenant, action, id): the decision list filtered by action
 * (`GET /v1/fraud-guard/decisions?action=`) reads the tenant's newest decisions of that action,
 * instead of walking every other decision of the 90 days kept to find them (a tenant in
 * `record_only` records only would-blocks). Decisions are rare writes, so the index costs little.
 */
export const m0031FraudDecisionsAction = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.createIndex('fraud_decisions_tenant_action').ifNotExists().on('fraud_decisions').columns(['tenant_id', 'action', 'id']).execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropIndex('fraud_decisions_tenant_action').ifExists().execute();
  },
};

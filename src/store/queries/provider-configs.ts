import type { Executor } from '../db.js';
import type { ProviderConfigRow, ProviderConfigsTable, ProviderSlot } from '../schema.js';

export async function listProviderConfigs(db: Executor, tenantId: string): Promise<ProviderConfigRow[]> {
  return db.selectFrom('provider_configs').selectAll().where('tenant_id', '=', tenantId).execute();
}

export async function upsertProviderConfig(db: Executor, row: ProviderConfigsTable): Promise<void> {
  await db
    .insertInto('provider_configs')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'slot']).doUpdateSet({
        kind: row.kind,
        config_sealed: row.config_sealed,
        updated_at: row.updated_at,
        updated_by: row.updated_by,
      }),
    )
    .execute();
}

export async function deleteProviderConfig(db: Executor, tenantId: string, slot: ProviderSlot): Promise<void> {
  await db.deleteFrom('provider_configs').where('tenant_id', '=', tenantId).where('slot', '=', slot).execute();
}

import type { Executor } from '../db.js';
import type { ReceiverConfigRow, ReceiverConfigsTable } from '../schema.js';

export async function findReceiverConfig(db: Executor, tenantId: string, platform: string): Promise<ReceiverConfigRow | undefined> {
  return db.selectFrom('receiver_configs').selectAll().where('tenant_id', '=', tenantId).where('platform', '=', platform).executeTakeFirst();
}

export async function listReceiverConfigs(db: Executor, tenantId: string): Promise<ReceiverConfigRow[]> {
  return db.selectFrom('receiver_configs').selectAll().where('tenant_id', '=', tenantId).orderBy('platform').execute();
}

export async function upsertReceiverConfig(db: Executor, row: ReceiverConfigsTable): Promise<void> {
  await db
    .insertInto('receiver_configs')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'platform']).doUpdateSet({ enabled: row.enabled, secrets_sealed: row.secrets_sealed, updated_at: row.updated_at }),
    )
    .execute();
}

/** Answers whether there was a configuration to delete. */
export async function deleteReceiverConfig(db: Executor, tenantId: string, platform: string): Promise<boolean> {
  const r = await db.deleteFrom('receiver_configs').where('tenant_id', '=', tenantId).where('platform', '=', platform).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/**
 * Remembers a request's replay key until `expiresAt`; answers false when the key is already
 * remembered (a replay). The receiver's expired keys go first, so the table stays bounded by
 * the traffic of one replay window.
 */
export async function rememberReplayKey(db: Executor, row: { tenant_id: string; platform: string; replay_key: string; expires_at: number }, now: number): Promise<boolean> {
  await db.deleteFrom('receiver_replays').where('tenant_id', '=', row.tenant_id).where('platform', '=', row.platform).where('expires_at', '<=', now).execute();
  const r = await db.insertInto('receiver_replays').values(row).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

export async function countReplayKeys(db: Executor, tenantId: string, platform: string): Promise<number> {
  const r = await db.selectFrom('receiver_replays').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).where('platform', '=', platform).executeTakeFirst();
  return Number(r?.n ?? 0);
}

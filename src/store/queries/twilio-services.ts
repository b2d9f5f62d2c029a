import type { Kysely, Selectable } from 'kysely';
import type { Executor } from '../db.js';

/** A Twilio Verify service (migration 0011; docs/twilio-verify.md). */
export interface TwilioServicesTable {
  /** `VA` + 32 hex. */
  sid: string;
  tenant_id: string;
  /** The otpgate purpose of the service's verifications (`va_` + hex). */
  purpose: string;
  /** Shown as `{{app_name}}` in its messages. */
  friendly_name: string;
  /** Digits (or characters) of its codes, 4–10. */
  code_length: number;
  /** 1: sends and checks take `Amount` and `Payee`. */
  psd2_enabled: number;
  /** 1: sends take `CustomCode`. */
  custom_code_enabled: number;
  created_at: number;
  updated_at: number;
}
export type TwilioServiceRow = Selectable<TwilioServicesTable>;

// The table is this feature's alone, so its type lives here rather than in schema.ts.
type Db = Kysely<{ twilio_services: TwilioServicesTable }>;
const on = (db: Executor): Db => db as unknown as Db;

export async function insertTwilioService(db: Executor, row: TwilioServicesTable): Promise<void> {
  await on(db).insertInto('twilio_services').values(row).execute();
}

export async function findTwilioService(db: Executor, tenantId: string, sid: string): Promise<TwilioServiceRow | undefined> {
  return on(db).selectFrom('twilio_services').selectAll().where('tenant_id', '=', tenantId).where('sid', '=', sid).executeTakeFirst();
}

/** A page of the tenant's services in creation order, from `offset`. */
export async function listTwilioServices(db: Executor, tenantId: string, limit: number, offset: number): Promise<TwilioServiceRow[]> {
  return on(db)
    .selectFrom('twilio_services')
    .selectAll()
    .where('tenant_id', '=', tenantId)
    .orderBy('created_at')
    .orderBy('sid')
    .limit(limit)
    .offset(offset)
    .execute();
}

export async function countTwilioServices(db: Executor, tenantId: string): Promise<number> {
  const r = await on(db).selectFrom('twilio_services').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function updateTwilioService(
  db: Executor,
  tenantId: string,
  sid: string,
  patch: Partial<Pick<TwilioServicesTable, 'friendly_name' | 'code_length' | 'psd2_enabled' | 'custom_code_enabled'>> & { updated_at: number },
): Promise<boolean> {
  const r = await on(db).updateTable('twilio_services').set(patch).where('tenant_id', '=', tenantId).where('sid', '=', sid).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export async function deleteTwilioService(db: Executor, tenantId: string, sid: string): Promise<boolean> {
  const r = await on(db).deleteFrom('twilio_services').where('tenant_id', '=', tenantId).where('sid', '=', sid).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

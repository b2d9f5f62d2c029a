import type { Executor } from '../db.js';
import type { InboxMessage, InboxMessagesTable } from '../schema.js';
import { p, prepared } from '../prepared.js';

const insertQuery = prepared((db) =>
  db.insertInto('inbox_messages').values({ id: p('id'), tenant_id: p('tenant_id'), message_id: p('message_id'), to_phone: p('to_phone'), body_sealed: p('body_sealed'), created_at: p('created_at') }),
);

export async function insertInboxMessage(db: Executor, row: InboxMessagesTable): Promise<void> {
  await insertQuery.execute(db, { ...row });
}

/** Newest first. */
export async function listInboxMessages(db: Executor, tenantId: string, limit: number, beforeId?: string): Promise<InboxMessage[]> {
  let q = db.selectFrom('inbox_messages').selectAll().where('tenant_id', '=', tenantId);
  if (beforeId) q = q.where('id', '<', beforeId);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

/**
 * How many of the tenant's items one read by number looks at. There is no index keyed by
 * number (migration 0029), and on SQLite a read runs on the request thread: 5,000 rows take
 * about 2 ms, a million 0.4 s.
 */
const INBOX_PHONE_WINDOW = 5_000;

/**
 * The number's items among the tenant's next `INBOX_PHONE_WINDOW` items below `beforeId`,
 * newest first, at most `limit`. `low` is the lowest id of that window when the window is
 * full: older items may remain, and the next read continues below it.
 */
export async function listInboxMessagesOfPhone(db: Executor, tenantId: string, phone: string, limit: number, beforeId?: string): Promise<{ rows: InboxMessage[]; low: string | undefined }> {
  let edge = db.selectFrom('inbox_messages').select('id').where('tenant_id', '=', tenantId);
  if (beforeId) edge = edge.where('id', '<', beforeId);
  const low = (await edge.orderBy('id', 'desc').limit(1).offset(INBOX_PHONE_WINDOW - 1).executeTakeFirst())?.id;
  let q = db.selectFrom('inbox_messages').selectAll().where('tenant_id', '=', tenantId).where('to_phone', '=', phone);
  if (beforeId) q = q.where('id', '<', beforeId);
  if (low !== undefined) q = q.where('id', '>=', low);
  return { rows: await q.orderBy('id', 'desc').limit(limit).execute(), low };
}

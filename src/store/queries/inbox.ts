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
export async function listInboxMessages(db: Executor, tenantId: string, phone: string | undefined, limit: number, beforeId?: string): Promise<InboxMessage[]> {
  let q = db.selectFrom('inbox_messages').selectAll().where('tenant_id', '=', tenantId);
  if (phone) q = q.where('to_phone', '=', phone);
  if (beforeId) q = q.where('id', '<', beforeId);
  return q.orderBy('id', 'desc').limit(limit).execute();
}

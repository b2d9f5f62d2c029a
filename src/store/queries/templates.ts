import type { Executor } from '../db.js';
import type { TemplateRow, TemplatesTable } from '../schema.js';

export async function listTemplates(db: Executor, tenantId: string, purpose?: string): Promise<TemplateRow[]> {
  let q = db.selectFrom('templates').selectAll().where('tenant_id', '=', tenantId).orderBy('purpose').orderBy('locale');
  if (purpose) q = q.where('purpose', '=', purpose);
  return q.execute();
}

export async function upsertTemplate(db: Executor, row: TemplatesTable): Promise<void> {
  await db
    .insertInto('templates')
    .values(row)
    .onConflict((oc) =>
      oc.columns(['tenant_id', 'purpose', 'locale']).doUpdateSet({
        body: row.body,
        encoding: row.encoding,
        segments: row.segments,
        updated_at: row.updated_at,
      }),
    )
    .execute();
}

export async function deleteTemplate(db: Executor, tenantId: string, purpose: string, locale: string): Promise<boolean> {
  const r = await db
    .deleteFrom('templates')
    .where('tenant_id', '=', tenantId)
    .where('purpose', '=', purpose)
    .where('locale', '=', locale)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

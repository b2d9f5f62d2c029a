import { sql } from 'kysely';
import type { Executor } from '../db.js';

/** The cheapest round trip to the database: resolves when it answers, rejects when it does not. */
export async function pingStore(db: Executor): Promise<void> {
  await sql`select 1`.execute(db);
}

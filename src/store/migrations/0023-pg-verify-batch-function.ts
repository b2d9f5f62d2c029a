import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * PostgreSQL only: `otpgate_verify_batch(p jsonb) returns jsonb`, several verifies that name
 * their challenge in one statement and one commit (docs/architecture.md "The verify on
 * PostgreSQL"). `p` is an array of what `otpgate_verify_named` takes; the answer is the array
 * of its answers (null where there is no such challenge), in the same order. A later element
 * sees what the earlier ones wrote, as a later verify would: a second right code for one
 * challenge finds it verified.
 *
 * An error in any element (more event endpoints than delivery ids, OG002; a deadlock with
 * another batch over one verification's codes) rolls the whole batch back; the caller then
 * makes each verify on its own.
 */
export const m0023PgVerifyBatchFunction = {
  async up(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`
create or replace function otpgate_verify_batch(p jsonb) returns jsonb
language plpgsql volatile as $fn$
declare
  v_element jsonb;
  v_answers jsonb := '[]'::jsonb;
begin
  for v_element in select value from jsonb_array_elements(p) loop
    v_answers := v_answers || jsonb_build_array(otpgate_verify_named(v_element));
  end loop;
  return v_answers;
end
$fn$`.execute(db);
  },
  async down(db: Kysely<unknown>): Promise<void> {
    if (db.getExecutor().adapter instanceof SqliteAdapter) return;
    await sql`drop function if exists otpgate_verify_batch(jsonb)`.execute(db);
  },
};

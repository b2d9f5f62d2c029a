import type { Kysely } from 'kysely';

/**
 * Operator accounts (docs/operators.md):
 * - `operators`: people who sign in to the console; email unique (lower-cased), scrypt
 *   password hash, role, TOTP secret sealed with the secret box and the last step used.
 * - `operator_tenants`: the tenants of a `tenant_admin`.
 * - `operator_sessions`: console sessions, keyed by the hash of the cookie's token.
 * - `sign_in_throttle`: failed sign-ins per account and per client address.
 * - `audit_log.actor_type` / `actor_email`: who acted, by kind, and the operator's email.
 */
export const m0015Operators = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('operators')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('email', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text')
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('totp_secret_sealed', 'text')
      .addColumn('totp_pending_sealed', 'text')
      .addColumn('totp_last_step', 'bigint')
      .addColumn('disabled', 'integer', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('last_sign_in_at', 'bigint')
      .execute();
    await db.schema
      .createTable('operator_tenants')
      .addColumn('operator_id', 'text', (c) => c.notNull().references('operators.id').onDelete('cascade'))
      .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
      .addPrimaryKeyConstraint('operator_tenants_pk', ['operator_id', 'tenant_id'])
      .execute();
    await db.schema.createIndex('operator_tenants_tenant').on('operator_tenants').columns(['tenant_id']).execute();
    await db.schema
      .createTable('operator_sessions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('operator_id', 'text', (c) => c.notNull().references('operators.id').onDelete('cascade'))
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('operator_sessions_operator').on('operator_sessions').columns(['operator_id']).execute();
    await db.schema
      .createTable('sign_in_throttle')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('failures', 'integer', (c) => c.notNull())
      .addColumn('window_start', 'bigint', (c) => c.notNull())
      .addColumn('locked_until', 'bigint')
      .execute();
    await db.schema.alterTable('audit_log').addColumn('actor_type', 'text').execute();
    await db.schema.alterTable('audit_log').addColumn('actor_email', 'text').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('audit_log').dropColumn('actor_email').execute();
    await db.schema.alterTable('audit_log').dropColumn('actor_type').execute();
    await db.schema.dropTable('sign_in_throttle').ifExists().execute();
    await db.schema.dropTable('operator_sessions').ifExists().execute();
    await db.schema.dropTable('operator_tenants').ifExists().execute();
    await db.schema.dropTable('operators').ifExists().execute();
  },
};

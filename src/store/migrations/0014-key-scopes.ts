import type { Kysely } from 'kysely';

/**
 * Scoped API keys (docs/api-keys.md): `scopes` holds a key's scopes space-separated, or null
 * for all of them. Every key made before this migration is null, so it keeps full scope.
 */
export const m0014KeyScopes = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('api_keys').addColumn('scopes', 'text').execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('api_keys').dropColumn('scopes').execute();
  },
};

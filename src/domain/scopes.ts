/**
 * What a tenant API key may do (DESIGN.md "Operators and scoped keys", docs/api-keys.md). A key
 * created without scopes has all of them, and so does every key made before scopes existed.
 */
export const API_KEY_SCOPES = ['otp', 'messages:read', 'providers', 'settings', 'events'] as const;

export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export function isApiKeyScope(s: unknown): s is ApiKeyScope {
  return typeof s === 'string' && (API_KEY_SCOPES as readonly string[]).includes(s);
}

/** The stored form: null for all scopes, else the scopes space-separated in catalog order. */
export function encodeScopes(scopes: readonly ApiKeyScope[] | null): string | null {
  if (scopes === null) return null;
  const set = new Set(scopes);
  if (API_KEY_SCOPES.every((s) => set.has(s))) return null;
  return API_KEY_SCOPES.filter((s) => set.has(s)).join(' ');
}

/** The scopes of a stored key; anything unknown in the column is dropped (never widened). */
export function decodeScopes(stored: string | null): readonly ApiKeyScope[] {
  if (stored === null) return API_KEY_SCOPES;
  return stored.split(' ').filter(isApiKeyScope);
}

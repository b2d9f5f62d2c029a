import { createHmac, hkdfSync } from 'node:crypto';
import { newId, newSecretToken } from '../domain/ids.js';
import { API_KEY_SCOPES, decodeScopes, encodeScopes, isApiKeyScope, type ApiKeyScope } from '../domain/scopes.js';
import { constantTimeEqual, sha256Hex } from '../crypto/hmac.js';
import { AppError } from '../errors/app-error.js';
import { findActiveApiKey, findActiveApiKeyByHash, insertApiKey, listApiKeys, revokeApiKey, touchApiKey } from '../store/queries/api-keys.js';
import { findTenant } from '../store/queries/tenants.js';
import type { AuditService } from './audit-service.js';
import type { Actor, ServiceContext } from './context.js';
import { toPage, type Page } from './pagination.js';

/** Prefix of every tenant API key, so leaked keys are easy to recognise and scan for. */
export const API_KEY_PREFIX = 'otpg_';
/** Prefix of bearer tokens from `POST /oauth2/token`. */
export const ACCESS_TOKEN_PREFIX = 'otk_';
/** Lifetime of an access token, seconds. */
export const ACCESS_TOKEN_TTL_SECONDS = 900;
/** How long a node trusts a cached key lookup (a revoked key stops working within this), ms. */
const KEY_CACHE_MS = 5_000;
/** `last_used_at` is written at most this often per key (and process): a minute's precision, not a write per request. */
export const KEY_USE_RECORD_MS = 60_000;

export interface ApiKeyView {
  id: string;
  tenant_id: string;
  name: string | null;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  /** What the key may do (docs/api-keys.md); every scope for a key created without any. */
  scopes: ApiKeyScope[];
}

/** Who a bearer credential is. */
export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: readonly ApiKeyScope[];
}

/**
 * The scopes asked for at creation: absent means all; an empty list, a repeat or an unknown
 * name is refused (a key that can do nothing, or a typo silently dropped, helps no one).
 */
export function parseScopes(raw: unknown): ApiKeyScope[] | null {
  if (raw === undefined || raw === null) return null;
  const known = `one or more of ${API_KEY_SCOPES.join(', ')}`;
  if (!Array.isArray(raw) || raw.length === 0) throw new AppError('request.invalid', `scopes must be a list of ${known}.`, { issues: [{ path: 'scopes', message: `must be ${known}` }] });
  const issues = raw.flatMap((s, i) => (isApiKeyScope(s) ? [] : [{ path: `scopes.${i}`, message: `unknown scope ${JSON.stringify(s).slice(0, 40)}: ${known}` }]));
  if (issues.length > 0) throw new AppError('request.invalid', `Unknown scope: scopes are ${known}.`, { issues });
  if (new Set(raw).size !== raw.length) throw new AppError('request.invalid', 'A scope is listed twice.', { issues: [{ path: 'scopes', message: 'repeated scope' }] });
  return raw as ApiKeyScope[];
}

export function createApiKeyService(ctx: ServiceContext, audit: AuditService) {
  const byHash = new Map<string, { principal: Principal | null; until: number }>();
  const activeKeys = new Map<string, { scopes: readonly ApiKeyScope[] | null; until: number }>();
  const useRecordedAt = new Map<string, number>();

  /** Notes a key's use in `last_used_at`, at most once per KEY_USE_RECORD_MS, off the request's path. */
  function recordUse(keyId: string, now: number): void {
    const last = useRecordedAt.get(keyId);
    if (last !== undefined && now - last < KEY_USE_RECORD_MS) return;
    if (useRecordedAt.size > 10_000) useRecordedAt.clear();
    useRecordedAt.set(keyId, now);
    ctx.store.writes.write((trx) => touchApiKey(trx, keyId, now)).catch((err: unknown) => {
      ctx.logger.warn({ key_id: keyId, err_message: (err as Error)?.message }, 'could not record an API key\'s last use');
    });
  }
  const tokenKey = Buffer.from(hkdfSync('sha256', ctx.codeKey, Buffer.alloc(0), 'otpgate access tokens', 32));

  function signToken(payload: string): string {
    return createHmac('sha256', tokenKey).update(payload).digest('base64url');
  }

  /** The scopes of an active key (read from its row, so a token never outgrows its key), or null when it is revoked or unknown. */
  async function activeKeyScopes(keyId: string): Promise<readonly ApiKeyScope[] | null> {
    const now = ctx.clock.now();
    const hit = activeKeys.get(keyId);
    if (hit && hit.until > now) return hit.scopes;
    const row = await findActiveApiKey(ctx.store.db, keyId);
    const scopes = row ? decodeScopes(row.scopes) : null;
    if (activeKeys.size > 10_000) activeKeys.clear();
    activeKeys.set(keyId, { scopes, until: now + KEY_CACHE_MS });
    return scopes;
  }

  async function verifyAccessToken(token: string): Promise<Principal | null> {
    const body = token.slice(ACCESS_TOKEN_PREFIX.length);
    const dot = body.indexOf('.');
    if (dot < 0 || body.length > 1000) return null;
    const payload = body.slice(0, dot);
    if (!constantTimeEqual(signToken(payload), body.slice(dot + 1))) return null;
    let claims: { k?: unknown; t?: unknown; e?: unknown };
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return null;
    }
    if (typeof claims.k !== 'string' || typeof claims.t !== 'string' || typeof claims.e !== 'number') return null;
    if (claims.e * 1000 <= ctx.clock.now()) return null;
    const scopes = await activeKeyScopes(claims.k);
    if (!scopes) return null;
    return { tenantId: claims.t, keyId: claims.k, scopes };
  }

  async function lookUp(token: string): Promise<Principal | null> {
    if (token.startsWith(ACCESS_TOKEN_PREFIX)) return verifyAccessToken(token);
    if (!token.startsWith(API_KEY_PREFIX) || token.length > 200) return null;
    const hash = sha256Hex(token);
    const now = ctx.clock.now();
    const hit = byHash.get(hash);
    if (hit && hit.until > now) return hit.principal;
    const row = await findActiveApiKeyByHash(ctx.store.db, hash);
    const principal = row ? { tenantId: row.tenant_id, keyId: row.id, scopes: decodeScopes(row.scopes) } : null;
    if (byHash.size > 10_000) byHash.clear();
    byHash.set(hash, { principal, until: now + KEY_CACHE_MS });
    return principal;
  }

  return {
    /** `scopes`: null (or left out) for a key with every scope. */
    async create(tenantId: string, name: string | null, actor: Actor, scopes: readonly ApiKeyScope[] | null = null): Promise<ApiKeyView & { key: string }> {
      const key = API_KEY_PREFIX + newSecretToken(32);
      const now = ctx.clock.now();
      const stored = encodeScopes(scopes);
      const row = { id: newId('key'), tenant_id: tenantId, name, key_hash: sha256Hex(key), key_prefix: key.slice(0, 12), created_at: now, last_used_at: null, revoked_at: null, scopes: stored };
      await ctx.store.db.transaction().execute(async (trx) => {
        if (!(await findTenant(trx, tenantId))) throw new AppError('tenant.not_found', `There is no tenant ${tenantId}.`);
        await insertApiKey(trx, row);
        await audit.record(trx, { tenantId, actor, action: 'api_key.created', target: row.id, details: { name, scopes: [...decodeScopes(stored)] } });
      });
      return { id: row.id, tenant_id: tenantId, name, prefix: row.key_prefix, created_at: new Date(now).toISOString(), last_used_at: null, scopes: [...decodeScopes(stored)], key };
    },

    async list(tenantId: string, limit: number, cursor?: string): Promise<Page<ApiKeyView>> {
      return toPage(await listApiKeys(ctx.store.db, tenantId, limit + 1, cursor), limit, (r) => ({
          id: r.id,
          tenant_id: r.tenant_id,
          name: r.name,
          prefix: r.key_prefix,
          created_at: new Date(r.created_at).toISOString(),
        last_used_at: r.last_used_at === null ? null : new Date(r.last_used_at).toISOString(),
        scopes: [...decodeScopes(r.scopes)],
      }));
    },

    async revoke(tenantId: string, keyId: string, actor: Actor): Promise<void> {
      const ok = await ctx.store.db.transaction().execute(async (trx) => {
        const done = await revokeApiKey(trx, tenantId, keyId, ctx.clock.now());
        if (done) await audit.record(trx, { tenantId, actor, action: 'api_key.revoked', target: keyId });
        return done;
      });
      if (!ok) throw new AppError('api_key.not_found', `There is no active API key ${keyId} for this tenant.`);
      byHash.clear();
      activeKeys.delete(keyId);
    },

    /** Resolves a tenant API key or an access token to its principal, or null. */
    async authenticate(token: string): Promise<Principal | null> {
      const principal = await lookUp(token);
      if (principal) recordUse(principal.keyId, ctx.clock.now());
      return principal;
    },

    /** OAuth 2.0 client credentials: client id = API key id, client secret = the key. */
    async issueAccessToken(clientId: string, clientSecret: string): Promise<{ access_token: string; token_type: 'Bearer'; expires_in: number }> {
      const principal = await this.authenticate(clientSecret);
      if (!principal || !clientSecret.startsWith(API_KEY_PREFIX) || !constantTimeEqual(principal.keyId, clientId)) {
        throw new AppError('auth.invalid_client', 'The client id and secret do not match an active API key.', { extra: { error: 'invalid_client' } });
      }
      const exp = Math.floor(ctx.clock.now() / 1000) + ACCESS_TOKEN_TTL_SECONDS;
      const payload = Buffer.from(JSON.stringify({ k: principal.keyId, t: principal.tenantId, e: exp })).toString('base64url');
      return { access_token: `${ACCESS_TOKEN_PREFIX}${payload}.${signToken(payload)}`, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_SECONDS };
    },

    verifyAccessToken,
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

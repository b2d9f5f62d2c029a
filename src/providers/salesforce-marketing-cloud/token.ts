import { createHash } from 'node:crypto';
import type { HttpClient } from '../http.js';
import { ProviderError } from '../provider-error.js';
import { asRecord, callProvider, errorFromTable, joinUrl, numberField, retryAfterOf, stringField, type ErrorTable } from '../adapter-support.js';
import { sfmcAuthBase, sfmcLegacyRestBase, type SfmcConfig } from './config.js';

export const SFMC_NAME = 'Salesforce Marketing Cloud';
/**
 * Refresh this long before the token's stated expiry (PROVIDERS.md §5.3), but never more than
 * half the token's lifetime: a token issued for under 2 minutes would otherwise be "due"
 * the moment it arrives and be fetched again on every send (see `sfmcRefreshAt`).
 */
export const SFMC_TOKEN_SKEW_MS = 60_000;

/** When a token issued at `issuedAt` for `expiresInS` seconds must be refreshed. */
export function sfmcRefreshAt(issuedAt: number, expiresInS: number): number {
  const lifetimeMs = Math.max(0, expiresInS * 1000);
  return issuedAt + lifetimeMs - Math.min(SFMC_TOKEN_SKEW_MS, lifetimeMs / 2);
}

/** An access token and where to send with it. */
export interface SfmcToken {
  accessToken: string;
  /** REST base URL, with a trailing slash. */
  restBase: string;
  /** `clock.now()` from which the token must be refreshed: issued + expires_in − min(60 s, half of expires_in). */
  refreshAt: number;
}

/**
 * Access tokens per (auth host, client id, business unit, secret digest). One cache per
 * descriptor instance; every tenant with the same credentials shares one token, as SFMC asks
 * ("reuse it, don't request a token per call"). The secret's digest is in the key so a tenant
 * that knows another tenant's client id but not its secret never gets that tenant's token.
 */
export interface SfmcTokenCache {
  /** A fresh token: the cached one, the refresh already in flight, or a new fetch (single-flight). */
  get(key: string, now: number, fetch: () => Promise<SfmcToken>): Promise<SfmcToken>;
  /** Drops `accessToken` if it is still the cached one (it was refused). */
  invalidate(key: string, accessToken: string): void;
}

export function createSfmcTokenCache(options: { maxEntries?: number } = {}): SfmcTokenCache {
  const maxEntries = options.maxEntries ?? 1000;
  const tokens = new Map<string, SfmcToken>();
  const inflight = new Map<string, Promise<SfmcToken>>();
  return {
    get(key, now, fetch) {
      const cached = tokens.get(key);
      if (cached && now < cached.refreshAt) return Promise.resolve(cached);
      const pending = inflight.get(key);
      if (pending) return pending;
      const p = fetch()
        .then((token) => {
          tokens.delete(key);
          tokens.set(key, token);
          // Oldest first: drop entries beyond the cap.
          for (const k of tokens.keys()) {
            if (tokens.size <= maxEntries) break;
            tokens.delete(k);
          }
          return token;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },
    invalidate(key, accessToken) {
      if (tokens.get(key)?.accessToken === accessToken) tokens.delete(key);
    },
  };
}

export function sfmcCacheKey(config: SfmcConfig): string {
  const secret = createHash('sha256').update(config.client_secret, 'utf8').digest('base64url');
  return [config.package_type, sfmcAuthBase(config), config.client_id, config.account_id ?? '', secret].join('|');
}

/** OAuth error codes of the token routes. */
export const sfmcTokenErrors: ErrorTable = {
  invalid_client: { kind: 'auth', reason: 'rejected the client id or client secret' },
  unauthorized_client: { kind: 'auth', reason: 'does not allow this client: check the installed package' },
  invalid_grant: { kind: 'auth', reason: 'refused the grant: check the package type (enhanced or legacy)' },
  access_denied: { kind: 'auth', reason: 'denied access: check the account id (MID) and the package\'s access to it' },
  invalid_scope: { kind: 'auth', reason: 'refused the scope: give the package the SMS Send permission' },
  invalid_request: { kind: 'auth', reason: 'refused the token request: check the package type and the subdomain' },
};

/** Fetches a token by the package's route: enhanced `POST /v2/token`, legacy `POST /v1/requestToken`. */
export async function fetchSfmcToken(http: HttpClient, config: SfmcConfig, now: () => number): Promise<SfmcToken> {
  const authBase = sfmcAuthBase(config);
  const enhanced = config.package_type === 'enhanced';
  const payload: Record<string, unknown> = enhanced
    ? { grant_type: 'client_credentials', client_id: config.client_id, client_secret: config.client_secret }
    : { clientId: config.client_id, clientSecret: config.client_secret };
  if (enhanced && config.account_id !== undefined) payload['account_id'] = Number(config.account_id);

  const issuedAt = now();
  const res = await callProvider(http, SFMC_NAME, {
    method: 'POST',
    url: joinUrl(authBase, enhanced ? 'v2/token' : 'v1/requestToken'),
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(payload),
  });
  const json = asRecord(res.json());
  if (res.status < 200 || res.status >= 300) {
    const code = stringField(json, 'error');
    const pe = errorFromTable(SFMC_NAME, sfmcTokenErrors, code, { httpStatus: res.status, retryAfterMs: retryAfterOf(res, now()) });
    throw new ProviderError(pe.kind, `${pe.message} while requesting an access token`, {
      providerCode: pe.providerCode,
      httpStatus: pe.httpStatus,
      retryAfterMs: pe.retryAfterMs,
    });
  }
  const accessToken = stringField(json, enhanced ? 'access_token' : 'accessToken');
  const expiresIn = numberField(json, enhanced ? 'expires_in' : 'expiresIn');
  // Legacy answers carry no instance URLs: the REST base is derived (rule in sfmcLegacyRestBase).
  const restBase = enhanced ? stringField(json, 'rest_instance_url') : sfmcLegacyRestBase(config);
  if (!accessToken || expiresIn === undefined || !restBase || !URL.canParse(restBase)) {
    throw new ProviderError('unknown', `${SFMC_NAME} answered the token request without a usable token`, { httpStatus: res.status });
  }
  return { accessToken, restBase: restBase.endsWith('/') ? restBase : `${restBase}/`, refreshAt: sfmcRefreshAt(issuedAt, expiresIn) };
}

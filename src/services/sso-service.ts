import * as oidc from 'openid-client';
import type { Logger } from 'pino';
import { AppError } from '../errors/app-error.js';
import type { OperatorRole } from '../domain/roles.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { OperatorService, SessionPrincipal } from './operator-service.js';

/** Single sign-on settings (OTPGATE_OIDC_ISSUER and the rest of docs/configuration.md; docs/operators.md). */
export interface SsoSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  scopes: string;
  /** Email domains (lower case) whose users may sign in with `defaultRole`. */
  allowedDomains: readonly string[];
  groupsClaim: string;
  /** Group name → role. */
  roleMap: ReadonlyMap<string, OperatorRole>;
  defaultRole?: OperatorRole | undefined;
  /** `<public URL>/v1/auth/oidc/callback`. */
  redirectUri: string;
  /** http issuers are accepted outside production (a provider on the same host, in tests). */
  allowHttp: boolean;
}

/** How long a started sign-in may take at the provider, ms. */
export const SSO_PENDING_MS = 10 * 60_000;
const PENDING_AAD = 'sso-pending';
const RANK: Record<OperatorRole, number> = { owner: 4, admin: 3, tenant_admin: 2, viewer: 1 };

/** `group:role,group:role` as the config gives it (already checked by the config schema). */
export function parseRoleMap(raw: string | undefined): Map<string, OperatorRole> {
  const map = new Map<string, OperatorRole>();
  for (const pair of (raw ?? '').split(',')) {
    const i = pair.lastIndexOf(':');
    if (i <= 0) continue;
    map.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim() as OperatorRole);
  }
  return map;
}

interface Pending {
  state: string;
  nonce: string;
  verifier: string;
  expiresAt: number;
}

/**
 * OpenID Connect sign-in for operators: Authorization Code with PKCE, `state` and `nonce`,
 * through `openid-client` (discovery, the code exchange, and the ID token's signature, issuer,
 * audience, expiry and nonce). What the sign-in must remember between the redirect and the
 * callback travels in a cookie sealed with the secret box, so any node can finish it.
 */
export function createSsoService(settings: SsoSettings, deps: { secretBox: SecretBox; operators: OperatorService; logger: Logger; now: () => number }) {
  let discovered: Promise<oidc.Configuration> | undefined;

  function configuration(): Promise<oidc.Configuration> {
    discovered ??= oidc
      .discovery(new URL(settings.issuer), settings.clientId, settings.clientSecret, undefined, settings.allowHttp ? { execute: [oidc.allowInsecureRequests] } : undefined)
      .catch((err: unknown) => {
        // The next sign-in tries again.
        discovered = undefined;
        deps.logger.warn({ reason: reasonOf(err) }, 'single sign-on: the provider discovery document could not be read');
        throw new AppError('auth.sso_unavailable', `The identity provider at ${settings.issuer} could not be reached.`);
      });
    return discovered;
  }

  function reasonOf(err: unknown): string {
    const e = err as { code?: unknown; name?: unknown };
    return typeof e.code === 'string' ? e.code : typeof e.name === 'string' ? e.name : 'error';
  }

  function openPending(sealed: string | undefined): Pending {
    if (!sealed) throw new AppError('auth.sso_state_invalid', 'The sign-in cookie is missing: start the sign-in again from the console.');
    let p: Pending;
    try {
      p = JSON.parse(deps.secretBox.open(sealed, PENDING_AAD)) as Pending;
    } catch {
      throw new AppError('auth.sso_state_invalid', 'The sign-in cookie is not one this server made: start the sign-in again.');
    }
    if (p.expiresAt <= deps.now()) throw new AppError('auth.sso_state_invalid', 'The sign-in took longer than 10 minutes: start it again.');
    return p;
  }

  return {
    /** The provider's authorization URL, and the sealed value to keep in the sign-in cookie. */
    async start(): Promise<{ url: string; pending: string }> {
      const config = await configuration();
      const verifier = oidc.randomPKCECodeVerifier();
      const p: Pending = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier, expiresAt: deps.now() + SSO_PENDING_MS };
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: settings.redirectUri,
        scope: settings.scopes,
        state: p.state,
        nonce: p.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      return { url: url.href, pending: deps.secretBox.seal(JSON.stringify(p), PENDING_AAD) };
    },

    /**
     * Finishes a sign-in: `query` is the callback's query string, `pending` the sign-in cookie.
     * Refuses (AppError) a wrong or missing state, a provider error, an answer that does not
     * verify, and an account the rules do not let in; nothing is changed then.
     */
    async finish(query: string, pending: string | undefined, ip: string): Promise<{ token: string; session: SessionPrincipal }> {
      const params = new URLSearchParams(query);
      const p = openPending(pending);
      if (params.get('state') !== p.state) throw new AppError('auth.sso_state_invalid', 'The sign-in answer does not belong to the sign-in this browser started: start again.');
      const providerError = params.get('error');
      if (providerError !== null) {
        const detail = (params.get('error_description') ?? providerError).slice(0, 200);
        throw new AppError('auth.sso_denied', `The identity provider answered: ${detail}`);
      }
      const config = await configuration();
      let claims: Record<string, unknown>;
      try {
        const tokens = await oidc.authorizationCodeGrant(config, new URL(`${settings.redirectUri}?${params.toString()}`), {
          pkceCodeVerifier: p.verifier,
          expectedState: p.state,
          expectedNonce: p.nonce,
          idTokenExpected: true,
        });
        const idClaims = tokens.claims();
        if (!idClaims) throw new Error('no ID token');
        claims = { ...idClaims };
        // Many providers put email and groups only in userinfo when a code flow asks for them.
        if (claims.email === undefined || (settings.roleMap.size > 0 && claims[settings.groupsClaim] === undefined)) {
          claims = { ...(await oidc.fetchUserInfo(config, tokens.access_token, idClaims.sub)), ...claims };
        }
      } catch (err) {
        const reason = reasonOf(err);
        deps.logger.warn({ reason }, 'single sign-on: the provider answer was refused');
        if (err instanceof TypeError && reason === 'TypeError') throw new AppError('auth.sso_unavailable', 'The identity provider could not be reached.');
        throw new AppError('auth.sso_failed', `The identity provider's answer did not verify (${reason}).`);
      }

      const email = typeof claims.email === 'string' ? claims.email.trim().toLowerCase() : '';
      if (!email || claims.email_verified !== true) throw new AppError('auth.sso_failed', 'The identity provider gave no verified email address.');
      const domain = email.slice(email.lastIndexOf('@') + 1);
      const rawGroups = claims[settings.groupsClaim];
      const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : typeof rawGroups === 'string' ? [rawGroups] : [];
      let groupRole: OperatorRole | undefined;
      for (const g of groups) {
        const role = settings.roleMap.get(g);
        if (role && (!groupRole || RANK[role] > RANK[groupRole])) groupRole = role;
      }
      const domainAllowed = settings.allowedDomains.includes(domain);
      if (!groupRole && !domainAllowed) throw new AppError('auth.sso_not_allowed', `${domain} is not an allowed domain and no group of this account has a console role.`);
      return deps.operators.signInWithSso({ email, groupRole, newRole: domainAllowed ? settings.defaultRole : undefined, ip, issuer: settings.issuer });
    },
  };
}

export type SsoService = ReturnType<typeof createSsoService>;

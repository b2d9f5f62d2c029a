import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { constantTimeEqual } from '../../crypto/hmac.js';
import { AppError } from '../../errors/app-error.js';
import type { Deps } from '../../deps.js';
import { API_KEY_SCOPES, type ApiKeyScope } from '../../domain/scopes.js';
import { isSafeMethod } from '../../domain/roles.js';
import type { Actor } from '../../services/context.js';
import type { SessionPrincipal } from '../../services/operator-service.js';
import type { ActiveTenant } from '../../services/tenant-service.js';
import { ROLE_RULES, ROUTE_ACCESSES, type RouteAccess } from '../access.js';

export type { RouteAccess } from '../access.js';

export type Caller =
  | { kind: 'admin' }
  | { kind: 'tenant'; tenantId: string; keyId: string; scopes: readonly ApiKeyScope[] }
  | { kind: 'operator'; session: SessionPrincipal };

/** The console's session cookie (HttpOnly, SameSite=Strict; Secure in production). */
export const SESSION_COOKIE = 'otpgate_session';
/** The header carrying the session's CSRF token on every unsafe request. */
export const CSRF_HEADER = 'x-csrf-token';

/** The value of one cookie of the request, if sent. */
export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Refuses a browser request made from another site: `Sec-Fetch-Site`, when sent, must be
 * `same-origin`, and `Origin`, when sent, must be this host. With SameSite=Strict cookies and
 * the CSRF token this is a third line; it also guards sign-in, which has no session yet.
 */
export function checkSameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw new AppError('auth.csrf_rejected', `Sec-Fetch-Site is ${String(site)}: the console sends same-origin requests only.`);
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let host: string | undefined;
    try {
      host = new URL(origin).host;
    } catch {
      host = undefined;
    }
    if (host === undefined || host !== request.headers.host) throw new AppError('auth.csrf_rejected', 'The request came from another origin.');
  }
}

/** A registered route and the access it declared (undefined: none, which buildApp refuses). */
export interface DeclaredRoute {
  method: string;
  url: string;
  access: RouteAccess | undefined;
  scope: ApiKeyScope | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
    /**
     * The API key scope a tenant key needs here (docs/api-keys.md). Every `tenant` route
     * declares one (test/meta/routes.test.ts); one that does not is open to full-scope keys only.
     */
    scope?: ApiKeyScope;
  }
  interface FastifyInstance {
    /** Every route registered on this app with its declared access, in registration order. */
    declaredRoutes(): DeclaredRoute[];
  }
  interface FastifyRequest {
    caller: Caller | null;
    /** The tenant a tenant route acts on (set before the handler runs). */
    tenant: ActiveTenant | null;
  }
}

/** The actor recorded in the audit log: the operator, the API key id, or `admin` (the admin key). */
export function actorOf(request: FastifyRequest): Actor {
  const c = request.caller;
  if (!c) return 'anonymous';
  if (c.kind === 'operator') return { type: 'operator', id: c.session.operator.id, email: c.session.operator.email };
  return c.kind === 'admin' ? 'admin' : c.keyId;
}

/** The operator signed in behind this request; `auth.operator_required` for a key. */
export function requireOperator(request: FastifyRequest): SessionPrincipal {
  const c = request.caller;
  if (c?.kind !== 'operator') throw new AppError('auth.operator_required', 'Only an operator signed in to the console can do this, not a key.');
  return c.session;
}

/**
 * Refuses a tenant key without `scope` (403 auth.forbidden naming the scope). `undefined`
 * (a route that declared none) needs every scope. The admin key has them all.
 */
export function checkScope(caller: Caller, scope: ApiKeyScope | undefined): void {
  if (caller.kind !== 'tenant') return;
  const ok = scope === undefined ? API_KEY_SCOPES.every((s) => caller.scopes.includes(s)) : caller.scopes.includes(scope);
  if (!ok) {
    const needed = scope ?? 'every scope';
    throw new AppError('auth.forbidden', `This API key lacks the scope this route needs: ${needed}.`, { extra: { required_scope: scope ?? null } });
  }
}

export function requireTenant(request: FastifyRequest): ActiveTenant {
  if (!request.tenant) throw new AppError('auth.tenant_required');
  return request.tenant;
}

/**
 * Marks the routes a third-party plugin registers in `scope` (Swagger UI, the console's static
 * files) as public, since those plugins cannot declare an access of their own. Register the
 * plugin inside the scope; the hook leaves a route that does declare its access alone.
 */
export function publicPluginRoutes(scope: FastifyInstance): void {
  scope.addHook('onRoute', (route) => {
    if (route.config?.access === undefined) route.config = { ...route.config, access: 'public' };
  });
}

/**
 * Checks the bearer credential against each route's `config.access`. Every route must state its
 * access: the app refuses to start (`ready()` rejects) when one does not, and
 * test/meta/routes.test.ts probes every declared route without a key.
 */
export function registerAuth(app: FastifyInstance, deps: Deps): void {
  const adminKey = deps.config.adminKey;
  const adminKeyDisabled = deps.config.adminKeyDisabled;
  app.decorateRequest('caller', null);
  app.decorateRequest('tenant', null);

  // The route options objects themselves: hooks of inner scopes (publicPluginRoutes) run
  // after this one and may still set the access, so it is read once every route is in.
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    routes.push(route);
  });
  const declared = (): DeclaredRoute[] =>
    routes.flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((method) => ({ method, url: r.url, access: r.config?.access, scope: r.config?.scope })));
  app.decorate('declaredRoutes', declared);
  app.addHook('onReady', async () => {
    // An access outside the role table (src/http/access.ts) would be open to no operator, or to
    // every one: refused like a missing one.
    const missing = declared().filter((r) => r.access === undefined || !ROUTE_ACCESSES.includes(r.access));
    if (missing.length > 0) throw new Error(`routes without config.access: ${missing.map((r) => `${r.method} ${r.url}`).join(', ')}`);
  });

  app.addHook('onRequest', async (request) => {
    // Only the not-found handler has no access of its own: it answers 404 or 405 to anyone.
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const header = request.headers.authorization;
    if (!header) {
      const token = cookieOf(request, SESSION_COOKIE);
      if (!token) throw new AppError('auth.missing_credentials', 'Send Authorization: Bearer <key>, or sign in to the console.');
      await authenticateOperator(request, access, token);
      return;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new AppError('auth.invalid_api_key', 'The Authorization header must be "Bearer <key>".');
    const token = match[1];

    if (constantTimeEqual(token, adminKey)) {
      if (adminKeyDisabled) throw new AppError('auth.admin_key_disabled', 'The admin key is turned off (OTPGATE_ADMIN_KEY_DISABLED): sign in as an operator.');
      request.caller = { kind: 'admin' };
      if (access === 'tenant') {
        const tenantId = request.headers['x-tenant-id'];
        if (typeof tenantId !== 'string' || tenantId === '') throw new AppError('auth.tenant_required');
        request.tenant = await deps.tenants.getActive(tenantId);
      }
      return;
    }
    const principal = await deps.apiKeys.authenticate(token);
    if (!principal) throw new AppError('auth.invalid_api_key', 'The API key or token is not valid (it may have been revoked or expired).');
    request.caller = { kind: 'tenant', tenantId: principal.tenantId, keyId: principal.keyId, scopes: principal.scopes };
    if (access !== 'tenant') throw new AppError('auth.forbidden', 'This route needs the admin key or an operator.');
    const asked = request.headers['x-tenant-id'];
    if (asked !== undefined && asked !== principal.tenantId) throw new AppError('auth.forbidden', 'A tenant key acts on its own tenant only.');
    checkScope(request.caller, request.routeOptions.config.scope);
    request.tenant = await deps.tenants.getActive(principal.tenantId);
  });

  /** A console session: CSRF on unsafe methods, then the role's rule for this route (src/http/access.ts). */
  async function authenticateOperator(request: FastifyRequest, access: Exclude<RouteAccess, 'public'>, token: string): Promise<void> {
    const session = await deps.operators.authenticate(token);
    if (!isSafeMethod(request.method)) {
      checkSameOrigin(request);
      const given = request.headers[CSRF_HEADER];
      if (!deps.operators.csrfMatches(session, typeof given === 'string' ? given : undefined)) throw new AppError('auth.csrf_rejected', `Send the session's csrf_token (from sign-in or GET /v1/auth/me) in ${CSRF_HEADER}.`);
    }
    request.caller = { kind: 'operator', session };
    const { role, tenant_ids: tenantIds } = session.operator;
    const rule = ROLE_RULES[access]?.[role] ?? 'none';
    if (rule === 'none') throw new AppError('auth.forbidden', `A ${role} may not use this route.`, { extra: { role } });
    if (rule === 'read' && !isSafeMethod(request.method)) throw new AppError('auth.forbidden', `A ${role} may only read.`, { extra: { role } });
    if (access === 'tenant_record') {
      const tenantId = (request.params as { id?: string } | undefined)?.id;
      if (rule === 'own_tenants' && (tenantId === undefined || !tenantIds.includes(tenantId))) throw new AppError('auth.forbidden', 'This operator does not act on that tenant.', { extra: { role } });
    }
    if (access === 'tenant') {
      const tenantId = request.headers['x-tenant-id'];
      if (typeof tenantId !== 'string' || tenantId === '') throw new AppError('auth.tenant_required', 'Name the tenant in X-Tenant-Id.');
      if (rule === 'own_tenants' && !tenantIds.includes(tenantId)) throw new AppError('auth.forbidden', 'This operator does not act on that tenant.', { extra: { role } });
      request.tenant = await deps.tenants.getActive(tenantId);
    }
  }
}

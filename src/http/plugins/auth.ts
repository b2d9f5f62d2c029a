import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { constantTimeEqual } from '../../crypto/hmac.js';
import { AppError } from '../../errors/app-error.js';
import type { Deps } from '../../deps.js';
import { API_KEY_SCOPES, type ApiKeyScope } from '../../domain/scopes.js';
import type { ActiveTenant } from '../../services/tenant-service.js';

/** Who may call a route: the operator (admin key), a tenant (its key, or the admin with X-Tenant-Id), or anyone. */
export type RouteAccess = 'admin' | 'tenant' | 'public';

export type Caller = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; keyId: string; scopes: readonly ApiKeyScope[] };

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

/** The actor recorded in the audit log. */
export function actorOf(request: FastifyRequest): string {
  const c = request.caller;
  return !c ? 'anonymous' : c.kind === 'admin' ? 'admin' : c.keyId;
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
    const missing = declared().filter((r) => r.access === undefined);
    if (missing.length > 0) throw new Error(`routes without config.access: ${missing.map((r) => `${r.method} ${r.url}`).join(', ')}`);
  });

  app.addHook('onRequest', async (request) => {
    // Only the not-found handler has no access of its own: it answers 404 or 405 to anyone.
    const access = request.routeOptions.config.access ?? 'public';
    if (access === 'public') return;
    const header = request.headers.authorization;
    if (!header) throw new AppError('auth.missing_credentials', 'Send Authorization: Bearer <key>.');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new AppError('auth.invalid_api_key', 'The Authorization header must be "Bearer <key>".');
    const token = match[1];

    if (constantTimeEqual(token, adminKey)) {
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
    if (access === 'admin') throw new AppError('auth.forbidden', 'This route needs the operator’s admin key.');
    const asked = request.headers['x-tenant-id'];
    if (asked !== undefined && asked !== principal.tenantId) throw new AppError('auth.forbidden', 'A tenant key acts on its own tenant only.');
    checkScope(request.caller, request.routeOptions.config.scope);
    request.tenant = await deps.tenants.getActive(principal.tenantId);
  });
}

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { constantTimeEqual } from '../../crypto/hmac.js';
import { AppError } from '../../errors/app-error.js';
import type { Deps } from '../../deps.js';
import type { ActiveTenant } from '../../services/tenant-service.js';

/** Who may call a route: the operator (admin key), a tenant (its key, or the admin with X-Tenant-Id), or anyone. */
export type RouteAccess = 'admin' | 'tenant' | 'public';

export type Caller = { kind: 'admin' } | { kind: 'tenant'; tenantId: string; keyId: string };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
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

export function requireTenant(request: FastifyRequest): ActiveTenant {
  if (!request.tenant) throw new AppError('auth.tenant_required');
  return request.tenant;
}

/**
 * Checks the bearer credential against each route's `config.access`. Every route must state its
 * access; test/meta checks none is missing.
 */
export function registerAuth(app: FastifyInstance, deps: Deps): void {
  const adminKey = deps.config.adminKey;
  app.decorateRequest('caller', null);
  app.decorateRequest('tenant', null);

  app.addHook('onRequest', async (request) => {
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
    request.caller = { kind: 'tenant', tenantId: principal.tenantId, keyId: principal.keyId };
    if (access === 'admin') throw new AppError('auth.forbidden', 'This route needs the operator’s admin key.');
    const asked = request.headers['x-tenant-id'];
    if (asked !== undefined && asked !== principal.tenantId) throw new AppError('auth.forbidden', 'A tenant key acts on its own tenant only.');
    request.tenant = await deps.tenants.getActive(principal.tenantId);
  });
}

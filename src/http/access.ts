import { isSafeMethod, type OperatorRole } from '../domain/roles.js';

/**
 * Who may call a route (`config.access`):
 * - `public`: anyone (the route checks what it needs itself);
 * - `admin`: the platform's routes (listing, creating and deleting tenants) — the admin key or an operator;
 * - `tenant_record`: one tenant's record under `/v1/tenants/:id` (settings, API keys, audit log) —
 *   the admin key or an operator; a tenant_admin for its own tenants (`:id`);
 * - `tenant`: a tenant's routes — its API key, or the admin key / an operator naming it in X-Tenant-Id;
 * - `operators`: operator accounts — the admin key or an owner;
 * - `signed_in`: the caller's own sign-in (who am I, sign out, authenticator) — the admin key or any operator.
 */
export type RouteAccess = 'admin' | 'tenant_record' | 'tenant' | 'public' | 'operators' | 'signed_in';

/**
 * What a role may do on a route of one access: `all` methods, `read` (GET/HEAD only),
 * `own_tenants` (every method, on the tenants the operator was given), or `none`.
 */
export type RoleRule = 'all' | 'read' | 'own_tenants' | 'none';

/**
 * The one table of operator permissions (docs/operators.md): the auth plugin reads it on every
 * request and test/meta/operator-roles.test.ts walks every route of the app against it.
 */
export const ROLE_RULES: Readonly<Record<Exclude<RouteAccess, 'public'>, Readonly<Record<OperatorRole, RoleRule>>>> = Object.freeze({
  admin: { owner: 'all', admin: 'all', tenant_admin: 'none', viewer: 'read' },
  tenant_record: { owner: 'all', admin: 'all', tenant_admin: 'own_tenants', viewer: 'read' },
  tenant: { owner: 'all', admin: 'all', tenant_admin: 'own_tenants', viewer: 'read' },
  operators: { owner: 'all', admin: 'none', tenant_admin: 'none', viewer: 'none' },
  signed_in: { owner: 'all', admin: 'all', tenant_admin: 'all', viewer: 'all' },
});

export const ROUTE_ACCESSES: readonly RouteAccess[] = ['public', ...(Object.keys(ROLE_RULES) as RouteAccess[])];

/**
 * Whether `role` may call a route of `access` with `method` (a tenant_admin's tenant is
 * checked apart, against X-Tenant-Id). An access missing from the table allows nothing.
 */
export function roleAllows(role: OperatorRole, access: RouteAccess, method: string): boolean {
  if (access === 'public') return true;
  const rule = ROLE_RULES[access]?.[role] ?? 'none';
  if (rule === 'none') return false;
  if (rule === 'read') return isSafeMethod(method);
  return true;
}

/**
 * Operator roles (docs/operators.md): `owner` does everything, operators included; `admin`
 * everything but operators; `tenant_admin` the tenant routes of the tenants it is given;
 * `viewer` reads (GET) everything an admin can see, and changes nothing.
 */
export const OPERATOR_ROLES = ['owner', 'admin', 'tenant_admin', 'viewer'] as const;

export type OperatorRole = (typeof OPERATOR_ROLES)[number];

export function isOperatorRole(s: unknown): s is OperatorRole {
  return typeof s === 'string' && (OPERATOR_ROLES as readonly string[]).includes(s);
}

/** Methods that change nothing: the only ones a viewer may call. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

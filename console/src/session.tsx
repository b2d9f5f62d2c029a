import { createContext, useContext } from 'react';
import type { Api } from './api/client.js';
import type { Me } from './api/types.js';

/** The admin key lives in sessionStorage only: gone when the tab closes, never in a URL. */
const STORAGE_KEY = 'otpgate.admin_key';

export function loadKey(): string | null {
  try {
    return window.sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key === null) window.sessionStorage.removeItem(STORAGE_KEY);
    else window.sessionStorage.setItem(STORAGE_KEY, key);
  } catch {
    // Storage disabled: the key lives in memory for this page only.
  }
}

export interface Session {
  api: Api;
  /** Who is signed in: an operator (cookie session) or the admin key. */
  me: Me;
  signOut(): void;
}

export const SessionContext = createContext<Session | null>(null);

export function useApi(): Api {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useApi outside a signed-in session');
  return s.api;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in session');
  return s;
}

/**
 * What the signed-in role may change (docs/operators.md). The console only hides what the role
 * cannot do; the server refuses it regardless.
 */
export function permissionsOf(me: Me) {
  return {
    /** Change a tenant's configuration (every role but viewer). */
    write: me.role !== 'viewer',
    /** Create and delete tenants, list every tenant. */
    platform: me.role === 'owner' || me.role === 'admin',
    /** Manage operators. */
    operators: me.role === 'owner',
  };
}

export function usePermissions() {
  return permissionsOf(useSession().me);
}

export const ROLE_LABELS: Record<Me['role'], string> = { owner: 'Owner', admin: 'Admin', tenant_admin: 'Tenant admin', viewer: 'Viewer' };

import { createContext, useContext } from 'react';
import type { Api } from './api/client.js';

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

import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';

/**
 * A very small History-API router: the console has a handful of pages, so no dependency.
 * Paths are relative to the base the app is served under (`/admin`).
 */
const BASE = import.meta.env.BASE_URL.replace(/\/$/, '');

function currentPath(): string {
  const p = window.location.pathname;
  const rel = p.startsWith(BASE) ? p.slice(BASE.length) : p;
  return rel === '' ? '/' : rel;
}

const listeners = new Set<() => void>();
let guard: (() => boolean) | null = null;
/** The address the pages show now: where Back or Forward returns to when the guard refuses. */
let shownUrl = window.location.pathname + window.location.search;

// Back and Forward have already moved the address when popstate fires: a refusal puts the
// address the pages still show back on top, so the work stays and the address tells the truth.
window.addEventListener('popstate', () => {
  if (guard && !guard()) {
    window.history.pushState(null, '', shownUrl);
    return;
  }
  shownUrl = window.location.pathname + window.location.search;
  listeners.forEach((l) => l());
});

/**
 * While a page holds unsaved work, `check` runs before each in-app navigation and may refuse it.
 * Returns the release function.
 */
export function setNavigationGuard(check: () => boolean): () => void {
  guard = check;
  return () => {
    if (guard === check) guard = null;
  };
}

/** Changes the address in place (no new history entry, no page change), e.g. to keep a filter in it. */
export function replaceAddress(url: string): void {
  window.history.replaceState(null, '', url);
  shownUrl = window.location.pathname + window.location.search;
}

export function navigate(to: string, opts: { replace?: boolean; keepScroll?: boolean } = {}): void {
  if (guard && !guard()) return;
  const url = BASE + to;
  if (opts.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  shownUrl = window.location.pathname + window.location.search;
  listeners.forEach((l) => l());
  if (!opts.keepScroll) window.scrollTo(0, 0);
}

/** The query string of the address (`?status=failed`), kept current through navigations and Back. */
export function useSearch(): string {
  const [search, setSearch] = useState(() => window.location.search);
  useEffect(() => {
    const l = () => setSearch(window.location.search);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return search;
}

export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const l = () => setPath(currentPath());
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return path;
}

export type Route = { page: 'tenants' } | { page: 'tenant'; id: string; tab: string } | { page: 'operators' } | { page: 'account' } | { page: 'not-found' };

export function matchRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'tenants' };
  if (parts[0] === 'tenants' && parts[1] && parts.length <= 3) return { page: 'tenant', id: parts[1], tab: parts[2] ?? 'dashboard' };
  if (parts[0] === 'tenants' && parts.length === 1) return { page: 'tenants' };
  if (parts[0] === 'operators' && parts.length === 1) return { page: 'operators' };
  if (parts[0] === 'account' && parts.length === 1) return { page: 'account' };
  return { page: 'not-found' };
}

export function Link({ to, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const handle = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={BASE + to} onClick={handle} {...rest} />;
}

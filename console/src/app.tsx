import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createApi } from './api/client.js';
import { Link, matchRoute, usePath } from './router.js';
import { SessionContext, loadKey, storeKey } from './session.js';
import { SignInPage } from './pages/sign-in.js';
import { TenantsPage } from './pages/tenants.js';
import { TenantPage } from './pages/tenant.js';
import { EmptyState } from './components/ui.js';

export function App() {
  const [key, setKey] = useState<string | null>(loadKey);
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = useCallback((why?: string) => {
    storeKey(null);
    setKey(null);
    setNotice(why ?? null);
  }, []);

  const session = useMemo(() => {
    if (!key) return null;
    const api = createApi({ adminKey: key, onUnauthorized: () => signOut('The server no longer accepts this admin key. Sign in again.') });
    return { api, signOut: () => signOut('You are signed out.') };
  }, [key, signOut]);

  if (!session) {
    return (
      <SignInPage
        notice={notice}
        onSignedIn={(k) => {
          storeKey(k);
          setNotice(null);
          setKey(k);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell onSignOut={session.signOut} />
    </SessionContext.Provider>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const path = usePath();
  const route = matchRoute(path);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // Move focus to the page on navigation so keyboard and screen-reader users land on the content.
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus({ preventScroll: true });
  }, [route.page, route.page === 'tenant' ? route.id : '']);

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="otpgate admin: tenants">
          <span className="brand-mark" aria-hidden="true">
            #
          </span>
          otpgate <span className="brand-sub">admin</span>
        </Link>
        <nav aria-label="Main" className="topnav">
          <Link to="/" aria-current={route.page === 'tenants' ? 'page' : undefined}>
            Tenants
          </Link>
        </nav>
        <button type="button" className="btn btn-ghost signout" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1} className="main">
        {route.page === 'tenants' ? <TenantsPage /> : null}
        {route.page === 'tenant' ? <TenantPage id={route.id} tab={route.tab} /> : null}
        {route.page === 'not-found' ? (
          <EmptyState title="There is no such page">
            <Link to="/">Go to the tenants</Link>
          </EmptyState>
        ) : null}
      </main>
    </div>
  );
}

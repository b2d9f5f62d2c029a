import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createApi, isApiError } from './api/client.js';
import type { Me } from './api/types.js';
import { Link, matchRoute, usePath } from './router.js';
import { ROLE_LABELS, SessionContext, loadKey, permissionsOf, storeKey, type Session } from './session.js';
import { SignInPage } from './pages/sign-in.js';
import { TenantsPage } from './pages/tenants.js';
import { TenantPage } from './pages/tenant.js';
import { OperatorsPage } from './pages/operators.js';
import { AccountPage } from './pages/account.js';
import { EmptyState, Spinner } from './components/ui.js';

/** How the console is signed in: an operator's cookie session, or the admin key kept in this tab. */
type Auth = { kind: 'checking' } | { kind: 'signed-out'; notice: string | null } | { kind: 'signed-in'; me: Me; key: string | null };

export function App() {
  const [auth, setAuth] = useState<Auth>({ kind: 'checking' });
  const csrf = useRef<string | null>(null);

  const signedOut = useCallback((notice: string | null) => {
    storeKey(null);
    csrf.current = null;
    setAuth({ kind: 'signed-out', notice });
  }, []);

  const signedIn = useCallback((me: Me, key: string | null) => {
    if (key) storeKey(key);
    csrf.current = me.csrf_token;
    setAuth({ kind: 'signed-in', me, key });
  }, []);

  // A new tab (or a reload) finds the admin key of this tab, or the operator's session cookie.
  useEffect(() => {
    const key = loadKey();
    const controller = new AbortController();
    createApi(key ? { adminKey: key } : {})
      .call('GET /v1/auth/me', { signal: controller.signal })
      .then((me) => signedIn(me, key))
      .catch((err: unknown) => {
        if (err instanceof DOMException && err.name === 'AbortError') return;
        signedOut(key && isApiError(err) && err.status === 401 ? 'The server no longer accepts this admin key. Sign in again.' : null);
      });
    return () => controller.abort();
  }, [signedIn, signedOut]);

  const session = useMemo<Session | null>(() => {
    if (auth.kind !== 'signed-in') return null;
    const expired = auth.key ? 'The server no longer accepts this admin key. Sign in again.' : 'Your session has ended. Sign in again.';
    const api = createApi({ adminKey: auth.key, csrfToken: () => csrf.current, onUnauthorized: () => signedOut(expired) });
    return {
      api,
      me: auth.me,
      signOut: () => {
        if (auth.key) signedOut('You are signed out.');
        else void api.call('POST /v1/auth/sign-out').finally(() => signedOut('You are signed out.'));
      },
    };
  }, [auth, signedOut]);

  if (auth.kind === 'checking') {
    return (
      <main className="signin" id="main">
        <Spinner label="Opening the console…" />
      </main>
    );
  }
  if (!session) return <SignInPage notice={auth.kind === 'signed-out' ? auth.notice : null} onSignedIn={signedIn} />;
  return (
    <SessionContext.Provider value={session}>
      <Shell session={session} />
    </SessionContext.Provider>
  );
}

function Shell({ session }: { session: Session }) {
  const path = usePath();
  const route = matchRoute(path);
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  const can = permissionsOf(session.me);

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
          {can.operators ? (
            <Link to="/operators" aria-current={route.page === 'operators' ? 'page' : undefined}>
              Operators
            </Link>
          ) : null}
          {session.me.operator ? (
            <Link to="/account" aria-current={route.page === 'account' ? 'page' : undefined}>
              Account
            </Link>
          ) : null}
        </nav>
        <p className="whoami" aria-label="Signed in as">
          {session.me.operator ? (
            <>
              <span className="whoami-name">{session.me.operator.email}</span> <span className="role-badge">{ROLE_LABELS[session.me.role]}</span>
            </>
          ) : (
            <span className="role-badge">Admin key</span>
          )}
        </p>
        <button type="button" className="btn btn-ghost signout" onClick={session.signOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1} className="main">
        {route.page === 'tenants' ? <TenantsPage /> : null}
        {route.page === 'tenant' ? <TenantPage id={route.id} tab={route.tab} /> : null}
        {route.page === 'operators' ? (
          can.operators ? (
            <OperatorsPage />
          ) : (
            <EmptyState title="Only owners manage operators">
              <Link to="/">Go to the tenants</Link>
            </EmptyState>
          )
        ) : null}
        {route.page === 'account' ? <AccountPage /> : null}
        {route.page === 'not-found' ? (
          <EmptyState title="There is no such page">
            <Link to="/">Go to the tenants</Link>
          </EmptyState>
        ) : null}
      </main>
    </div>
  );
}

import { useEffect, useState, type FormEvent } from 'react';
import { createApi, errorText, isApiError } from '../api/client.js';
import type { Me } from '../api/types.js';
import { Alert, Button, TextField } from '../components/ui.js';
import { replaceAddress } from '../router.js';

/** Why a single sign-on came back refused (`/admin/?sso_error=<code>`), in the user's words. */
const SSO_ERRORS: Record<string, string> = {
  'auth.sso_state_invalid': 'The single sign-on took too long or was started in another tab. Try again.',
  'auth.sso_denied': 'The identity provider did not sign you in (cancelled or refused). Try again.',
  'auth.sso_failed': "The identity provider's answer could not be verified, so you were not signed in. Try again, or ask an owner to check the single sign-on settings.",
  'auth.sso_not_allowed': 'This account may not sign in to this console. Ask an owner to add you, or to give your group a role.',
  'auth.sso_unavailable': 'The identity provider cannot be reached right now. Try again in a moment.',
  'auth.sso_disabled': 'Single sign-on is not set up on this server.',
};

type Mode = 'password' | 'key';

/**
 * Sign in as an operator (email, password, then the authenticator code when the account has
 * one), or with an API key (the admin key, for automation and first start). Both are checked
 * against the server before the console opens.
 */
export function SignInPage({ onSignedIn, notice }: { onSignedIn: (me: Me, key: string | null) => void; notice: string | null }) {
  const [mode, setMode] = useState<Mode>('password');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needsTotp, setNeedsTotp] = useState(false);
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [sso, setSso] = useState(false);
  // A refused single sign-on comes back here with its code in the address; shown once, then dropped.
  const [ssoError] = useState(() => {
    const code = new URLSearchParams(window.location.search).get('sso_error');
    return code === null ? null : (SSO_ERRORS[code] ?? 'Single sign-on did not sign you in. Try again.');
  });
  useEffect(() => {
    if (ssoError !== null) replaceAddress(window.location.pathname);
    const ask = new AbortController();
    createApi({})
      .call('GET /v1/auth/options', { signal: ask.signal })
      .then((o) => setSso(o.sso))
      .catch(() => setSso(false));
    return () => ask.abort();
  }, [ssoError]);

  const submitPassword = async () => {
    if (email.trim() === '' || password === '') {
      setError('Enter your email and password.');
      return;
    }
    if (needsTotp && !/^\d{6}$/.test(totp.trim())) {
      setError('Enter the 6-digit code from your authenticator app.');
      return;
    }
    const api = createApi({});
    try {
      const answer = await api.call('POST /v1/auth/sign-in', { body: { email: email.trim(), password, ...(needsTotp ? { totp: totp.trim() } : {}) } });
      const me = await createApi({ csrfToken: () => answer.csrf_token }).call('GET /v1/auth/me');
      onSignedIn(me, null);
    } catch (err) {
      if (isApiError(err) && err.code === 'auth.totp_required') {
        setNeedsTotp(true);
        setError(null);
      } else if (isApiError(err) && err.code === 'auth.invalid_credentials') setError('The email or password is not correct.');
      else if (isApiError(err) && err.code === 'auth.sign_in_throttled') setError('Too many failed sign-ins. Wait a few minutes, then try again.');
      else if (isApiError(err) && err.code === 'auth.totp_invalid') setError('That code is not correct. Check the time on your phone and try the current code.');
      else if (isApiError(err) && err.code === 'auth.totp_reused') setError('That code was already used. Wait for the next one.');
      else setError(errorText(err));
      setBusy(false);
    }
  };

  const submitKey = async () => {
    const k = key.trim();
    if (k === '') {
      setError('Enter the admin key.');
      return;
    }
    try {
      const me = await createApi({ adminKey: k }).call('GET /v1/auth/me');
      onSignedIn(me, k);
    } catch (err) {
      if (isApiError(err) && err.code === 'auth.admin_key_disabled') setError('The admin key is turned off on this server: sign in with your email.');
      else if (isApiError(err) && (err.status === 401 || err.status === 403)) setError('This is not the admin key: the server refused it.');
      else setError(errorText(err));
      setBusy(false);
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    if (mode === 'password') await submitPassword();
    else await submitKey();
    setBusy(false);
  };

  const switchTo = (m: Mode) => {
    setMode(m);
    setError(null);
    setNeedsTotp(false);
    setTotp('');
  };

  return (
    <main className="signin" id="main">
      <form className="card signin-card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="signin-title">
        <p className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            #
          </span>
          otpgate <span className="brand-sub">admin</span>
        </p>
        <h1 id="signin-title">{needsTotp ? 'Two-step verification' : 'Sign in'}</h1>
        {notice ? <Alert kind="info">{notice}</Alert> : null}
        {ssoError ? <Alert kind="error">{ssoError}</Alert> : null}
        {mode === 'password' && !needsTotp ? (
          <>
            <TextField label="Email" id="email" type="email" name="email" autoComplete="username" spellCheck={false} value={email} onChange={(e) => setEmail(e.target.value)} required />
            <TextField
              label="Password"
              id="password"
              type="password"
              name="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={error}
              required
            />
          </>
        ) : null}
        {mode === 'password' && needsTotp ? (
          <TextField
            label="Authenticator code"
            id="totp"
            name="totp"
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9]{6}"
            maxLength={6}
            autoFocus
            value={totp}
            onChange={(e) => setTotp(e.target.value)}
            error={error}
            help={`Enter the 6-digit code your authenticator app shows for ${email.trim().toLowerCase()}.`}
            required
          />
        ) : null}
        {mode === 'key' ? (
          <TextField
            label="Admin key"
            id="admin-key"
            type="password"
            name="admin_key"
            autoComplete="current-password"
            spellCheck={false}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            error={error}
            help="The OTPGATE_ADMIN_KEY of this server (printed once at first start in development). It is kept in this tab only."
            required
          />
        ) : null}
        <Button type="submit" busy={busy} className="btn-block">
          {busy ? 'Signing in…' : needsTotp ? 'Verify' : 'Sign in'}
        </Button>
        {sso && mode === 'password' && !needsTotp ? (
          <>
            <p className="signin-or" aria-hidden="true">
              or
            </p>
            {/* A full navigation: the provider's pages are not the console's. */}
            <a className="btn btn-secondary btn-block" href="/v1/auth/oidc/start">
              Sign in with SSO
            </a>
          </>
        ) : null}
        <p className="signin-switch">
          {mode === 'password' ? (
            needsTotp ? (
              <button type="button" className="link-button" onClick={() => switchTo('password')}>
                Back to email and password
              </button>
            ) : (
              <button type="button" className="link-button" onClick={() => switchTo('key')}>
                Use an API key instead
              </button>
            )
          ) : (
            <button type="button" className="link-button" onClick={() => switchTo('password')}>
              Use email and password instead
            </button>
          )}
        </p>
      </form>
    </main>
  );
}

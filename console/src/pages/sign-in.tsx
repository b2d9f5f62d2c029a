import { useState, type FormEvent } from 'react';
import { createApi, errorText, isApiError } from '../api/client.js';
import { Alert, Button, TextField } from '../components/ui.js';

/** Sign in with the operator's admin key; the key is checked against the server before it is kept. */
export function SignInPage({ onSignedIn, notice }: { onSignedIn: (key: string) => void; notice: string | null }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const k = key.trim();
    if (k === '') {
      setError('Enter the admin key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await createApi({ adminKey: k }).call('GET /v1/tenants', { query: { limit: 1 } });
      onSignedIn(k);
    } catch (err) {
      if (isApiError(err) && (err.status === 401 || err.status === 403)) setError('This is not the admin key: the server refused it.');
      else setError(errorText(err));
      setBusy(false);
    }
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
        <h1 id="signin-title">Sign in</h1>
        {notice ? <Alert kind="info">{notice}</Alert> : null}
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
        <Button type="submit" busy={busy} className="btn-block">
          {busy ? 'Signing in…' : 'Sign in'}
        </Button>
      </form>
    </main>
  );
}

import { useState, type FormEvent } from 'react';
import { errorText } from '../api/client.js';
import type { Operator } from '../api/types.js';
import { Alert, Button, Section, TextField, Time } from '../components/ui.js';
import { ROLE_LABELS, useApi, useSession } from '../session.js';

/** The signed-in operator's own account: the authenticator app, and signing out everywhere. */
export function AccountPage() {
  const api = useApi();
  const session = useSession();
  const [operator, setOperator] = useState<Operator | null>(session.me.operator);
  const [setup, setSetup] = useState<{ secret: string; otpauth_uri: string } | null>(null);
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  if (!operator) return <Alert kind="info">Signed in with the admin key: there is no account to manage.</Alert>;

  const run = async (fn: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      await fn();
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const startSetup = () => run(async () => setSetup(await api.call('POST /v1/auth/totp/setup')));
  const confirm = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const r = await api.call(operator.totp_enabled ? 'POST /v1/auth/totp/disable' : 'POST /v1/auth/totp/enable', { body: { code: code.trim() } });
      setOperator(r.operator);
      setSetup(null);
      setCode('');
      setNotice(r.operator.totp_enabled ? 'The authenticator is on: sign-ins now ask for its code.' : 'The authenticator is off.');
    });
  };
  const everywhere = () =>
    run(async () => {
      await api.call('POST /v1/auth/sign-out-everywhere');
      session.signOut();
    });

  return (
    <div className="page">
      <div className="page-head">
        <h1>Account</h1>
        <p className="muted">
          {operator.email} · <span className="role-badge role-badge-light">{ROLE_LABELS[operator.role]}</span> · last sign-in <Time iso={operator.last_sign_in_at} />
        </p>
      </div>
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      <Section title="Two-step verification" description="A code from an authenticator app (any TOTP app) at every sign-in, besides the password.">
        {operator.totp_enabled || setup ? (
          <form onSubmit={confirm} noValidate className="form-grid">
            {setup ? (
              <>
                <p>Add this key to your authenticator app (or open the link on the phone), then enter the code it shows.</p>
                <p className="secret-box" aria-label="Authenticator key">
                  {setup.secret.replace(/(.{4})/g, '$1 ').trim()}
                </p>
                <p>
                  <a href={setup.otpauth_uri}>Open in an authenticator app</a>
                </p>
              </>
            ) : (
              <p>The authenticator is on. To turn it off, enter a current code.</p>
            )}
            <TextField label="Authenticator code" id="totp-code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={code} onChange={(e) => setCode(e.target.value)} error={error} required />
            <div>
              <Button type="submit" busy={busy} variant={operator.totp_enabled ? 'danger' : 'primary'}>
                {operator.totp_enabled ? 'Turn off' : 'Turn on'}
              </Button>
            </div>
          </form>
        ) : (
          <>
            <p>Off. Sign-ins ask for the password only.</p>
            {error ? <Alert kind="error">{error}</Alert> : null}
            <Button onClick={() => void startSetup()} busy={busy}>
              Set up an authenticator app
            </Button>
          </>
        )}
      </Section>
      <Section title="Sessions" description="Signed in on another computer, or a lost device? End every session of this account, this one included.">
        <Button variant="secondary" onClick={() => void everywhere()} busy={busy}>
          Sign out everywhere
        </Button>
      </Section>
    </div>
  );
}

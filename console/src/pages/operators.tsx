import { useState, type FormEvent } from 'react';
import { errorText } from '../api/client.js';
import { OPERATOR_ROLES, type Operator, type OperatorRole } from '../api/types.js';
import { useAsync } from '../components/hooks.js';
import { Alert, Button, EmptyState, ErrorState, Section, SelectField, Spinner, TextField, Time, issuesByPath } from '../components/ui.js';
import { ROLE_LABELS, useApi, useSession } from '../session.js';

const ROLE_HELP: Record<OperatorRole, string> = {
  owner: 'Everything, operators included.',
  admin: 'Every tenant and the platform, not operators.',
  tenant_admin: 'Only the tenants given below.',
  viewer: 'Reads everything an admin sees; changes nothing.',
};

/** Operators (owners only; the server refuses everyone else): who may sign in, with which role. */
export function OperatorsPage() {
  const api = useApi();
  const { me } = useSession();
  const list = useAsync((signal) => api.call('GET /v1/operators', { query: { limit: 100 }, signal }), [api]);
  const tenants = useAsync((signal) => api.call('GET /v1/tenants', { query: { limit: 100 }, signal }), [api]);
  const [rowError, setRowError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const tenantName = (id: string) => tenants.data?.items.find((t) => t.id === id)?.name ?? id;

  const patch = async (op: Operator, body: { role?: OperatorRole; disabled?: boolean; reset_totp?: true }, done: string) => {
    setRowError(null);
    setNotice(null);
    try {
      await api.call('PATCH /v1/operators/{id}', { params: { id: op.id }, body });
      setNotice(done);
      list.reload();
    } catch (err) {
      setRowError(errorText(err));
    }
  };
  const remove = async (op: Operator) => {
    if (!window.confirm(`Delete the operator ${op.email}? They are signed out everywhere.`)) return;
    setRowError(null);
    setNotice(null);
    try {
      await api.call('DELETE /v1/operators/{id}', { params: { id: op.id } });
      setNotice(`${op.email} was deleted.`);
      list.reload();
    } catch (err) {
      setRowError(errorText(err));
    }
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Operators</h1>
        <p className="muted">People who sign in to this console, each as themselves. The audit log names who changed what.</p>
      </div>
      <CreateOperator tenants={tenants.data?.items ?? []} onCreated={(op) => { setNotice(`${op.email} can now sign in as ${ROLE_LABELS[op.role].toLowerCase()}.`); list.reload(); }} />
      <Section title="All operators" actions={<Button variant="secondary" onClick={list.reload}>Refresh</Button>}>
        {notice ? <Alert kind="success" onDismiss={() => setNotice(null)}>{notice}</Alert> : null}
        {rowError ? <Alert kind="error" onDismiss={() => setRowError(null)}>{rowError}</Alert> : null}
        {list.error ? <ErrorState error={list.error} onRetry={list.reload} title="Could not load the operators" /> : null}
        {list.loading && list.data === undefined ? <Spinner label="Loading operators…" /> : null}
        {list.data && list.data.items.length === 0 ? (
          <EmptyState title="No operators yet">
            <p>Create the first owner above, or with <code>otpgate operator create --role owner --email …</code>.</p>
          </EmptyState>
        ) : null}
        {list.data && list.data.items.length > 0 ? (
          <div className="table-wrap">
            <table className="table responsive" aria-label="Operators">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Tenants</th>
                  <th scope="col">Two-step</th>
                  <th scope="col">Last sign-in</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((op) => (
                  <tr key={op.id}>
                    <td data-label="Email">
                      <span className="strong">{op.email}</span>
                      {op.id === me.operator?.id ? <span className="muted"> (you)</span> : null}
                      {op.disabled ? <span className="badge badge-muted"> disabled</span> : null}
                    </td>
                    <td data-label="Role">
                      <select aria-label={`Role of ${op.email}`} value={op.role} disabled={op.role === 'tenant_admin'} onChange={(e) => void patch(op, { role: e.target.value as OperatorRole }, `${op.email} is now ${ROLE_LABELS[e.target.value as OperatorRole].toLowerCase()}.`)}>
                        {OPERATOR_ROLES.filter((r) => r !== 'tenant_admin' || op.role === 'tenant_admin').map((r) => (
                          <option key={r} value={r}>
                            {ROLE_LABELS[r]}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td data-label="Tenants">{op.role === 'tenant_admin' ? op.tenant_ids.map(tenantName).join(', ') : <span className="muted">all</span>}</td>
                    <td data-label="Two-step">{op.totp_enabled ? 'Authenticator' : <span className="muted">off</span>}</td>
                    <td data-label="Last sign-in">{op.last_sign_in_at ? <Time iso={op.last_sign_in_at} /> : <span className="muted">never</span>}</td>
                    <td data-label="Actions" className="row-actions">
                      <Button variant="secondary" onClick={() => void patch(op, { disabled: !op.disabled }, `${op.email} was ${op.disabled ? 'enabled' : 'disabled and signed out'}.`)}>
                        {op.disabled ? 'Enable' : 'Disable'}
                      </Button>
                      {op.totp_enabled ? (
                        <Button variant="secondary" onClick={() => void patch(op, { reset_totp: true }, `${op.email}'s authenticator was reset.`)}>
                          Reset authenticator
                        </Button>
                      ) : null}
                      <Button variant="danger" onClick={() => void remove(op)}>
                        Delete
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </Section>
    </div>
  );
}

function CreateOperator({ tenants, onCreated }: { tenants: { id: string; name: string }[]; onCreated: (op: Operator) => void }) {
  const api = useApi();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<OperatorRole>('viewer');
  const [password, setPassword] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const op = await api.call('POST /v1/operators', { body: { email: email.trim(), role, password, ...(role === 'tenant_admin' ? { tenant_ids: chosen } : {}) } });
      setEmail('');
      setPassword('');
      setChosen([]);
      onCreated(op);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const issues = issuesByPath(error);
  const code = (error as { code?: string } | null)?.code;

  return (
    <Section title="Add an operator" description="They sign in with this email and password; they can add an authenticator app under Account.">
      <form onSubmit={(e) => void submit(e)} noValidate className="form-grid">
        <TextField label="Email" id="op-email" type="email" autoComplete="off" value={email} onChange={(e) => setEmail(e.target.value)} error={issues['email'] ?? (code === 'operator.email_taken' ? errorText(error) : null)} required />
        <SelectField label="Role" id="op-role" value={role} onChange={(e) => setRole(e.target.value as OperatorRole)} help={ROLE_HELP[role]}>
          {OPERATOR_ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_LABELS[r]}
            </option>
          ))}
        </SelectField>
        <TextField
          label="Password"
          id="op-password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          help="At least 12 characters; not a well-known password. Give it to them in person or through a password manager."
          error={code === 'operator.weak_password' ? errorText(error) : null}
          required
        />
        {role === 'tenant_admin' ? (
          <fieldset className="checkbox-list">
            <legend>Tenants</legend>
            {tenants.map((t) => (
              <label key={t.id}>
                <input type="checkbox" checked={chosen.includes(t.id)} onChange={(e) => setChosen((c) => (e.target.checked ? [...c, t.id] : c.filter((x) => x !== t.id)))} /> {t.name}
              </label>
            ))}
          </fieldset>
        ) : null}
        {error && !issues['email'] && code !== 'operator.weak_password' && code !== 'operator.email_taken' ? (
          <p className="field-error" role="alert">
            {errorText(error)}
          </p>
        ) : null}
        <div>
          <Button type="submit" busy={busy}>
            Add operator
          </Button>
        </div>
      </form>
    </Section>
  );
}

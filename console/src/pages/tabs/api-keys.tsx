import { useState, type FormEvent } from 'react';
import { apiKeyScopes, type ApiKeyScope, type CreatedApiKey } from '../../api/types.js';
import { errorText } from '../../api/client.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { Alert, Button, CopyButton, CopyableId, EmptyState, ErrorState, Section, Spinner, TextField, Time } from '../../components/ui.js';
import type { TabProps } from '../tenant.js';

/** What each scope allows, as docs/api-keys.md says it. */
const scopeLabels: Record<ApiKeyScope, { label: string; help: string }> = {
  otp: { label: 'Send and verify codes', help: 'passcodes, event SMS, the Twilio-compatible API' },
  'messages:read': { label: 'Read messages', help: 'message log, inbox, stats' },
  providers: { label: 'Manage providers', help: 'provider configuration, test SMS' },
  settings: { label: 'Manage settings and templates', help: 'templates, fraud guard, audit log, number export and erasure' },
  events: { label: 'Manage event endpoints', help: 'platform receivers, event endpoints' },
};

function scopeSummary(scopes: readonly ApiKeyScope[]): string {
  return scopes.length === apiKeyScopes.length ? 'all' : scopes.join(', ');
}

export function ApiKeysTab({ tenant }: TabProps) {
  const api = useApi();
  const keys = useAsync((signal) => api.call('GET /v1/tenants/{id}/api-keys', { params: { id: tenant.id }, query: { limit: 100 }, signal }), [api, tenant.id]);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ApiKeyScope[]>([...apiKeyScopes]);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [createError, setCreateError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const [revokeError, setRevokeError] = useState<unknown>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setCreated(null);
    if (scopes.length === 0) {
      setCreateError(new Error('Choose at least one scope: a key that may do nothing is of no use.'));
      return;
    }
    setCreating(true);
    setCreateError(null);
    try {
      // Every scope ticked is sent as none: the key keeps every scope, as keys made without any do.
      const body = { ...(name.trim() ? { name: name.trim() } : {}), ...(scopes.length < apiKeyScopes.length ? { scopes: apiKeyScopes.filter((s) => scopes.includes(s)) } : {}) };
      const k = await api.call('POST /v1/tenants/{id}/api-keys', { params: { id: tenant.id }, body });
      setCreated(k);
      setName('');
      setScopes([...apiKeyScopes]);
      keys.reload();
    } catch (err) {
      setCreateError(err);
    } finally {
      setCreating(false);
    }
  };

  const revoke = async (keyId: string) => {
    setRevoking(keyId);
    setRevokeError(null);
    try {
      await api.call('DELETE /v1/tenants/{id}/api-keys/{key_id}', { params: { id: tenant.id, key_id: keyId } });
      setConfirming(null);
      if (created?.id === keyId) setCreated(null);
      keys.reload();
    } catch (err) {
      setRevokeError(err);
    } finally {
      setRevoking(null);
    }
  };

  return (
    <div>
      <Section title="Create an API key" description="Your application's backend uses a key to send and verify codes for this tenant. It is shown once: store it in your secret manager.">
        <form onSubmit={(e) => void create(e)} noValidate>
          <div className="inline-form">
            <TextField label="Key name (optional)" id="key-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)} placeholder="production backend" />
          </div>
          <fieldset className="fieldset">
            <legend>Scopes</legend>
            <p className="help">What the key may do. A backend that only sends and verifies codes needs just the first.</p>
            <div className="check-grid">
              {apiKeyScopes.map((s) => (
                <label key={s} className="check">
                  <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} />
                  <span>
                    {scopeLabels[s].label} <code className="muted small">{s}</code>
                    <span className="help">{scopeLabels[s].help}</span>
                  </span>
                </label>
              ))}
            </div>
          </fieldset>
          <Button type="submit" busy={creating}>
            Create API key
          </Button>
        </form>
        {createError ? <p className="field-error" role="alert">{errorText(createError)}</p> : null}
        {created ? (
          <Alert kind="success" title="Copy this key now: it will not be shown again" onDismiss={() => setCreated(null)}>
            <div className="key-reveal">
              <label htmlFor="new-key" className="sr-only">
                New API key
              </label>
              <textarea
                id="new-key"
                readOnly
                value={created.key}
                className="mono key-value"
                rows={2}
                spellCheck={false}
                onFocus={(e) => e.currentTarget.select()}
                data-testid="new-api-key"
              />
              <CopyButton text={created.key} targetId="new-key" label="Copy key" />
            </div>
            <p className="small muted">
              Key id (the OAuth client id): <CopyableId value={created.id} what="id of the new key" /> · scopes: <span data-testid="new-api-key-scopes">{scopeSummary(created.scopes)}</span>
            </p>
          </Alert>
        ) : null}
      </Section>
      <Section title="Active keys">
        {keys.error ? <ErrorState error={keys.error} onRetry={keys.reload} title="Could not load the keys" /> : null}
        {revokeError ? <ErrorState error={revokeError} title="Could not revoke the key" /> : null}
        {keys.loading && !keys.data ? <Spinner label="Loading keys…" /> : null}
        {keys.data && keys.data.items.length === 0 ? <EmptyState title="No API keys">Create one above so an application can use this tenant.</EmptyState> : null}
        {keys.data && keys.data.items.length > 0 ? (
          <div className="table-wrap">
            <table className="table responsive" aria-label="API keys">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {keys.data.items.map((k) => (
                  <tr key={k.id}>
                    <td data-label="Name">{k.name ?? <span className="muted">unnamed</span>}</td>
                    <td data-label="Key">
                      <div className="key-cell">
                        <code>{k.prefix}…</code>
                        <span className="copyable">
                          <code className="muted small key-id" title={`Key id (the OAuth client id): ${k.id}`}>
                            {k.id}
                          </code>
                          <CopyButton text={k.id} what={`id of key ${k.name ?? k.prefix}`} />
                        </span>
                      </div>
                    </td>
                    <td data-label="Scopes">{scopeSummary(k.scopes)}</td>
                    <td data-label="Created">
                      <Time iso={k.created_at} />
                    </td>
                    <td data-label="Last used">{k.last_used_at ? <Time iso={k.last_used_at} /> : <span className="muted">never</span>}</td>
                    <td data-label="Actions" className="actions-cell">
                      {confirming === k.id ? (
                        <span className="confirm">
                          <span className="small">Revoke? Apps using it stop working.</span>
                          <Button variant="danger" onClick={() => void revoke(k.id)} busy={revoking === k.id} aria-label={`Confirm revoking ${k.name ?? k.prefix}`}>
                            Revoke
                          </Button>
                          <Button variant="ghost" onClick={() => setConfirming(null)}>
                            Cancel
                          </Button>
                        </span>
                      ) : (
                        <Button variant="secondary" onClick={() => setConfirming(k.id)} aria-label={`Revoke ${k.name ?? k.prefix}`}>
                          Revoke…
                        </Button>
                      )}
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

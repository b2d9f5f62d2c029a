import { useEffect, useState, type FormEvent } from 'react';
import type { Tenant } from '../api/types.js';
import { useApi, usePermissions, useSession } from '../session.js';
import { useAsync } from '../components/hooks.js';
import { Alert, Button, CopyableId, EmptyState, ErrorState, Section, Spinner, TextField, Time, issuesByPath } from '../components/ui.js';
import { Link, navigate, replaceAddress } from '../router.js';
import { errorText } from '../api/client.js';

export function TenantsPage() {
  const { me } = useSession();
  // A tenant_admin sees the tenants it was given (the list of every tenant is the platform's).
  if (me.tenants) return <OwnTenants tenants={me.tenants} />;
  return <AllTenants />;
}

function OwnTenants({ tenants }: { tenants: { id: string; name: string }[] }) {
  return (
    <div className="page">
      <div className="page-head">
        <h1>Your tenants</h1>
        <p className="muted">The tenants you administer. An owner can give you others.</p>
      </div>
      <Section title="Tenants">
        <TenantTable tenants={tenants} />
      </Section>
    </div>
  );
}

function AllTenants() {
  const api = useApi();
  const can = usePermissions();
  const [extra, setExtra] = useState<Tenant[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  // Set by the tenant's delete dialog, which comes back here; read once, then dropped from the URL.
  const [deleted, setDeleted] = useState(() => new URLSearchParams(window.location.search).get('deleted'));
  useEffect(() => {
    if (deleted !== null) replaceAddress(window.location.pathname);
  }, [deleted]);

  // The list asks the server once typing pauses.
  useEffect(() => {
    const t = setTimeout(() => setQuery(search.trim()), 250);
    return () => clearTimeout(t);
  }, [search]);

  const list = useAsync(async (signal) => {
    const page = await api.call('GET /v1/tenants', { query: { limit: 50, ...(query ? { q: query } : {}) }, signal });
    setExtra([]);
    setMoreError(null);
    setCursor(page.next_cursor);
    return page.items;
  }, [api, query]);

  const more = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.call('GET /v1/tenants', { query: { limit: 50, cursor, ...(query ? { q: query } : {}) } });
      setExtra((e) => [...e, ...page.items]);
      setCursor(page.next_cursor);
    } catch (err) {
      setMoreError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  const tenants = [...(list.data ?? []), ...extra];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Tenants</h1>
        <p className="muted">Each tenant has its own SMS provider, settings, templates, keys and message log.</p>
      </div>
      {deleted !== null ? (
        <Alert kind="success" onDismiss={() => setDeleted(null)}>
          Tenant {deleted} deleted.
        </Alert>
      ) : null}
      {can.platform ? <CreateTenant /> : null}
      <Section title="All tenants" actions={<Button variant="secondary" onClick={list.reload} busy={list.loading && list.data !== undefined}>Refresh</Button>}>
        <form role="search" aria-label="Tenants" className="search-form" onSubmit={(e) => { e.preventDefault(); setQuery(search.trim()); }}>
          <TextField label="Search by name or id" id="tenant-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} maxLength={100} spellCheck={false} autoComplete="off" />
        </form>
        <p className="sr-only" role="status" aria-live="polite">
          {query && list.data && !list.loading ? `${tenants.length}${cursor ? ' or more' : ''} tenant${tenants.length === 1 ? '' : 's'} match ${query}` : ''}
        </p>
        {list.error ? <ErrorState error={list.error} onRetry={list.reload} title="Could not load the tenants" /> : null}
        {list.loading && list.data === undefined ? <Spinner label="Loading tenants…" /> : null}
        {list.data && tenants.length === 0 && query ? (
          <EmptyState title="No tenant matches">
            <p>
              No tenant name contains “{query}” and no id starts with it.
            </p>
          </EmptyState>
        ) : null}
        {list.data && tenants.length === 0 && !query ? (
          <EmptyState title="No tenants yet">
            <p>Create the first tenant above: give it a name, then configure its SMS provider.</p>
          </EmptyState>
        ) : null}
        {tenants.length > 0 ? (
          <TenantTable tenants={tenants} />
        ) : null}
        {moreError ? <ErrorState error={moreError} onRetry={() => void more()} title="Could not load more tenants" /> : null}
        {cursor && !moreError ? (
          <Button variant="secondary" onClick={() => void more()} busy={loadingMore}>
            Load more
          </Button>
        ) : null}
      </Section>
    </div>
  );
}

/** The tenants as a table; code settings and creation time when the list has them. */
function TenantTable({ tenants }: { tenants: Array<Pick<Tenant, 'id' | 'name'> & Partial<Pick<Tenant, 'settings' | 'created_at'>>> }) {
  const full = tenants.every((t) => t.settings !== undefined && t.created_at !== undefined);
  return (
    <div className="table-wrap">
      <table className="table responsive" aria-label="Tenants">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Id</th>
            {full ? <th scope="col">Code length · lifetime</th> : null}
            {full ? <th scope="col">Created</th> : null}
          </tr>
        </thead>
        <tbody>
          {tenants.map((t) => (
            <tr key={t.id}>
              <td data-label="Name">
                <Link to={`/tenants/${encodeURIComponent(t.id)}`} className="strong">
                  {t.name}
                </Link>
              </td>
              <td data-label="Id">
                <CopyableId value={t.id} what={`id of ${t.name}`} />
              </td>
              {full && t.settings ? (
                <td data-label="Code">
                  {t.settings.otp_length} digits · {Math.round(t.settings.otp_ttl_seconds / 60)} min
                </td>
              ) : null}
              {full && t.created_at ? (
                <td data-label="Created">
                  <Time iso={t.created_at} />
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function CreateTenant() {
  const api = useApi();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [nameError, setNameError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() === '') {
      setNameError('Give the tenant a name.');
      return;
    }
    if (name.trim().length > 100) {
      setNameError('At most 100 characters.');
      return;
    }
    setBusy(true);
    setError(null);
    setNameError(null);
    try {
      const t = await api.call('POST /v1/tenants', { body: { name: name.trim() } });
      navigate(`/tenants/${encodeURIComponent(t.id)}/provider`);
    } catch (err) {
      setNameError(issuesByPath(err)['name'] ?? null);
      setError(err);
      setBusy(false);
    }
  };

  return (
    <Section title="Create a tenant" headingLevel={2}>
      <form className="inline-form" onSubmit={(e) => void submit(e)} noValidate>
        <TextField
          label="Tenant name"
          id="new-tenant-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Acme Inc."
          maxLength={100}
          error={nameError}
          required
          addon={
            <Button type="submit" busy={busy}>
              Create tenant
            </Button>
          }
        />
      </form>
      {error && !nameError ? <p className="field-error" role="alert">{errorText(error)}</p> : null}
    </Section>
  );
}

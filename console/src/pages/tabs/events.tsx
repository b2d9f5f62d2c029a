import { useState, type FormEvent } from 'react';
import type { EventDelivery, EventEndpoint, Page } from '../../api/types.js';
import { errorText } from '../../api/client.js';
import { useApi } from '../../session.js';
import { useAsync, usePoll, type AsyncState } from '../../components/hooks.js';
import { Alert, Button, CopyButton, EmptyState, ErrorState, issuesByPath, Section, Spinner, StatusBadge, TextField, Time } from '../../components/ui.js';
import { eventTypeHelp, eventTypes, filterText } from '../../domain/events.js';
import type { TabProps } from '../tenant.js';

/** A secret the server answered this once (create or rotate); kept in memory only, never stored. */
interface Revealed {
  endpointId: string;
  url: string;
  secret: string;
  rotated: boolean;
  previousExpires?: string;
}

/** URL, event filter and description: the same fields to add an endpoint and to change one. */
function EndpointFields({
  idPrefix,
  url,
  setUrl,
  events,
  setEvents,
  description,
  setDescription,
  error,
}: {
  idPrefix: string;
  url: string;
  setUrl(v: string): void;
  events: string[];
  setEvents(v: string[]): void;
  description: string;
  setDescription(v: string): void;
  error: unknown;
}) {
  const issues = issuesByPath(error);
  return (
    <>
      <TextField
        label="URL"
        id={`${idPrefix}-url`}
        type="url"
        required
        value={url}
        maxLength={2048}
        onChange={(e) => setUrl(e.target.value)}
        placeholder="https://backend.example.com/otpgate-events"
        help="Where events are POSTed: https, a public address; redirects are not followed."
        error={issues.url}
      />
      <fieldset className="fieldset">
        <legend>Events</legend>
        <p className="help">None ticked: every event, including types added later.</p>
        <div className="check-grid">
          {eventTypes.map((t) => (
            <label key={t} className="check">
              <input type="checkbox" checked={events.includes(t)} onChange={(e) => setEvents(e.target.checked ? [...events, t] : events.filter((x) => x !== t))} />
              <span>
                <code>{t}</code>
                <span className="help">{eventTypeHelp[t]}</span>
              </span>
            </label>
          ))}
        </div>
        {issues.events ? <p className="field-error">{issues.events}</p> : null}
      </fieldset>
      <TextField label="Description (optional)" id={`${idPrefix}-description`} value={description} maxLength={500} onChange={(e) => setDescription(e.target.value)} error={issues.description} />
    </>
  );
}

/** The server's problem for a form: field issues are shown on their fields, the rest here. */
function FormError({ error }: { error: unknown }) {
  if (!error) return null;
  const issues = issuesByPath(error);
  const onFields = ['url', 'events', 'description'].some((k) => issues[k]);
  return (
    <p className="field-error" role="alert">
      {onFields ? `Not saved: ${errorText(error)}` : errorText(error)}
    </p>
  );
}

function stateOf(e: EventEndpoint): { badge: string; why: string | null } {
  if (e.enabled) return { badge: 'enabled', why: e.failing_since ? `failing since ${new Date(e.failing_since).toLocaleString()}` : null };
  return { badge: 'disabled', why: e.disabled_reason ?? 'turned off in the console or the API' };
}

/**
 * The tenant's event endpoints (docs/events.md): add one, change, turn off, delete, rotate its
 * secret, send a test event, and follow the delivery log with "send again". A signing secret is
 * shown once, right after the server answers it; it is never read back.
 */
export function EventsTab({ tenant }: TabProps) {
  const api = useApi();
  const list = useAsync((signal) => api.call('GET /v1/event-endpoints', { tenant: tenant.id, query: { limit: 100 }, signal }), [api, tenant.id]);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<string[]>([]);
  const [description, setDescription] = useState('');
  const [creating, setCreating] = useState(false);
  const [createError, setCreateError] = useState<unknown>(null);
  const [revealed, setRevealed] = useState<Revealed | null>(null);
  const [selected, setSelected] = useState<string | null>(null);

  const create = async (e: FormEvent) => {
    e.preventDefault();
    setRevealed(null);
    setCreating(true);
    setCreateError(null);
    try {
      const body = { url: url.trim(), ...(events.length ? { events: eventTypes.filter((t) => events.includes(t)) } : {}), ...(description.trim() ? { description: description.trim() } : {}) };
      const created = await api.call('POST /v1/event-endpoints', { tenant: tenant.id, body });
      setRevealed({ endpointId: created.id, url: created.url, secret: created.secret, rotated: false });
      setUrl('');
      setEvents([]);
      setDescription('');
      setSelected(created.id);
      list.reload();
    } catch (err) {
      setCreateError(err);
    } finally {
      setCreating(false);
    }
  };

  const items = list.data?.items ?? [];
  const current = items.find((x) => x.id === selected) ?? null;

  return (
    <div className="events">
      <Section title="Add an endpoint" description="otpgate POSTs signed events to your backend (Standard Webhooks). The signing secret is shown once, after adding.">
        <form onSubmit={(e) => void create(e)} noValidate aria-label="Add an endpoint">
          <EndpointFields idPrefix="ev-new" url={url} setUrl={setUrl} events={events} setEvents={setEvents} description={description} setDescription={setDescription} error={createError} />
          <Button type="submit" busy={creating}>
            Add endpoint
          </Button>
        </form>
        <FormError error={createError} />
      </Section>
      {revealed ? (
        <Alert kind="success" title="Copy this signing secret now: it will not be shown again" onDismiss={() => setRevealed(null)}>
          <p className="small">
            {revealed.rotated ? 'New secret of ' : 'Secret of '}
            <code className="break">{revealed.url}</code>
            {revealed.previousExpires ? (
              <>
                . The previous secret also signs until <Time iso={revealed.previousExpires} />.
              </>
            ) : null}
          </p>
          <div className="key-reveal">
            <label htmlFor="ev-secret" className="sr-only">
              Signing secret
            </label>
            <textarea id="ev-secret" readOnly value={revealed.secret} className="mono key-value" rows={2} spellCheck={false} onFocus={(e) => e.currentTarget.select()} data-testid="event-secret" />
            <CopyButton text={revealed.secret} targetId="ev-secret" label="Copy secret" />
          </div>
        </Alert>
      ) : null}
      <Section
        title="Endpoints"
        actions={
          <Button variant="secondary" onClick={list.reload} busy={list.loading && list.data !== undefined}>
            Refresh
          </Button>
        }
      >
        {list.error ? <ErrorState error={list.error} onRetry={list.reload} title="Could not load the endpoints" /> : null}
        {list.loading && !list.data ? <Spinner label="Loading the endpoints…" /> : null}
        {list.data && items.length === 0 ? <EmptyState title="No endpoints">Add one above so your backend hears what happens.</EmptyState> : null}
        {items.length > 0 ? (
          <div className="table-wrap">
            <table className="table responsive" aria-label="Event endpoints">
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Receives</th>
                  <th scope="col">Description</th>
                  <th scope="col">State</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((x) => {
                  const st = stateOf(x);
                  return (
                    <tr key={x.id} data-endpoint-id={x.id} aria-selected={x.id === selected ? true : undefined}>
                      <td data-label="URL">
                        <code className="break">{x.url}</code>
                      </td>
                      <td data-label="Receives">{filterText(x.events)}</td>
                      <td data-label="Description">{x.description ?? <span className="muted">—</span>}</td>
                      <td data-label="State">
                        <div>
                          <StatusBadge status={st.badge} />
                          {st.why ? <div className="muted small">{st.why}</div> : null}
                        </div>
                      </td>
                      <td data-label="Actions" className="actions-cell">
                        <Button variant={x.id === selected ? 'primary' : 'secondary'} onClick={() => setSelected(x.id === selected ? null : x.id)} aria-expanded={x.id === selected} aria-label={`Manage ${x.url}`}>
                          {x.id === selected ? 'Close' : 'Manage'}
                        </Button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </Section>
      {current ? (
        <EndpointPanel
          key={current.id}
          tenantId={tenant.id}
          endpoint={current}
          onChanged={list.reload}
          onDeleted={() => {
            if (revealed?.endpointId === current.id) setRevealed(null);
            setSelected(null);
            list.reload();
          }}
          onSecret={(r) => setRevealed(r)}
        />
      ) : null}
    </div>
  );
}

function EndpointPanel({ tenantId, endpoint, onChanged, onDeleted, onSecret }: { tenantId: string; endpoint: EventEndpoint; onChanged(): void; onDeleted(): void; onSecret(r: Revealed): void }) {
  const api = useApi();
  const params = { id: endpoint.id };
  const [url, setUrl] = useState(endpoint.url);
  const [events, setEvents] = useState<string[]>(endpoint.events ?? []);
  const [description, setDescription] = useState(endpoint.description ?? '');
  const [busy, setBusy] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [actionError, setActionError] = useState<{ what: string; error: unknown } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<'delete' | 'rotate' | null>(null);

  const deliveries = useAsync((signal) => api.call('GET /v1/event-endpoints/{id}/deliveries', { tenant: tenantId, params, query: { limit: 50 }, signal }), [api, tenantId, endpoint.id]);
  const pending = (deliveries.data?.items ?? []).some((d) => d.status === 'queued' || d.status === 'sending');
  // Follows queued deliveries until they settle; a finished log is read again only on request.
  usePoll(async () => deliveries.reload(), 1500, pending);

  const run = async (what: string, fn: () => Promise<void>) => {
    setBusy(what);
    setActionError(null);
    setNotice(null);
    try {
      await fn();
    } catch (err) {
      setActionError({ what, error: err });
    } finally {
      setBusy(null);
    }
  };

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaveError(null);
    await run('save', async () => {
      try {
        await api.call('PATCH /v1/event-endpoints/{id}', { tenant: tenantId, params, body: { url: url.trim(), events: eventTypes.filter((t) => events.includes(t)), description: description.trim() ? description.trim() : null } });
        setNotice('Changes saved.');
        onChanged();
      } catch (err) {
        setSaveError(err);
      }
    });
  };

  const title = <code className="break">{endpoint.url}</code>;
  return (
    <Section title={<>Endpoint {title}</>} description={`${endpoint.id} · added ${new Date(endpoint.created_at).toLocaleString()}`}>
      <div className="button-row">
        <Button
          variant="secondary"
          busy={busy === 'test'}
          onClick={() =>
            void run('test', async () => {
              await api.call('POST /v1/event-endpoints/{id}/test', { tenant: tenantId, params });
              setNotice('Test event queued: follow it in the delivery log below.');
              deliveries.reload();
            })
          }
        >
          Send test event
        </Button>
        <Button
          variant="secondary"
          busy={busy === 'enable'}
          onClick={() =>
            void run('enable', async () => {
              await api.call('PATCH /v1/event-endpoints/{id}', { tenant: tenantId, params, body: { enabled: !endpoint.enabled } });
              setNotice(endpoint.enabled ? 'Turned off: nothing is delivered to it.' : 'Turned on: its failure count starts afresh.');
              onChanged();
            })
          }
        >
          {endpoint.enabled ? 'Turn off' : 'Turn on'}
        </Button>
        {confirm === 'rotate' ? (
          <span className="confirm">
            <span className="small">New secret? The current one keeps signing beside it for 24 h.</span>
            <Button
              busy={busy === 'rotate'}
              onClick={() =>
                void run('rotate', async () => {
                  const r = await api.call('POST /v1/event-endpoints/{id}/rotate-secret', { tenant: tenantId, params });
                  setConfirm(null);
                  onSecret({ endpointId: r.id, url: endpoint.url, secret: r.secret, rotated: true, previousExpires: r.previous_secret_expires_at });
                  onChanged();
                })
              }
            >
              Rotate
            </Button>
            <Button variant="ghost" onClick={() => setConfirm(null)}>
              Cancel
            </Button>
          </span>
        ) : (
          <Button variant="secondary" onClick={() => setConfirm('rotate')}>
            Rotate secret…
          </Button>
        )}
        {confirm === 'delete' ? (
          <span className="confirm">
            <span className="small">Delete it and its delivery log?</span>
            <Button variant="danger" busy={busy === 'delete'} onClick={() => void run('delete', async () => {
              await api.call('DELETE /v1/event-endpoints/{id}', { tenant: tenantId, params });
              onDeleted();
            })}>
              Delete
            </Button>
            <Button variant="ghost" onClick={() => setConfirm(null)}>
              Cancel
            </Button>
          </span>
        ) : (
          <Button variant="secondary" onClick={() => setConfirm('delete')}>
            Delete…
          </Button>
        )}
      </div>
      {notice ? (
        <p className="small" role="status" data-testid="ev-notice">
          {notice}
        </p>
      ) : null}
      {actionError ? <ErrorState error={actionError.error} title={`Could not ${actionError.what === 'test' ? 'send the test event' : actionError.what === 'rotate' ? 'rotate the secret' : actionError.what === 'delete' ? 'delete the endpoint' : actionError.what === 'enable' ? 'turn it on or off' : 'save'}`} /> : null}

      <details className="edit-endpoint">
        <summary>Change URL, events or description</summary>
        <form onSubmit={(e) => void save(e)} noValidate aria-label="Change the endpoint">
          <EndpointFields idPrefix="ev-edit" url={url} setUrl={setUrl} events={events} setEvents={setEvents} description={description} setDescription={setDescription} error={saveError} />
          <Button type="submit" busy={busy === 'save'}>
            Save changes
          </Button>
        </form>
        <FormError error={saveError} />
      </details>

      <DeliveryLog tenantId={tenantId} endpointId={endpoint.id} deliveries={deliveries} />
    </Section>
  );
}

function DeliveryLog({ tenantId, endpointId, deliveries }: { tenantId: string; endpointId: string; deliveries: AsyncState<Page<EventDelivery>> }) {
  const api = useApi();
  const [retrying, setRetrying] = useState<string | null>(null);
  const [retryError, setRetryError] = useState<unknown>(null);
  const items = deliveries.data?.items ?? [];
  const again = async (d: EventDelivery) => {
    setRetrying(d.id);
    setRetryError(null);
    try {
      await api.call('POST /v1/event-endpoints/{id}/deliveries/{delivery_id}/retry', { tenant: tenantId, params: { id: endpointId, delivery_id: d.id } });
      deliveries.reload();
    } catch (err) {
      setRetryError(err);
    } finally {
      setRetrying(null);
    }
  };
  return (
    <>
      <div className="section-head">
        <h3>Delivery log</h3>
        <div className="section-actions">
          <Button variant="secondary" onClick={deliveries.reload} busy={deliveries.loading && deliveries.data !== undefined}>
            Refresh log
          </Button>
        </div>
      </div>
      {deliveries.error ? <ErrorState error={deliveries.error} onRetry={deliveries.reload} title="Could not load the deliveries" /> : null}
      {retryError ? <ErrorState error={retryError} title="Could not send it again" /> : null}
      {deliveries.loading && !deliveries.data ? <Spinner label="Loading the deliveries…" /> : null}
      {deliveries.data && items.length === 0 ? <EmptyState title="Nothing delivered yet">Send a test event to see one here.</EmptyState> : null}
      {items.length > 0 ? (
        <div className="table-wrap">
          <table className="table responsive" aria-label="Delivery log">
            <thead>
              <tr>
                <th scope="col">Queued</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last response</th>
                <th scope="col">Next retry</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id} data-delivery-id={d.id}>
                  <td data-label="Queued">
                    <Time iso={d.created_at} />
                  </td>
                  <td data-label="Event">
                    <div>
                      <code>{d.type}</code>
                      <div className="muted small break">{d.event_id}</div>
                    </div>
                  </td>
                  <td data-label="Status">
                    <div>
                      <StatusBadge status={d.status} />
                    </div>
                  </td>
                  <td data-label="Attempts">{d.attempts}</td>
                  <td data-label="Last response" data-col="last-response">
                    <div>
                      {d.last_http_status !== null ? <span>HTTP {d.last_http_status}</span> : d.last_attempt_at ? <span>no answer</span> : <span className="muted">—</span>}
                      {d.last_error ? <div className="muted small break">{d.last_error}</div> : null}
                    </div>
                  </td>
                  <td data-label="Next retry">{d.status === 'queued' && d.next_attempt_at ? <Time iso={d.next_attempt_at} /> : <span className="muted">—</span>}</td>
                  <td data-label="Actions" className="actions-cell">
                    {d.status === 'delivered' || d.status === 'failed' ? (
                      <Button variant="secondary" busy={retrying === d.id} onClick={() => void again(d)} aria-label={`Send ${d.type} ${d.event_id} again`}>
                        Send again
                      </Button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

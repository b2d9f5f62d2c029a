import { useState } from 'react';
import type { AuditRecord } from '../../api/types.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { Button, CopyableId, EmptyState, ErrorState, Section, Spinner, Time } from '../../components/ui.js';
import type { TabProps } from '../tenant.js';

export function AuditTab({ tenant }: TabProps) {
  const api = useApi();
  const [more, setMore] = useState<AuditRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const list = useAsync(
    async (signal) => {
      const page = await api.call('GET /v1/tenants/{id}/audit-log', { params: { id: tenant.id }, query: { limit: 50 }, signal });
      setMore([]);
      setMoreError(null);
      setCursor(page.next_cursor);
      return page.items;
    },
    [api, tenant.id],
  );
  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.call('GET /v1/tenants/{id}/audit-log', { params: { id: tenant.id }, query: { limit: 50, cursor } });
      setMore((m) => [...m, ...page.items]);
      setCursor(page.next_cursor);
    } catch (err) {
      setMoreError(err);
    } finally {
      setLoadingMore(false);
    }
  };
  const records = [...(list.data ?? []), ...more];

  return (
    <Section title="Audit log" description="Every configuration change of this tenant: who, what, when. Secrets are never recorded." actions={<Button variant="secondary" onClick={list.reload} busy={list.loading && list.data !== undefined}>Refresh</Button>}>
      {list.error ? <ErrorState error={list.error} onRetry={list.reload} title="Could not load the audit log" /> : null}
      {list.loading && !list.data ? <Spinner label="Loading the audit log…" /> : null}
      {list.data && records.length === 0 ? <EmptyState title="Nothing recorded yet" /> : null}
      {records.length > 0 ? (
        <div className="table-wrap">
          <table className="table responsive" aria-label="Audit log">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => (
                <tr key={r.id}>
                  <td data-label="When">
                    <Time iso={r.created_at} />
                  </td>
                  <td data-label="Who">
                    {r.actor_type === 'operator' && r.actor_email ? (
                      <span title={r.actor}>{r.actor_email}</span>
                    ) : r.actor_type === 'admin_key' ? (
                      'Admin key'
                    ) : (
                      <code>{r.actor}</code>
                    )}
                  </td>
                  <td data-label="What">
                    <strong>{r.action}</strong>
                  </td>
                  <td data-label="Target">{r.target ? <CopyableId value={r.target} what={`target of ${r.action}`} /> : <span className="muted">—</span>}</td>
                  <td data-label="Details">
                    {Object.keys(r.details).length === 0 ? (
                      <span className="muted">—</span>
                    ) : (
                      <details>
                        <summary>Show</summary>
                        <pre className="json">{JSON.stringify(r.details, null, 2)}</pre>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {moreError ? <ErrorState error={moreError} onRetry={() => void loadMore()} title="Could not load older entries" /> : null}
      {cursor && !moreError ? (
        <Button variant="secondary" onClick={() => void loadMore()} busy={loadingMore}>
          Load older entries
        </Button>
      ) : null}
    </Section>
  );
}

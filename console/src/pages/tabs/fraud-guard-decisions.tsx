import { useState } from 'react';
import type { DecisionQuery, FraudDecision } from '../../api/types.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { Button, EmptyState, ErrorState, Section, SelectField, Spinner, StatusBadge, Time } from '../../components/ui.js';
import { Figures, KeyCell, lengthText, RuleCell } from './fraud-guard-blocks.js';

const PAGE = 25;
type Action = NonNullable<DecisionQuery['action']>;

function ended(d: FraudDecision, now: number): string {
  if (d.lifted_at) return 'lifted';
  return new Date(d.expires_at).getTime() > now ? 'in force' : 'ended';
}

/** Every block and would-block, newest first, paged with the server's cursor. `version` changes after a lift. */
export function DecisionLog({ tenantId, version }: { tenantId: string; version: number }) {
  const api = useApi();
  const [action, setAction] = useState<Action | ''>('');
  const [more, setMore] = useState<FraudDecision[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const [now, setNow] = useState(() => Date.now());

  const query = (c?: string): DecisionQuery => ({ limit: PAGE, ...(action ? { action } : {}), ...(c ? { cursor: c } : {}) });
  const list = useAsync(
    async (signal) => {
      const page = await api.call('GET /v1/fraud-guard/decisions', { tenant: tenantId, query: query(), signal });
      setMore([]);
      setMoreError(null);
      setCursor(page.next_cursor);
      setNow(Date.now());
      return page.items;
    },
    [api, tenantId, action, version],
  );
  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.call('GET /v1/fraud-guard/decisions', { tenant: tenantId, query: query(cursor) });
      setMore((m) => [...m, ...page.items]);
      setCursor(page.next_cursor);
    } catch (err) {
      setMoreError(err);
    } finally {
      setLoadingMore(false);
    }
  };
  const items = [...(list.data ?? []), ...more];

  return (
    <Section
      title="Decision log"
      description="Every block, and every would-block recorded in record_only, newest first, including ended and lifted ones."
      actions={
        <div className="inline-form compact">
          <SelectField
            label="Action"
            id="fg-decision-action"
            value={action}
            onChange={(e) => setAction(e.target.value as Action | '')}
            addon={
              <Button variant="secondary" onClick={list.reload} busy={list.loading && list.data !== undefined}>
                Refresh
              </Button>
            }
          >
            <option value="">Blocks and would-blocks</option>
            <option value="block">Blocks</option>
            <option value="would_block">Would-blocks</option>
          </SelectField>
        </div>
      }
    >
      {list.error ? <ErrorState error={list.error} onRetry={list.reload} title="Could not load the decisions" /> : null}
      {list.loading && !list.data ? <Spinner label="Loading the decisions…" /> : null}
      {list.data && items.length === 0 ? (
        <EmptyState title={action === 'block' ? 'No blocks recorded' : action === 'would_block' ? 'No would-blocks recorded' : 'No decisions recorded'}>
          {action === 'would_block' ? 'Would-blocks are recorded while the guard is in record_only.' : 'The guard has not blocked anything for this tenant.'}
        </EmptyState>
      ) : null}
      {items.length > 0 ? (
        <div className="table-wrap">
          <table className="table responsive" aria-label="Decision log">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Key</th>
                <th scope="col">Rule</th>
                <th scope="col">Reason</th>
                <th scope="col">Ends</th>
                <th scope="col">Refused</th>
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr key={d.id}>
                  <td data-label="When">
                    <Time iso={d.created_at} />
                  </td>
                  <td data-label="Action">
                    <div>
                      <StatusBadge status={d.action === 'block' ? 'block' : 'would-block'} />
                    </div>
                  </td>
                  <td data-label="Key">
                    <KeyCell d={d} />
                  </td>
                  <td data-label="Rule">
                    <RuleCell rule={d.rule} />
                  </td>
                  <td data-label="Reason">
                    <div>
                      <span className="reason">{d.reason}</span>
                      <Figures d={d} />
                    </div>
                  </td>
                  <td data-label="Ends">
                    <div>
                      {d.lifted_at ? (
                        <>
                          lifted <Time iso={d.lifted_at} />
                          {d.lifted_by ? (
                            <>
                              <br />
                              <span className="muted small">by {d.lifted_by}</span>
                            </>
                          ) : null}
                        </>
                      ) : (
                        <>
                          <Time iso={d.expires_at} />
                          <br />
                          <span className="muted small">
                            {ended(d, now)} · {lengthText(d)}
                          </span>
                        </>
                      )}
                    </div>
                  </td>
                  <td data-label={d.action === 'block' ? 'Refused' : 'Would refuse'}>{d.hits}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {moreError ? <ErrorState error={moreError} onRetry={() => void loadMore()} title="Could not load older decisions" /> : null}
      {cursor && !moreError ? (
        <Button variant="secondary" onClick={() => void loadMore()} busy={loadingMore}>
          Load older decisions
        </Button>
      ) : null}
    </Section>
  );
}

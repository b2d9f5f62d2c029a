import { Fragment, useState } from 'react';
import type { FraudDecision, FraudMode } from '../../api/types.js';
import { errorText, isApiError } from '../../api/client.js';
import { useApi } from '../../session.js';
import { useAsync, usePoll } from '../../components/hooks.js';
import { Alert, Button, EmptyState, ErrorState, Section, Spinner, Time } from '../../components/ui.js';
import { kindLabels, ruleLabels } from '../../domain/fraud-guard.js';

/** The server answers at most this many blocks (src/services/fraud-guard.ts listBlocks). */
const SERVER_LIMIT = 500;
const REFRESH_MS = 30_000;

/** "in 14 min", "in 2 h 5 min", from now to `iso`. */
export function untilText(iso: string, now: number): string {
  const min = Math.ceil((new Date(iso).getTime() - now) / 60_000);
  if (min <= 0) return 'ended';
  if (min < 60) return `in ${min} min`;
  const h = Math.floor(min / 60);
  return `in ${h} h${min % 60 ? ` ${min % 60} min` : ''}`;
}

/** Length of a decision's block: "15 min", "1 h 30 min". */
export function lengthText(d: FraudDecision): string {
  const min = Math.round((new Date(d.expires_at).getTime() - new Date(d.created_at).getTime()) / 60_000);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
}

export function Figures({ d }: { d: FraudDecision }) {
  const entries = Object.entries(d.figures);
  if (entries.length === 0) return null;
  return (
    <details className="figures">
      <summary>Figures</summary>
      <dl className="kv compact">
        {entries.map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k.replace(/_/g, ' ')}</dt>
            <dd>{Number.isInteger(v) ? v : Math.round(v * 1000) / 1000}</dd>
          </Fragment>
        ))}
      </dl>
    </details>
  );
}

/** One element per cell: a stacked table (at 390 px) lays out each child of a cell as a grid item. */
export function RuleCell({ rule }: { rule: string }) {
  return (
    <div>
      {ruleLabels[rule] ?? rule}
      <br />
      <code className="muted small">{rule}</code>
    </div>
  );
}

export function KeyCell({ d }: { d: FraudDecision }) {
  return (
    <div>
      <span className="muted small">{kindLabels[d.kind] ?? d.kind}</span>
      <br />
      <code className="key-code">{d.key}</code>
    </div>
  );
}

/**
 * Blocks in force, as the server lists them. A Lift (after a confirmation) is followed by a
 * fresh read of the list, so a row goes away only once the server no longer has it.
 */
export function ActiveBlocks({ tenantId, mode, onLifted }: { tenantId: string; mode: FraudMode; onLifted(): void }) {
  const api = useApi();
  const blocks = useAsync((signal) => api.call('GET /v1/fraud-guard/blocks', { tenant: tenantId, signal }), [api, tenantId]);
  const [now, setNow] = useState(() => Date.now());
  const [confirming, setConfirming] = useState<string | null>(null);
  const [lifting, setLifting] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<{ ok: true; key: string } | { ok: false; error: unknown } | null>(null);
  // Blocks end on their own: the list is read again every 30 s, and "ends in" follows the clock.
  usePoll(
    async () => {
      setNow(Date.now());
      blocks.reload();
    },
    REFRESH_MS,
    true,
  );

  const lift = async (d: FraudDecision) => {
    setLifting(d.id);
    setOutcome(null);
    try {
      await api.call('DELETE /v1/fraud-guard/blocks/{id}', { tenant: tenantId, params: { id: d.id } });
      setOutcome({ ok: true, key: d.key });
    } catch (err) {
      setOutcome({ ok: false, error: err });
    } finally {
      setConfirming(null);
      setLifting(null);
      // Either way the server's list is the truth (a 404 means it already ended or was lifted).
      setNow(Date.now());
      blocks.reload();
      onLifted();
    }
  };

  const items = blocks.data?.items ?? [];
  const live = items.filter((d) => new Date(d.expires_at).getTime() > now);

  return (
    <Section
      title="Active blocks"
      description="Keys the guard blocks now, why, and until when. Lifting a block ends it at once on every node."
      actions={
        <Button variant="secondary" onClick={() => { setNow(Date.now()); blocks.reload(); }} busy={blocks.loading && blocks.data !== undefined}>
          Refresh
        </Button>
      }
    >
      {mode !== 'enforce' && live.length > 0 ? (
        <Alert kind="warning">
          The guard is in <strong>{mode}</strong>: these blocks refuse no sends while it is.
        </Alert>
      ) : null}
      {outcome?.ok ? (
        <Alert kind="success" onDismiss={() => setOutcome(null)}>
          The block of <code>{outcome.key}</code> was lifted.
        </Alert>
      ) : null}
      {outcome && !outcome.ok ? (
        <Alert kind="error" title="Not lifted" onDismiss={() => setOutcome(null)}>
          <p>{isApiError(outcome.error) && outcome.error.code === 'fraud.block_not_found' ? 'The block had already ended or been lifted. The list below is read again from the server.' : errorText(outcome.error)}</p>
        </Alert>
      ) : null}
      {blocks.error ? <ErrorState error={blocks.error} onRetry={blocks.reload} title="Could not load the blocks" /> : null}
      {blocks.loading && !blocks.data ? <Spinner label="Loading the blocks…" /> : null}
      {blocks.data && live.length === 0 ? (
        <EmptyState title="No active blocks">{mode === 'off' ? 'The guard is off: no rule runs.' : 'No country, prefix or client IP is blocked now.'}</EmptyState>
      ) : null}
      {live.length > 0 ? (
        <div className="table-wrap">
          <table className="table responsive" aria-label="Active blocks">
            <thead>
              <tr>
                <th scope="col">Blocked</th>
                <th scope="col">Rule</th>
                <th scope="col">Reason</th>
                <th scope="col">Ends</th>
                <th scope="col">Refused</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {live.map((d) => (
                <tr key={d.id} data-block-id={d.id}>
                  <td data-label="Blocked">
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
                      <Time iso={d.expires_at} />
                      <br />
                      <span className="muted small">
                        {untilText(d.expires_at, now)} · {lengthText(d)} block{d.level > 0 ? `, repeat ${d.level}` : ''}
                      </span>
                    </div>
                  </td>
                  <td data-label="Refused">
                    {d.hits} {d.hits === 1 ? 'send' : 'sends'}
                  </td>
                  <td data-label="Actions" className="actions-cell">
                    <div>
                      {confirming === d.id ? (
                        <span className="confirm">
                          <span className="small">Lift? Sends to {d.key} are accepted again.</span>
                          <Button variant="danger" onClick={() => void lift(d)} busy={lifting === d.id} aria-label={`Confirm lifting the block of ${d.key}`}>
                            Lift
                          </Button>
                          <Button variant="ghost" onClick={() => setConfirming(null)} disabled={lifting === d.id}>
                            Cancel
                          </Button>
                        </span>
                      ) : (
                        <Button variant="secondary" onClick={() => setConfirming(d.id)} aria-label={`Lift the block of ${d.key}`}>
                          Lift…
                        </Button>
                      )}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {items.length >= SERVER_LIMIT ? <p className="muted small">The server lists the {SERVER_LIMIT} newest blocks; older ones may be in force too.</p> : null}
    </Section>
  );
}

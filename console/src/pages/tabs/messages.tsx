import { useEffect, useMemo, useState, type ChangeEvent, type FormEvent } from 'react';
import { messageStatuses, type AttemptView, type MessageQuery, type MessageView } from '../../api/types.js';
import { navigate, useSearch } from '../../router.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { Button, CopyableId, EmptyState, ErrorState, issuesByPath, Section, SelectField, Spinner, StatusBadge, TextField, Time } from '../../components/ui.js';
import { builtInPurposes } from '../../domain/template.js';
import type { TabProps } from '../tenant.js';
import { ProviderErrorRows, ProviderMessage } from '../../components/provider-error.js';
import { sendsReceipts } from '../../domain/providers.js';
import { useReceiptKinds } from '../../provider-kinds.js';

/** The filters as they stand in the address (`?status=failed&from=2026-12-01`): a reload or Back keeps them. */
const filterKeys = ['status', 'kind', 'purpose', 'provider', 'phone_prefix', 'phone_suffix', 'from', 'to'] as const;
type Filters = Record<(typeof filterKeys)[number], string>;
const emptyFilters: Filters = { status: '', kind: '', purpose: '', provider: '', phone_prefix: '', phone_suffix: '', from: '', to: '' };

function filtersOf(search: string): Filters {
  const q = new URLSearchParams(search);
  const f = { ...emptyFilters };
  for (const k of filterKeys) f[k] = q.get(k) ?? '';
  return f;
}

function filterQuery(f: Filters): Omit<MessageQuery, 'limit' | 'cursor'> {
  const out: Record<string, string> = {};
  for (const k of filterKeys) if (f[k].trim()) out[k] = f[k].trim();
  return out as Omit<MessageQuery, 'limit' | 'cursor'>;
}

/** Attempts through more than one provider, or more than one slot of the chain, are a failover (as the CSV's `failover`). */
export function isFailover(attempts: readonly AttemptView[]): boolean {
  return new Set(attempts.map((a) => a.provider)).size > 1 || new Set(attempts.map((a) => a.slot)).size > 1;
}

const PAGE = 25;
/**
 * A filtered read looks at a window of the log (docs/operations.md, "The message log"), so a page
 * may come back short with more to read: the tab reads on, up to this many reads per click.
 */
const MAX_READS = 10;

export function MessagesTab({ tenant }: TabProps) {
  const api = useApi();
  const search = useSearch();
  const params = new URLSearchParams(search);
  const focusId = params.get('id');
  const applied = useMemo(() => filtersOf(search), [search]);
  const appliedKey = JSON.stringify(applied);
  const [draft, setDraft] = useState<Filters>(applied);
  const [more, setMore] = useState<MessageView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);

  // Back and Forward change the address: the form follows it.
  useEffect(() => setDraft(applied), [appliedKey]); // eslint-disable-line react-hooks/exhaustive-deps

  /** Pages from `from` on, until PAGE messages, the end of the log, or MAX_READS reads. */
  const readOn = async (from: string | null, signal?: AbortSignal) => {
    const items: MessageView[] = [];
    let next = from;
    let reads = 0;
    do {
      const page = await api.call('GET /v1/messages', { tenant: tenant.id, query: { limit: PAGE - items.length, ...filterQuery(applied), ...(next ? { cursor: next } : {}) }, signal });
      items.push(...page.items);
      next = page.next_cursor;
      reads++;
    } while (next && items.length < PAGE && reads < MAX_READS);
    return { items, next };
  };

  const list = useAsync(
    async (signal) => {
      const { items, next } = await readOn(null, signal);
      setMore([]);
      setCursor(next);
      return items;
    },
    [api, tenant.id, appliedKey],
  );

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const { items, next } = await readOn(cursor);
      setMore((m) => [...m, ...items]);
      setCursor(next);
    } catch (err) {
      setMoreError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  /** Puts the filters in the address (a new history entry, so Back returns to the previous ones). */
  const apply = (e?: FormEvent, next: Filters = draft) => {
    e?.preventDefault();
    const q = new URLSearchParams(filterQuery(next) as Record<string, string>).toString();
    const path = window.location.pathname.replace(/^.*?\/tenants\//, '/tenants/');
    if (q !== new URLSearchParams(filterQuery(applied) as Record<string, string>).toString()) navigate(`${path}${q ? `?${q}` : ''}`, { keepScroll: true });
    else list.reload();
  };
  const clear = () => {
    setDraft(emptyFilters);
    apply(undefined, emptyFilters);
  };

  const exportCsv = async () => {
    setExporting(true);
    setExportError(null);
    try {
      const csv = await api.call('GET /v1/messages.csv', { tenant: tenant.id, query: filterQuery(applied) });
      const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `messages-${tenant.id}-${new Date().toISOString().slice(0, 10)}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setExportError(err);
    } finally {
      setExporting(false);
    }
  };

  const messages = [...(list.data ?? []), ...more];
  const filtered = filterKeys.some((k) => applied[k] !== '');
  const issues = issuesByPath(list.error);
  const select = (key: 'status' | 'kind', value: string) => {
    const next = { ...draft, [key]: value };
    setDraft(next);
    apply(undefined, next);
  };
  const text = (key: (typeof filterKeys)[number]) => ({ value: draft[key], onChange: (e: ChangeEvent<HTMLInputElement>) => setDraft({ ...draft, [key]: e.target.value }), error: issues[key] });

  return (
    <div>
      <Section
        title="Messages"
        description="Every SMS of this tenant, newest first, with each attempt and its delivery status. Codes are masked."
        actions={
          <>
            <Button variant="secondary" onClick={() => void exportCsv()} busy={exporting}>
              Export CSV
            </Button>
            <Button variant="secondary" onClick={list.reload} busy={list.loading && list.data !== undefined}>
              Refresh
            </Button>
          </>
        }
      >
        <form className="filters" onSubmit={(e) => apply(e)} noValidate aria-label="Message filters">
          <SelectField label="Status" id="msg-status" value={draft.status} onChange={(e) => select('status', e.target.value)}>
            <option value="">Any status</option>
            {messageStatuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </SelectField>
          <SelectField label="Kind" id="msg-kind" value={draft.kind} onChange={(e) => select('kind', e.target.value)}>
            <option value="">Any kind</option>
            <option value="otp">Passcode</option>
            <option value="event">Event</option>
            <option value="test">Test</option>
          </SelectField>
          <TextField label="Purpose" id="msg-purpose" list="msg-purposes" placeholder="login" spellCheck={false} {...text('purpose')} />
          <datalist id="msg-purposes">
            {builtInPurposes.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
          <TextField label="Provider" id="msg-provider" placeholder="Twilio" spellCheck={false} {...text('provider')} />
          <TextField label="Number starts with" id="msg-phone-prefix" type="tel" placeholder="+4477" {...text('phone_prefix')} />
          <TextField label="Number ends with" id="msg-phone-suffix" inputMode="numeric" placeholder="2671" {...text('phone_suffix')} />
          <TextField label="From (UTC)" id="msg-from" type="date" {...text('from')} />
          <TextField label="To (UTC, inclusive)" id="msg-to" type="date" {...text('to')} />
          <div className="filter-actions">
            <Button type="submit">Apply filters</Button>
            {filtered ? (
              <Button variant="ghost" onClick={clear}>
                Clear
              </Button>
            ) : null}
          </div>
        </form>
        {exportError ? <ErrorState error={exportError} title="Could not export" /> : null}
        {list.error ? <ErrorState error={list.error} onRetry={list.reload} title="Could not load the messages" /> : null}
        {list.loading && list.data === undefined ? <Spinner label="Loading messages…" /> : null}
        {list.data && messages.length === 0 ? (
          cursor ? (
            <EmptyState title="No message matches these filters in the part of the log searched so far">
              <p>A filtered search reads the log newest first, a part at a time, so that a busy log does not hold up sending. Search older messages to go on, or narrow the dates.</p>
            </EmptyState>
          ) : (
            <EmptyState title={filtered ? 'No message matches these filters' : 'No messages yet'}>
              <p>{filtered ? 'Change or clear the filters.' : 'Send a test SMS, or call POST /v1/otp/send with one of this tenant’s API keys.'}</p>
            </EmptyState>
          )
        ) : null}
        {messages.length > 0 ? (
          <div className="table-wrap">
            <table className="table responsive message-table" aria-label="Messages">
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">To</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">
                    <span className="sr-only">Details</span>
                  </th>
                </tr>
              </thead>
              {messages.map((m) => (
                <MessageItem key={m.id} message={m} initiallyOpen={m.id === focusId} tenantId={tenant.id} />
              ))}
            </table>
          </div>
        ) : null}
        {moreError ? <ErrorState error={moreError} onRetry={() => void loadMore()} /> : null}
        {cursor ? (
          <Button variant="secondary" onClick={() => void loadMore()} busy={loadingMore}>
            {messages.length === 0 ? 'Search older messages' : 'Load older messages'}
          </Button>
        ) : null}
      </Section>
    </div>
  );
}

const LIVE = new Set(['queued', 'sending', 'sent']);
const WATCH_MS = 120_000;

/**
 * One message. While it is open and not final (queued, sending, or sent through a provider
 * that sends delivery receipts), it is re-read every few seconds, so a receipt shows up as it
 * arrives.
 */
function MessageItem({ message, initiallyOpen, tenantId }: { message: MessageView; initiallyOpen: boolean; tenantId: string }) {
  const api = useApi();
  const [open, setOpen] = useState(initiallyOpen);
  const [fresh, setFresh] = useState<MessageView | null>(null);
  const m = fresh && fresh.id === message.id && fresh.updated_at >= message.updated_at ? fresh : message;
  const receiptKinds = useReceiptKinds();
  const receipts = sendsReceipts(m.provider, receiptKinds);
  const watch = open && LIVE.has(m.status) && (m.status !== 'sent' || receipts);

  useEffect(() => {
    if (!watch) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const until = Date.now() + WATCH_MS;
    const tick = async () => {
      try {
        const next = await api.call('GET /v1/messages/{id}', { tenant: tenantId, params: { id: message.id } });
        if (stopped) return;
        setFresh(next);
      } catch {
        // The list's Refresh shows errors; a failed re-read just waits for the next one.
      }
      if (!stopped && Date.now() < until) timer = setTimeout(() => void tick(), 3_000);
    };
    timer = setTimeout(() => void tick(), 3_000);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, tenantId, message.id, watch]);

  const attempts = m.attempt_log ?? [];
  const panelId = `msg-${m.id}-attempts`;
  const failover = isFailover(attempts);
  return (
    <tbody className={`message-row status-${m.status}`} data-message-id={m.id}>
      <tr className="message-summary">
        <td data-label="Created">
          <Time iso={m.created_at} />
        </td>
        <td data-label="To">
          <strong className="mono">{m.to}</strong>
        </td>
        <td data-label="Kind">{m.kind === 'otp' ? `passcode · ${m.purpose ?? ''}` : m.kind}</td>
        <td data-label="Status">
          <div>
            <StatusBadge status={m.status} />
          </div>
        </td>
        <td data-label="Provider">
          <div>
            {m.provider ?? <span className="muted">—</span>}
            {failover ? (
              <>
                {' '}
                <span className="badge badge-failover" title={`Providers tried: ${attempts.map((a) => `${a.provider} (${a.slot})`).join(' → ')}`} data-testid="failover">
                  failover
                </span>
              </>
            ) : null}
          </div>
        </td>
        <td data-label="Attempts">{m.attempts}</td>
        <td data-label="Details" className="actions-cell">
          <Button variant="ghost" className="toggle" aria-expanded={open} aria-controls={panelId} onClick={() => setOpen(!open)}>
            {open ? 'Hide' : 'Show'} attempts ({attempts.length})
          </Button>
        </td>
      </tr>
      {open ? (
        <tr className="message-detail">
          <td colSpan={7} id={panelId}>
      <p className="message-body">{m.body}</p>
      <dl className="kv compact message-meta">
        <dt>Message id</dt>
        <dd>
          <CopyableId value={m.id} what="message id" />
        </dd>
        <dt>Created</dt>
        <dd>
          <Time iso={m.created_at} />
        </dd>
        <dt>Provider</dt>
        <dd>{m.provider ?? <span className="muted">—</span>}</dd>
        <dt>Encoding</dt>
        <dd>
          {m.encoding} · {m.segments} segment{m.segments === 1 ? '' : 's'}
        </dd>
        {m.delivered_at ? (
          <>
            <dt>Delivered</dt>
            <dd>
              <Time iso={m.delivered_at} />
            </dd>
          </>
        ) : m.sent_at ? (
          <>
            <dt>Sent</dt>
            <dd>
              <Time iso={m.sent_at} />
            </dd>
          </>
        ) : null}
        {m.next_attempt_at ? (
          <>
            <dt>Next attempt</dt>
            <dd>
              <Time iso={m.next_attempt_at} />
            </dd>
          </>
        ) : null}
        {m.error && (m.error.kind || m.error.code || m.error.message) ? (
          <>
            <dt>{m.status === 'failed' || m.status === 'undelivered' ? 'Why it failed' : 'Last error'}</dt>
            <dd>
              {[m.error.kind, m.error.code].filter(Boolean).join(' · ')}
              {m.error.message ? (
                <>
                  {m.error.kind || m.error.code ? ' — ' : ''}
                  <ProviderMessage message={m.error.message} />
                </>
              ) : null}
            </dd>
          </>
        ) : null}
      </dl>
        <div className="timeline-wrap">
          {attempts.length === 0 ? (
            <p className="muted">No attempt yet: the message is {m.status}.</p>
          ) : (
            <ol className="timeline" aria-label={`Attempts for the message to ${m.to}`}>
              {attempts.map((a) => (
                <li key={a.attempt} className={`timeline-item outcome-${a.outcome}`} data-testid={`attempt-${a.attempt}`}>
                  <div className="timeline-head">
                    <strong>
                      Attempt {a.attempt}: {a.provider}
                    </strong>
                    <span className="muted small">({a.slot})</span>
                    <StatusBadge status={a.outcome} />
                  </div>
                  <dl className="kv compact">
                    <dt>Started</dt>
                    <dd>
                      <Time iso={a.started_at} />
                    </dd>
                    <dt>Latency</dt>
                    <dd>{a.latency_ms} ms</dd>
                    {a.provider_message_id ? (
                      <>
                        <dt>Provider message id</dt>
                        <dd>
                          <CopyableId value={a.provider_message_id} what={`provider message id of attempt ${a.attempt}`} />
                        </dd>
                      </>
                    ) : null}
                    {a.outcome === 'failed' || a.error_kind ? <ProviderErrorRows kind={a.error_kind} providerCode={a.provider_code} httpStatus={a.http_status} message={a.error_message} explain /> : null}
                  </dl>
                </li>
              ))}
              <li className={`timeline-item timeline-delivery status-${m.status}`} data-testid="delivery">
                <div className="timeline-head">
                  <strong>Delivery</strong>
                  <StatusBadge status={m.status} />
                  {watch ? <span className="spinner" role="status" aria-label="Watching for the delivery receipt" /> : null}
                </div>
                <p className="muted small">
                  {m.status === 'delivered'
                    ? 'The provider reported the message delivered to the phone.'
                    : m.status === 'sent'
                      ? receipts
                        ? 'Accepted by the provider; no delivery receipt yet.'
                        : `Accepted by the provider. ${m.provider ?? 'This provider'} sends no delivery receipts, so this is final.`
                      : m.status === 'undelivered'
                        ? 'The provider reported it could not deliver the message.'
                        : m.status === 'failed'
                          ? 'Every attempt failed, or the code expired before one succeeded.'
                          : 'Waiting for the next attempt.'}
                </p>
              </li>
            </ol>
          )}
        </div>
          </td>
        </tr>
      ) : null}
    </tbody>
  );
}

import { useEffect, useState, type FormEvent } from 'react';
import { messageStatuses, type MessageQuery, type MessageStatus, type MessageView } from '../../api/types.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { Button, CopyableId, EmptyState, ErrorState, Section, SelectField, Spinner, StatusBadge, TextField, Time } from '../../components/ui.js';
import { builtInPurposes } from '../../domain/template.js';
import type { TabProps } from '../tenant.js';
import { ProviderErrorRows, ProviderMessage } from '../../components/provider-error.js';
import { sendsReceipts } from '../../domain/providers.js';
import { useReceiptKinds } from '../../provider-kinds.js';

interface Filters {
  status: MessageStatus | '';
  phone_number: string;
  purpose: string;
  kind: MessageQuery['kind'] | '';
}

const PAGE = 25;

export function MessagesTab({ tenant }: TabProps) {
  const api = useApi();
  const focusId = new URLSearchParams(window.location.search).get('id');
  const [draft, setDraft] = useState<Filters>({ status: '', phone_number: '', purpose: '', kind: '' });
  const [applied, setApplied] = useState<Filters>(draft);
  const [more, setMore] = useState<MessageView[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);

  const query = (f: Filters, c?: string): MessageQuery => ({
    limit: PAGE,
    ...(f.status ? { status: f.status } : {}),
    ...(f.phone_number.trim() ? { phone_number: f.phone_number.trim() } : {}),
    ...(f.purpose.trim() ? { purpose: f.purpose.trim() } : {}),
    ...(f.kind ? { kind: f.kind } : {}),
    ...(c ? { cursor: c } : {}),
  });

  const list = useAsync(
    async (signal) => {
      const page = await api.call('GET /v1/messages', { tenant: tenant.id, query: query(applied), signal });
      setMore([]);
      setCursor(page.next_cursor);
      return page.items;
    },
    [api, tenant.id, applied],
  );

  const loadMore = async () => {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await api.call('GET /v1/messages', { tenant: tenant.id, query: query(applied, cursor) });
      setMore((m) => [...m, ...page.items]);
      setCursor(page.next_cursor);
    } catch (err) {
      setMoreError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  const apply = (e?: FormEvent, next: Filters = draft) => {
    e?.preventDefault();
    setApplied({ ...next });
  };
  const clear = () => {
    const empty: Filters = { status: '', phone_number: '', purpose: '', kind: '' };
    setDraft(empty);
    setApplied(empty);
  };

  const messages = [...(list.data ?? []), ...more];
  const filtered = Object.values(applied).some((v) => v !== '');

  return (
    <div>
      <Section title="Messages" description="Every SMS of this tenant, newest first, with each attempt and its delivery status. Codes are masked." actions={<Button variant="secondary" onClick={list.reload} busy={list.loading && list.data !== undefined}>Refresh</Button>}>
        <form className="filters" onSubmit={(e) => apply(e)} noValidate aria-label="Message filters">
          <SelectField
            label="Status"
            id="msg-status"
            value={draft.status}
            onChange={(e) => {
              const next = { ...draft, status: e.target.value as Filters['status'] };
              setDraft(next);
              apply(undefined, next);
            }}
          >
            <option value="">Any status</option>
            {messageStatuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </SelectField>
          <TextField label="Phone number" id="msg-phone" type="tel" value={draft.phone_number} onChange={(e) => setDraft({ ...draft, phone_number: e.target.value })} placeholder="+15551234567" />
          <TextField label="Purpose" id="msg-purpose" value={draft.purpose} list="msg-purposes" onChange={(e) => setDraft({ ...draft, purpose: e.target.value })} placeholder="login" spellCheck={false} />
          <datalist id="msg-purposes">
            {builtInPurposes.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
          <SelectField
            label="Kind"
            id="msg-kind"
            value={draft.kind}
            onChange={(e) => {
              const next = { ...draft, kind: e.target.value as Filters['kind'] };
              setDraft(next);
              apply(undefined, next);
            }}
          >
            <option value="">Any kind</option>
            <option value="otp">Passcode</option>
            <option value="event">Event</option>
            <option value="test">Test</option>
          </SelectField>
          <div className="filter-actions">
            <Button type="submit">Apply filters</Button>
            {filtered ? (
              <Button variant="ghost" onClick={clear}>
                Clear
              </Button>
            ) : null}
          </div>
        </form>
        {list.error ? <ErrorState error={list.error} onRetry={list.reload} title="Could not load the messages" /> : null}
        {list.loading && list.data === undefined ? <Spinner label="Loading messages…" /> : null}
        {list.data && messages.length === 0 ? (
          <EmptyState title={filtered ? 'No message matches these filters' : 'No messages yet'}>
            <p>{filtered ? 'Change or clear the filters.' : 'Send a test SMS, or call POST /v1/otp/send with one of this tenant’s API keys.'}</p>
          </EmptyState>
        ) : null}
        <ol className="message-list" aria-label="Messages">
          {messages.map((m) => (
            <MessageItem key={m.id} message={m} initiallyOpen={m.id === focusId} tenantId={tenant.id} />
          ))}
        </ol>
        {moreError ? <ErrorState error={moreError} onRetry={() => void loadMore()} /> : null}
        {cursor ? (
          <Button variant="secondary" onClick={() => void loadMore()} busy={loadingMore}>
            Load older messages
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
  return (
    <li className={`message status-${m.status}`} data-message-id={m.id}>
      <div className="message-head">
        <div className="message-to">
          <strong>{m.to}</strong>
          <span className="muted small">{m.kind === 'otp' ? `passcode · ${m.purpose ?? ''}` : m.kind}</span>
        </div>
        <StatusBadge status={m.status} />
      </div>
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
      <Button variant="ghost" className="toggle" aria-expanded={open} aria-controls={panelId} onClick={() => setOpen(!open)}>
        {open ? 'Hide' : 'Show'} attempts ({attempts.length})
      </Button>
      {open ? (
        <div id={panelId} className="timeline-wrap">
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
      ) : null}
    </li>
  );
}

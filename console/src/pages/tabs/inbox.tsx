import { useEffect, useState } from 'react';
import type { InboxItem } from '../../api/types.js';
import { errorText } from '../../api/client.js';
import { useApi } from '../../session.js';
import { usePoll } from '../../components/hooks.js';
import { Button, CopyButton, EmptyState, Section, Spinner, TextField, Time } from '../../components/ui.js';
import { Link } from '../../router.js';
import type { TabProps } from '../tenant.js';

const POLL_MS = 2_000;

const CODE_RUN = /(\b\d{4,10}\b)/;

/** Splits a body into text and the code-like digit runs, so codes stand out. */
function highlight(body: string) {
  const parts = body.split(CODE_RUN);
  return parts.map((p, i) => (i % 2 === 1 ? <mark key={i} className="code">{p}</mark> : <span key={i}>{p}</span>));
}

export function InboxTab({ tenant }: TabProps) {
  const api = useApi();
  const [items, setItems] = useState<InboxItem[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  /** What is typed in the filter field, and the filter in use (set by pressing Filter only). */
  const [phone, setPhone] = useState('');
  const [applied, setApplied] = useState('');
  const [live, setLive] = useState(true);
  const [lastAt, setLastAt] = useState<Date | null>(null);
  /** The page ended before the tenant's oldest item (a search by number reads a window of 5,000). */
  const [more, setMore] = useState(false);

  const load = async (filter = applied) => {
    try {
      const page = await api.call('GET /v1/inbox', { tenant: tenant.id, query: { limit: 50, ...(filter ? { phone_number: filter } : {}) } });
      setItems(page.items);
      setMore(page.next_cursor !== null);
      setError(null);
      setLastAt(new Date());
    } catch (err) {
      setError(err);
    }
  };

  // First load at once, then every 2 s while live.
  usePoll(load, POLL_MS, live);
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tenant.id]);

  return (
    <Section
      title="Inbox"
      description={
        <>
          Messages sent through the <strong>Inbox</strong> provider land here with their codes, instead of on a phone: for development. Choose “Inbox” in{' '}
          <Link to={`/tenants/${encodeURIComponent(tenant.id)}/provider`}>SMS provider</Link> to use it.
        </>
      }
      actions={
        <div className="live-toggle">
          <span className={`live-dot${live ? ' on' : ''}`} aria-hidden="true" />
          <span className="small">{live ? 'Live: refreshed every 2 s' : 'Paused'}</span>
          <Button variant="secondary" onClick={() => setLive(!live)} aria-pressed={!live}>
            {live ? 'Pause' : 'Resume'}
          </Button>
        </div>
      }
    >
      <form
        className="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          const next = phone.trim();
          setApplied(next);
          void load(next);
        }}
        noValidate
        aria-label="Inbox filter"
      >
        <TextField
          label="Phone number (optional)"
          id="inbox-phone"
          type="tel"
          value={phone}
          onChange={(e) => setPhone(e.target.value)}
          placeholder="+15551234567"
          help={applied ? <>Showing only messages to <strong data-testid="inbox-filter">{applied}</strong>. Empty the field and press Filter to see all.</> : 'Only messages to this number.'}
          addon={
            <Button type="submit" variant="secondary">
              Filter
            </Button>
          }
        />
      </form>
      {error ? (
        <p className="field-error" role="alert">
          Could not refresh the inbox: {errorText(error)}
        </p>
      ) : null}
      {items === null && !error ? <Spinner label="Loading the inbox…" /> : null}
      {items && items.length === 0 ? (
        <EmptyState title={applied ? (more ? `No message to ${applied} among the newest 5,000` : `No message to ${applied}`) : 'The inbox is empty'}>
          <p>
            {applied && more ? 'A search by number looks through the newest 5,000 messages of this tenant; older ones are not searched here. ' : null}
            Send a passcode or a test SMS to this tenant while its provider is Inbox; it shows up here within 2 seconds.
          </p>
        </EmptyState>
      ) : null}
      {items && items.length > 0 ? (
        <ol className="inbox" aria-label="Inbox messages" aria-live="polite">
          {items.map((m) => (
            <li key={m.id} className="inbox-item">
              <div className="inbox-head">
                <strong>{m.to}</strong>
                <Time iso={m.created_at} />
              </div>
              <p className="inbox-body">{highlight(m.body)}</p>
              {CODE_RUN.exec(m.body) ? <CopyButton text={CODE_RUN.exec(m.body)![1]!} what={`code sent to ${m.to}`} label="Copy code" /> : null}
            </li>
          ))}
        </ol>
      ) : null}
      {lastAt ? <p className="muted small">Last refreshed {lastAt.toLocaleTimeString()}</p> : null}
    </Section>
  );
}

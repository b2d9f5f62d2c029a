import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { MessageView, TestSmsResult } from '../../api/types.js';
import { errorText } from '../../api/client.js';
import { useApi } from '../../session.js';
import { Alert, Button, CopyButton, CopyableId, ErrorState, Section, Spinner, StatusBadge, TextField, Time, issuesByPath } from '../../components/ui.js';
import { Link } from '../../router.js';
import { ProviderErrorRows } from '../../components/provider-error.js';
import { errorKindText, sendsReceipts } from '../../domain/providers.js';
import { useReceiptKinds } from '../../provider-kinds.js';
import type { TabProps } from '../tenant.js';

const FINAL = new Set(['delivered', 'undelivered', 'failed']);
/** How long to wait for a delivery receipt before saying none came, ms. */
const RECEIPT_WAIT_MS = 120_000;
const POLL_MS = 2_000;

export function TestSmsTab({ tenant }: TabProps) {
  const api = useApi();
  const [phone, setPhone] = useState('');
  const [phoneError, setPhoneError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<TestSmsResult | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const p = phone.trim();
    if (!/^\+?[\d\s().-]{6,20}$/.test(p)) {
      setPhoneError('Enter a phone number in international format, such as +15551234567.');
      return;
    }
    setPhoneError(null);
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await api.call('POST /v1/sms-provider/test', { tenant: tenant.id, body: { phone_number: p } }));
    } catch (err) {
      setPhoneError(issuesByPath(err)['phone_number'] ?? null);
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <Section title="Send a test SMS" description="Sends a short test message now through the saved provider configuration and shows what the provider answered. It also appears in the message log.">
        <form className="inline-form" onSubmit={(e) => void submit(e)} noValidate>
          <TextField
            label="Phone number"
            id="test-phone"
            type="tel"
            autoComplete="tel"
            inputMode="tel"
            placeholder="+15551234567"
            value={phone}
            onChange={(e) => setPhone(e.target.value)}
            error={phoneError}
            help="International format with the country code."
            required
            addon={
              <Button type="submit" busy={busy}>
                {busy ? 'Sending…' : 'Send test SMS'}
              </Button>
            }
          />
        </form>
      </Section>
      <div aria-live="polite">
        {error && !phoneError ? <ErrorState error={error} title="The test SMS was not sent" /> : null}
        {result ? <TestResult tenantId={tenant.id} result={result} /> : null}
      </div>
    </div>
  );
}

export function TestResult({ tenantId, result }: { tenantId: string; result: TestSmsResult }) {
  const accepted = result.status === 'accepted';
  const why = result.error ? errorKindText[result.error.kind] : undefined;
  return (
    <Section title="Provider's answer" headingLevel={3}>
      <Alert kind={accepted ? 'success' : 'error'} title={accepted ? 'Accepted by the provider' : `${result.provider} refused the test SMS`}>
        {!accepted && result.error ? (
          <div data-testid="refusal-explained">
            {why ? <p>{why.meaning}</p> : null}
            <p className="small">
              A test SMS tries the primary provider once{why ? `; a passcode ${why.next}` : '. The message log shows what a passcode would try next.'}
            </p>
          </div>
        ) : null}
      </Alert>
      <dl className="kv" data-testid="test-result">
        <dt>Status</dt>
        <dd>
          <StatusBadge status={result.status} />
        </dd>
        <dt>Provider</dt>
        <dd>{result.provider}</dd>
        <dt>Provider message id</dt>
        <dd>{result.provider_message_id ? <CopyableId value={result.provider_message_id} what="provider message id" /> : <span className="muted">none returned</span>}</dd>
        <dt>Latency</dt>
        <dd>{result.latency_ms} ms</dd>
        <dt>Segments</dt>
        <dd>{result.segments}</dd>
        {result.error ? <ProviderErrorRows kind={result.error.kind} providerCode={result.error.provider_code} httpStatus={result.error.http_status} message={result.error.message} /> : null}
        <dt>In the message log</dt>
        <dd>
          <span className="copyable">
            <Link to={`/tenants/${encodeURIComponent(tenantId)}/messages?id=${encodeURIComponent(result.message_id)}`}>
              <code>{result.message_id}</code>
            </Link>
            <CopyButton text={result.message_id} what="message id" />
          </span>
        </dd>
      </dl>
      {accepted ? <DeliveryStatus tenantId={tenantId} messageId={result.message_id} provider={result.provider} receipt={result.receipt} /> : null}
    </Section>
  );
}

/** Why no delivery receipt will follow a test SMS, said at once (the server's `receipt`). */
function noReceiptReason(provider: string, receipt: TestSmsResult['receipt']): string {
  if (receipt === 'no_public_url') return `otpgate asks ${provider} for delivery receipts at its public URL (OTPGATE_PUBLIC_URL), which this server does not set, so none was asked for`;
  if (receipt === 'unsaved_config') return 'a test through unsaved settings asks for no delivery receipt (receipts are checked with the saved settings)';
  return `${provider} sends no delivery receipts`;
}

/**
 * The delivery status of the test SMS. When a receipt was asked for, polls the message until a
 * receipt makes it final (or we stop waiting); otherwise "sent" is already final, and it says
 * why at once.
 */
function DeliveryStatus({ tenantId, messageId, provider, receipt }: { tenantId: string; messageId: string; provider: string; receipt: TestSmsResult['receipt'] }) {
  const api = useApi();
  const receiptKinds = useReceiptKinds();
  // A server that does not say: whether the kind is asked for receipts.
  const receipts = receipt === undefined ? sendsReceipts(provider, receiptKinds) : receipt === 'requested';
  const [message, setMessage] = useState<MessageView | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [gaveUp, setGaveUp] = useState(false);
  const started = useRef(Date.now());

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    started.current = Date.now();
    const tick = async () => {
      try {
        const m = await api.call('GET /v1/messages/{id}', { tenant: tenantId, params: { id: messageId } });
        if (stopped) return;
        setMessage(m);
        setError(null);
        if (FINAL.has(m.status) || !receipts) return;
      } catch (err) {
        if (stopped) return;
        setError(err);
        if (!receipts) return;
      }
      if (Date.now() - started.current > RECEIPT_WAIT_MS) {
        setGaveUp(true);
        return;
      }
      timer = setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, tenantId, messageId, receipts]);

  const final = message !== null && FINAL.has(message.status);
  const noReceipt = message !== null && !final && !receipts;
  return (
    <div className="delivery" data-testid="delivery-status" data-final={final || noReceipt ? 'true' : 'false'}>
      <h4>Delivery status</h4>
      {message ? (
        <p>
          <StatusBadge status={message.status} />{' '}
          {message.status === 'delivered' ? (
            <>
              to the phone, <Time iso={message.delivered_at} />, says {provider}’s delivery receipt
            </>
          ) : message.status === 'undelivered' ? (
            'the provider’s delivery receipt says it was not delivered'
          ) : message.status === 'sent' ? (
            receipts ? 'accepted by the provider; waiting for its delivery receipt' : 'accepted by the provider'
          ) : null}
          {message.error?.message ? <span className="muted"> — {message.error.message}</span> : null}
        </p>
      ) : null}
      {noReceipt ? (
        <p className="final-note" data-testid="no-receipts">
          Final: {noReceiptReason(provider, receipt)}, so “{message.status}” is as far as otpgate can follow this message. Check the phone to see it arrived.
        </p>
      ) : null}
      {receipts && !final && !gaveUp ? <Spinner label={`Watching for ${provider}’s delivery receipt…`} /> : null}
      {!message && !receipts && !error ? <Spinner label="Loading the message…" /> : null}
      {receipts && gaveUp && !final ? (
        <p className="muted">
          No delivery receipt after {Math.round(RECEIPT_WAIT_MS / 60_000)} minutes. {provider} posts receipts to otpgate’s public URL (OTPGATE_PUBLIC_URL), which it must be able to reach; check the message log later.
        </p>
      ) : null}
      {error ? <p className="field-error">{errorText(error)}</p> : null}
    </div>
  );
}

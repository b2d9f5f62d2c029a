import { useState } from 'react';
import type { StatsBucket, StatsWindow } from '../../api/types.js';
import { useApi } from '../../session.js';
import { useAsync } from '../../components/hooks.js';
import { Button, ErrorState, Section, SelectField, Spinner } from '../../components/ui.js';
import { TimeChart } from '../../components/charts.js';
import { Link } from '../../router.js';
import type { TabProps } from '../tenant.js';
import { sendsReceipts } from '../../domain/providers.js';
import { useReceiptKinds } from '../../provider-kinds.js';

const pct = (v: number) => `${Math.round(v)}%`;
const count = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}k` : String(Math.round(v * 10) / 10));
const ms = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const ratio = (a: number, b: number) => (b > 0 ? (100 * a) / b : null);
const challengesOf = (b: StatsBucket) => b.challenges ?? b.verifies ?? 0;

export function DashboardTab({ tenant }: TabProps) {
  const api = useApi();
  const receiptKinds = useReceiptKinds();
  const [win, setWin] = useState<StatsWindow>('24h');
  const stats = useAsync((signal) => api.call('GET /v1/stats', { tenant: tenant.id, query: { window: win }, signal }), [api, tenant.id, win]);
  // Which providers the tenant uses, to tell "0% delivered" from "no receipts to count".
  const providerConfig = useAsync((signal) => api.call('GET /cis/v1/tenantsmsproviders', { tenant: tenant.id, signal }).catch(() => null), [api, tenant.id]);
  const providerKinds = useAsync((signal) => api.call('GET /v1/provider-kinds', { signal }).catch(() => null), [api]);
  const base = `/tenants/${encodeURIComponent(tenant.id)}`;

  const buckets = stats.data?.buckets ?? [];
  const times = buckets.map((b) => new Date(b.start));
  const sum = (f: (b: StatsBucket) => number) => buckets.reduce((s, b) => s + f(b), 0);
  const sends = sum((b) => b.sends);
  const sent = sum((b) => b.sent);
  const delivered = sum((b) => b.delivered);
  // The delivery rate's base: accepted messages whose provider was asked for a receipt (a
  // server that does not count them: every accepted message).
  const expected = sum((b) => b.receipts_expected ?? b.sent);
  const failed = sum((b) => b.failed);
  const challenges = sum(challengesOf);
  const verified = sum((b) => b.verified);
  const latencyN = sum((b) => (b.avg_provider_latency_ms === null ? 0 : (b.attempts ?? 1)));
  const latencyAvg = latencyN > 0 ? sum((b) => (b.avg_provider_latency_ms === null ? 0 : b.avg_provider_latency_ms * (b.attempts ?? 1))) / latencyN : null;
  const providers = [...new Set(buckets.flatMap((b) => Object.keys(b.latency_by_provider ?? {})))];
  const cfg = providerConfig.data;
  const kindsInUse = [...new Set([...providers, ...(cfg ? [cfg.provider, cfg.fallback?.provider] : [])].filter((k): k is string => !!k))];
  // Receipts can arrive when a provider in use sends them (or some already did).
  const receiptsPossible = delivered > 0 || expected > 0 || kindsInUse.some((k) => sendsReceipts(k, receiptKinds));
  const noReceiptKinds = kindsInUse.filter((k) => k !== 'Default' && !sendsReceipts(k, receiptKinds)).join(', ');
  // Kinds in use that send receipts, but are not asked for them: the server has no public URL.
  const unasked = kindsInUse.filter((k) => !sendsReceipts(k, receiptKinds) && providerKinds.data?.items.find((x) => x.id === k)?.receipts_supported === true).join(', ');
  const noReceiptsWhy = unasked
    ? `${unasked} send${unasked.includes(',') ? '' : 's'} delivery receipts only to a callback URL, and this server has no OTPGATE_PUBLIC_URL to give`
    : noReceiptKinds
      ? `${noReceiptKinds} send${noReceiptKinds.includes(',') ? '' : 's'} no delivery receipts`
      : 'the providers in use send no delivery receipts';
  const tones = ['s-blue', 's-orange', 's-purple', 's-teal'];

  return (
    <div>
      <Section
        title="Dashboard"
        description="Sends, delivery, verify conversion and provider latency for this tenant."
        actions={
          <div className="inline-form compact">
            <SelectField
              label="Time window"
              id="dash-window"
              value={win}
              onChange={(e) => setWin(e.target.value as StatsWindow)}
              addon={
                <Button variant="secondary" onClick={stats.reload} busy={stats.loading && stats.data !== undefined}>
                  Refresh
                </Button>
              }
            >
              <option value="1h">Last hour</option>
              <option value="24h">Last 24 hours</option>
              <option value="7d">Last 7 days</option>
            </SelectField>
          </div>
        }
      >
        {stats.error ? <ErrorState error={stats.error} onRetry={stats.reload} title="Could not load the statistics" /> : null}
        {stats.loading && !stats.data ? <Spinner label="Loading statistics…" /> : null}
        {stats.data ? (
          <>
            <dl className="stat-cards">
              <div className="stat">
                <dt>Messages</dt>
                <dd>{sends}</dd>
                <dd className="muted small stat-note">{failed} failed</dd>
              </div>
              <div className="stat">
                <dt>Accepted by provider</dt>
                <dd>{sends ? pct((100 * sent) / sends) : '—'}</dd>
                <dd className="muted small stat-note">{sent} of {sends}</dd>
              </div>
              <div className="stat" data-testid="delivery-rate">
                <dt>Delivery rate</dt>
                {receiptsPossible ? (
                  <>
                    <dd>{expected ? pct((100 * delivered) / expected) : '—'}</dd>
                    <dd className="muted small stat-note">
                      {delivered} of {expected} accepted confirmed delivered by a receipt
                      {sent > expected ? ` (${sent - expected} more went through providers that send none)` : ''}
                    </dd>
                  </>
                ) : (
                  <>
                    <dd className="stat-none">no receipts</dd>
                    <dd className="muted small stat-note">{noReceiptsWhy}</dd>
                  </>
                )}
              </div>
              <div className="stat">
                <dt>Verify conversion</dt>
                <dd>{challenges ? pct((100 * verified) / challenges) : '—'}</dd>
                <dd className="muted small stat-note">
                  {verified} of {challenges} codes verified
                </dd>
              </div>
              <div className="stat">
                <dt>Provider latency</dt>
                <dd>{latencyAvg === null ? '—' : ms(latencyAvg)}</dd>
                <dd className="muted small stat-note">average per attempt</dd>
              </div>
            </dl>
            {sends === 0 && challenges === 0 ? (
              <p className="muted">
                No traffic in this window yet. <Link to={`${base}/test-sms`}>Send a test SMS</Link> or create an <Link to={`${base}/api-keys`}>API key</Link> for your application.
              </p>
            ) : null}
            <div className="charts">
              <TimeChart
                title="Sends"
                description="Messages enqueued per interval, by outcome"
                kind="bars"
                times={times}
                integer
                minYMax={4}
                format={count}
                series={[
                  { name: 'Delivered', tone: 's-green', values: buckets.map((b) => b.delivered) },
                  { name: 'Sent (no receipt)', tone: 's-blue', values: buckets.map((b) => Math.max(0, b.sent - b.delivered - (b.undelivered ?? 0))) },
                  { name: 'Undelivered', tone: 's-orange', values: buckets.map((b) => b.undelivered ?? 0) },
                  { name: 'Failed', tone: 's-red', values: buckets.map((b) => b.failed) },
                  { name: 'Pending', tone: 's-grey', values: buckets.map((b) => Math.max(0, b.sends - b.sent - b.failed)) },
                ]}
              />
              <TimeChart
                title="Delivery rate"
                description={
                  receiptsPossible
                    ? 'Accepted: share of the messages a provider accepted. Delivered: share of those asked for a receipt that a delivery receipt confirmed (the Delivery rate above).'
                    : `Share of the messages a provider accepted. No delivery rate: ${noReceiptsWhy}.`
                }
                kind="lines"
                times={times}
                yMax={100}
                format={pct}
                summary={receiptsPossible ? undefined : 'no receipts'}
                series={[
                  { name: 'Accepted (of messages)', tone: 's-blue', values: buckets.map((b) => ratio(b.sent, b.sends)) },
                  ...(receiptsPossible ? [{ name: 'Delivered (of accepted)', tone: 's-green', values: buckets.map((b) => ratio(b.delivered, b.receipts_expected ?? b.sent)) }] : []),
                ]}
              />
              <TimeChart
                title="Verify conversion"
                description="Share of passcodes sent that were verified"
                kind="lines"
                times={times}
                yMax={100}
                format={pct}
                series={[{ name: 'Verified', tone: 's-purple', values: buckets.map((b) => ratio(b.verified, challengesOf(b))) }]}
              />
              <TimeChart
                title="Provider latency"
                description="Average time a provider took to answer an attempt"
                kind="lines"
                times={times}
                integer
                minYMax={4}
                format={ms}
                series={
                  providers.length > 1
                    ? providers.map((p, i) => ({ name: p, tone: tones[i % tones.length] ?? 's-blue', values: buckets.map((b) => b.latency_by_provider?.[p] ?? null) }))
                    : [{ name: providers[0] ?? 'All providers', tone: 's-orange', values: buckets.map((b) => b.avg_provider_latency_ms) }]
                }
              />
            </div>
          </>
        ) : null}
      </Section>
    </div>
  );
}

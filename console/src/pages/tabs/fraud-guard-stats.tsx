import type { BudgetSettings, BudgetUse, FraudStats, FraudStatsRow, FraudStatsWindow } from '../../api/types.js';
import type { AsyncState } from '../../components/hooks.js';
import { CategoryChart } from '../../components/charts.js';
import { Button, EmptyState, ErrorState, Section, SelectField, Spinner, Time } from '../../components/ui.js';

/** Countries drawn in the charts (the table lists them all). */
const CHART_COUNTRIES = 12;

export const money = (v: number) => v.toLocaleString('en', { minimumFractionDigits: 2, maximumFractionDigits: 4 });
const int = (v: number) => v.toLocaleString('en');
const pct = (v: number) => `${Math.round(v)}%`;
const conversionText = (c: number | null) => (c === null ? '—' : `${Math.round(c * 1000) / 10}%`);

const windowLabels: Record<FraudStatsWindow, string> = { '24h': 'Last 24 hours', '7d': 'Last 7 days', '30d': 'Last 30 days' };

/** Used vs limit as a bar with a percentage; without a limit, the use alone (no bar). */
function UsageRow({ period, label, used, limit, format }: { period: string; label: string; used: number; limit: number | undefined; format: (v: number) => string }) {
  const name = `${period} ${label.toLowerCase()}`;
  if (limit === undefined) {
    return (
      <div className="usage" data-testid={`usage-${name}`}>
        <div className="usage-head">
          <span className="strong">{label}</span>
          <span>
            {format(used)} <span className="muted">· no limit set</span>
          </span>
        </div>
      </div>
    );
  }
  const share = limit > 0 ? (100 * used) / limit : 0;
  const tone = share >= 100 ? 'over' : share >= 80 ? 'warn' : 'ok';
  return (
    <div className="usage" data-testid={`usage-${name}`}>
      <div className="usage-head">
        <span className="strong">{label}</span>
        <span>
          {format(used)} of {format(limit)} <strong className={`usage-pct usage-${tone}`}>{pct(Math.floor(share))}</strong>
        </span>
      </div>
      <div className="usage-bar" role="meter" aria-label={`${name}: ${format(used)} of ${format(limit)}`} aria-valuemin={0} aria-valuemax={limit} aria-valuenow={Math.min(used, limit)}>
        <div className={`usage-fill usage-${tone}`} style={{ width: `${Math.min(100, share)}%` }} />
      </div>
    </div>
  );
}

function PeriodUse({ title, use, messages, spend }: { title: string; use: BudgetUse; messages: number | undefined; spend: number | undefined }) {
  return (
    <div className="usage-period">
      <h3>{title}</h3>
      <p className="muted small">
        <Time iso={use.start} /> to <Time iso={use.end} /> (UTC)
      </p>
      <UsageRow period={title} label="Messages" used={use.messages} limit={messages} format={int} />
      <UsageRow period={title} label="Spend" used={use.spend} limit={spend} format={money} />
    </div>
  );
}

export function BudgetUseSection({ stats }: { stats: AsyncState<FraudStats> }) {
  const b = stats.data?.budget;
  const limits: BudgetSettings = b?.limits ?? {};
  return (
    <Section title="Budget use" description="Messages and spend of the current UTC day and month against the tenant’s budgets. A send that would pass a budget is refused.">
      {stats.error && !stats.data ? <ErrorState error={stats.error} onRetry={stats.reload} title="Could not load the budget use" /> : null}
      {stats.loading && !stats.data ? <Spinner label="Loading the budget use…" /> : null}
      {b ? (
        <div className="grid-2">
          <PeriodUse title="Today" use={b.day} messages={limits.daily_messages} spend={limits.daily_spend} />
          <PeriodUse title="This month" use={b.month} messages={limits.monthly_messages} spend={limits.monthly_spend} />
        </div>
      ) : null}
    </Section>
  );
}

function StatsTable({ label, keyLabel, rows }: { label: string; keyLabel: string; rows: Array<{ key: string } & FraudStatsRow> }) {
  return (
    <div className="table-wrap">
      <table className="table responsive stats-table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">{keyLabel}</th>
            <th scope="col">Sent</th>
            <th scope="col">Verified</th>
            <th scope="col">Conversion</th>
            <th scope="col">Segments</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key} data-key={r.key}>
              <th scope="row" data-label={keyLabel}>
                <code>{r.key}</code>
              </th>
              <td data-label="Sent" data-col="sent">
                {int(r.sent)}
              </td>
              <td data-label="Verified">{int(r.verified)}</td>
              <td data-label="Conversion">{conversionText(r.conversion)}</td>
              <td data-label="Segments">{int(r.segments)}</td>
              <td data-label="Cost">{money(r.cost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ConversionSection({ stats, win, onWindow }: { stats: AsyncState<FraudStats>; win: FraudStatsWindow; onWindow(w: FraudStatsWindow): void }) {
  const s = stats.data;
  const countries = [...(s?.countries ?? [])].sort((a, b) => b.sent - a.sent || b.cost - a.cost || a.country.localeCompare(b.country));
  const prefixes = [...(s?.prefixes ?? [])].sort((a, b) => b.sent - a.sent || a.prefix.localeCompare(b.prefix));
  const charted = countries.slice(0, CHART_COUNTRIES);
  const totalCost = countries.reduce((t, r) => t + r.cost, 0);
  const totalSent = countries.reduce((t, r) => t + r.sent, 0);
  return (
    <Section
      title="Conversion and cost"
      description="Codes sent and verified per destination country and per number range, with their segments and cost (segments × SMS prices). Counted while the guard is not off."
      actions={
        <div className="inline-form compact">
          <SelectField
            label="Time window"
            id="fg-window"
            value={win}
            onChange={(e) => onWindow(e.target.value as FraudStatsWindow)}
            addon={
              <Button variant="secondary" onClick={stats.reload} busy={stats.loading && stats.data !== undefined}>
                Refresh
              </Button>
            }
          >
            {Object.entries(windowLabels).map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </SelectField>
        </div>
      }
    >
      {stats.error ? <ErrorState error={stats.error} onRetry={stats.reload} title="Could not load the statistics" /> : null}
      {stats.loading && !s ? <Spinner label="Loading the statistics…" /> : null}
      {s ? (
        <>
          <p className="muted small">
            Since <Time iso={s.since} />: {int(totalSent)} codes sent, cost {money(totalCost)}.
          </p>
          {countries.length === 0 ? (
            <EmptyState title="No codes counted in this window">Sends are counted per country and number range while the guard is in enforce or record_only.</EmptyState>
          ) : (
            <>
              <div className="charts">
                <CategoryChart
                  title="Conversion per country"
                  description={`Share of the codes sent that were verified${countries.length > CHART_COUNTRIES ? `, the ${CHART_COUNTRIES} countries with the most codes` : ''}`}
                  kind="points"
                  categories={charted.map((r) => r.country)}
                  yMax={100}
                  format={pct}
                  series={[{ name: 'Verified', tone: 's-purple', values: charted.map((r) => (r.conversion === null ? null : r.conversion * 100)) }]}
                />
                <CategoryChart
                  title="Cost per country"
                  description={`Segments × SMS prices${countries.length > CHART_COUNTRIES ? `, the ${CHART_COUNTRIES} countries with the most codes` : ''}`}
                  kind="bars"
                  categories={charted.map((r) => r.country)}
                  format={money}
                  series={[{ name: 'Cost', tone: 's-orange', values: charted.map((r) => r.cost) }]}
                />
              </div>
              <h3 className="table-title">Per country</h3>
              <StatsTable label="Per country" keyLabel="Country" rows={countries.map(({ country, ...r }) => ({ key: country, ...r }))} />
              <h3 className="table-title">Per prefix</h3>
              {prefixes.length === 0 ? (
                <p className="muted">No number range counted in this window.</p>
              ) : (
                <StatsTable label="Per prefix" keyLabel="Prefix" rows={prefixes.map(({ prefix, ...r }) => ({ key: prefix, ...r }))} />
              )}
              {prefixes.length >= 100 ? <p className="muted small">The server lists the 100 prefixes with the most codes sent.</p> : null}
            </>
          )}
        </>
      ) : null}
    </Section>
  );
}

import { useEffect, useRef, useState, type ReactNode, type RefObject } from 'react';

/**
 * Small inline-SVG time charts (no chart library): stacked bars or lines over time buckets.
 * The SVG is drawn at the container's real pixel width so text stays legible on a phone.
 */

export interface Series {
  name: string;
  /** One value per bucket; null = no data (a gap in a line). */
  values: (number | null)[];
  /** CSS class setting the colour (`s-blue`, `s-green` …). */
  tone: string;
}

function useWidth<T extends HTMLElement>(): [RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const update = () => setWidth(Math.max(240, Math.floor(el.clientWidth)));
    update();
    const ro = new ResizeObserver(update);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

/** A y axis with about 4 round steps (1, 2 or 5 × 10^k) covering `dataMax`. */
function niceAxis(dataMax: number, minMax: number, integer: boolean): number[] {
  const target = Math.max(dataMax, minMax, integer ? 1 : Number.MIN_VALUE);
  let raw = target / 4;
  if (integer) raw = Math.max(1, raw);
  const exp = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * exp).find((x) => x >= raw - 1e-9) ?? 10 * exp;
  const top = Math.max(step, Math.ceil(target / step - 1e-9) * step);
  const ticks: number[] = [];
  for (let t = 0; t <= top + step / 2; t += step) ticks.push(Math.round(t * 1e6) / 1e6);
  return ticks;
}

function tickLabel(d: Date, spanMs: number): string {
  if (spanMs > 2 * 86_400_000) return d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' }) + ' ' + d.toLocaleTimeString(undefined, { hour: '2-digit' });
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function TimeChart(props: {
  title: string;
  description: string;
  kind: 'bars' | 'lines';
  times: Date[];
  series: Series[];
  /** Fixed top of the y axis (100 for percentages); else from the data. */
  yMax?: number;
  /** Lowest top of a data-driven axis (so an empty or tiny chart still has sensible ticks). */
  minYMax?: number;
  /** Values are counts: ticks at whole numbers. */
  integer?: boolean;
  format: (v: number) => string;
  summary?: ReactNode;
}) {
  const { title, description, kind, times, series, format } = props;
  const [ref, width] = useWidth<HTMLDivElement>();
  const height = 200;
  const pad = { top: 12, right: 12, bottom: 26, left: 48 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = times.length;

  const totals = times.map((_, i) => series.reduce((s, x) => s + (x.values[i] ?? 0), 0));
  const dataMax = kind === 'bars' ? Math.max(0, ...totals) : Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null)));
  const yTicks = props.yMax !== undefined ? [0, 0.25, 0.5, 0.75, 1].map((f) => f * (props.yMax as number)) : niceAxis(dataMax, props.minYMax ?? 0, props.integer ?? false);
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const y = (v: number) => pad.top + plotH - (v / yMax) * plotH;
  const band = n > 0 ? plotW / n : plotW;
  const xMid = (i: number) => pad.left + band * i + band / 2;
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(plotW / 80))));
  const span = n > 1 ? (times[n - 1]?.getTime() ?? 0) - (times[0]?.getTime() ?? 0) : 0;
  const empty = series.every((s) => s.values.every((v) => v === null || v === 0));
  const ariaLabel = `${title}: ${description}. ${series.map((s) => `${s.name}: ${summarise(s.values, format)}`).join('; ')}.`;

  return (
    <figure className="chart">
      <figcaption>
        <span className="chart-title">{title}</span>
        {props.summary ? <span className="chart-summary">{props.summary}</span> : null}
      </figcaption>
      <p className="muted small chart-desc">{description}</p>
      <ul className="legend" aria-hidden="true">
        {series.map((s) => (
          <li key={s.name}>
            <span className={`swatch ${s.tone}`} />
            {s.name}
          </li>
        ))}
      </ul>
      <div ref={ref} className="chart-box">
        <svg width={width} height={height} role="img" aria-label={ariaLabel} className="chart-svg">
          {yTicks.map((t) => (
            <g key={t}>
              <line x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} className="grid" />
              <text x={pad.left - 6} y={y(t) + 4} textAnchor="end" className="axis">
                {format(t)}
              </text>
            </g>
          ))}
          {times.map((t, i) =>
            i % labelEvery === 0 ? (
              <text key={t.toISOString()} x={xMid(i)} y={height - 8} textAnchor="middle" className="axis">
                {tickLabel(t, span)}
              </text>
            ) : null,
          )}
          {kind === 'bars'
            ? times.map((t, i) => {
                let acc = 0;
                const w = Math.max(1, band * 0.7);
                return (
                  <g key={t.toISOString()}>
                    {series.map((s) => {
                      const v = s.values[i] ?? 0;
                      if (v <= 0) return null;
                      const y0 = y(acc);
                      acc += v;
                      const y1 = y(acc);
                      return (
                        <rect key={s.name} x={xMid(i) - w / 2} y={y1} width={w} height={Math.max(0.5, y0 - y1)} className={`bar ${s.tone}`}>
                          <title>{`${tickLabel(t, span)} · ${s.name}: ${format(v)}`}</title>
                        </rect>
                      );
                    })}
                  </g>
                );
              })
            : series.map((s) => (
                <g key={s.name} className={`line ${s.tone}`} data-series={s.name}>
                  <path d={linePath(s.values, xMid, y, Math.min(16, Math.max(8, band * 0.6)))} fill="none" />
                  {s.values.map((v, i) =>
                    v === null ? null : (
                      <circle key={i} cx={xMid(i)} cy={y(v)} r={isolated(s.values, i) ? 4 : n > 60 ? 1.5 : 2.5}>
                        <title>{`${tickLabel(times[i] ?? new Date(0), span)} · ${s.name}: ${format(v)}`}</title>
                      </circle>
                    ),
                  )}
                </g>
              ))}
          {kind === 'lines'
            ? lastLabels(series, xMid, y, pad.left, width - pad.right).map((l) => (
                <g key={l.name} className={`line ${l.tone}`}>
                  <text x={l.x} y={l.y} textAnchor={l.anchor} className="point-label">
                    {format(l.value)}
                  </text>
                </g>
              ))
            : null}
          {empty ? (
            <text x={pad.left + plotW / 2} y={pad.top + plotH / 2} textAnchor="middle" className="empty-text">
              No data in this window
            </text>
          ) : null}
        </svg>
      </div>
      <details className="chart-table">
        <summary>Data table</summary>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                {series.map((s) => (
                  <th scope="col" key={s.name}>
                    {s.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {times.map((t, i) => (
                <tr key={t.toISOString()}>
                  <th scope="row">{t.toLocaleString()}</th>
                  {series.map((s) => (
                    <td key={s.name}>{s.values[i] === null || s.values[i] === undefined ? '—' : format(s.values[i] as number)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

/** A value with no neighbour on either side: a line cannot be drawn through it. */
function isolated(values: (number | null)[], i: number): boolean {
  return values[i] !== null && values[i] !== undefined && (values[i - 1] ?? null) === null && (values[i + 1] ?? null) === null;
}

/**
 * The SVG path through a series; a gap (null) lifts the pen. A point with no neighbour (one
 * bucket of data) gets a short level segment of `lone` px, so it is visible as a line too.
 */
export function linePath(values: (number | null)[], x: (i: number) => number, y: (v: number) => number, lone = 12): string {
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    if (isolated(values, i)) {
      d += `M${(x(i) - lone / 2).toFixed(1)},${y(v).toFixed(1)}L${(x(i) + lone / 2).toFixed(1)},${y(v).toFixed(1)}`;
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

/**
 * A label with the latest value of each line, beside its last point (to the left when the
 * point is near the right edge), nudged apart when two would overlap.
 */
function lastLabels(series: Series[], x: (i: number) => number, y: (v: number) => number, left: number, right: number) {
  const out: { name: string; tone: string; value: number; x: number; y: number; anchor: 'start' | 'end' }[] = [];
  for (const s of series) {
    let i = s.values.length - 1;
    while (i >= 0 && (s.values[i] ?? null) === null) i--;
    if (i < 0) continue;
    const value = s.values[i] as number;
    const px = x(i);
    const nearRight = px > right - 48;
    out.push({ name: s.name, tone: s.tone, value, x: nearRight ? px - 10 : Math.max(left + 4, px + 10), y: y(value) - 7, anchor: nearRight ? 'end' : 'start' });
  }
  out.sort((a, b) => a.y - b.y);
  for (let k = 1; k < out.length; k++) {
    const prev = out[k - 1] as (typeof out)[number];
    const cur = out[k] as (typeof out)[number];
    if (Math.abs(cur.x - prev.x) < 60 && cur.y - prev.y < 13) cur.y = prev.y + 13;
  }
  for (const l of out) l.y = Math.max(11, l.y);
  return out;
}

function summarise(values: (number | null)[], format: (v: number) => string): string {
  const vs = values.filter((v): v is number => v !== null);
  if (vs.length === 0) return 'no data';
  return `from ${format(Math.min(...vs))} to ${format(Math.max(...vs))}, latest ${format(vs[vs.length - 1] as number)}`;
}

/**
 * Values per category (a country, a prefix) rather than per time: bars grouped by category, or
 * one point per category. A null value (nothing to measure, such as the conversion of a
 * country with no code sent) draws nothing and reads "no data".
 */
export function CategoryChart(props: {
  title: string;
  description: string;
  kind: 'bars' | 'points';
  categories: string[];
  series: Series[];
  yMax?: number;
  minYMax?: number;
  integer?: boolean;
  format: (v: number) => string;
  summary?: ReactNode;
}) {
  const { title, description, kind, categories, series, format } = props;
  const [ref, width] = useWidth<HTMLDivElement>();
  const height = 200;
  const pad = { top: 18, right: 12, bottom: 26, left: 48 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = categories.length;
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const yTicks = props.yMax !== undefined ? [0, 0.25, 0.5, 0.75, 1].map((f) => f * (props.yMax as number)) : niceAxis(Math.max(0, ...values), props.minYMax ?? 0, props.integer ?? false);
  const yMax = yTicks[yTicks.length - 1] ?? 1;
  const y = (v: number) => pad.top + plotH - (Math.min(v, yMax) / yMax) * plotH;
  const band = n > 0 ? plotW / n : plotW;
  const slot = (band * 0.8) / Math.max(1, series.length);
  const xOf = (i: number, k: number) => pad.left + band * i + band * 0.1 + slot * k + slot / 2;
  // Value labels only where they fit above their bar or point.
  const labelled = slot >= 26;
  // A zero is a measurement (0 % converted, nothing spent); only nulls are "no data".
  const empty = values.length === 0;
  const ariaLabel = `${title}: ${description}. ${categories
    .map((c, i) => `${c}: ${series.map((s) => `${s.name} ${s.values[i] === null || s.values[i] === undefined ? 'no data' : format(s.values[i] as number)}`).join(', ')}`)
    .join('; ')}.`;

  return (
    <figure className="chart">
      <figcaption>
        <span className="chart-title">{title}</span>
        {props.summary ? <span className="chart-summary">{props.summary}</span> : null}
      </figcaption>
      <p className="muted small chart-desc">{description}</p>
      <ul className="legend" aria-hidden="true">
        {series.map((s) => (
          <li key={s.name}>
            <span className={`swatch ${s.tone}`} />
            {s.name}
          </li>
        ))}
      </ul>
      <div ref={ref} className="chart-box">
        <svg width={width} height={height} role="img" aria-label={ariaLabel} className="chart-svg">
          {yTicks.map((t) => (
            <g key={t}>
              <line x1={pad.left} x2={width - pad.right} y1={y(t)} y2={y(t)} className="grid" />
              <text x={pad.left - 6} y={y(t) + 4} textAnchor="end" className="axis">
                {format(t)}
              </text>
            </g>
          ))}
          {categories.map((c, i) => (
            <text key={c} x={pad.left + band * i + band / 2} y={height - 8} textAnchor="middle" className="axis">
              {c}
            </text>
          ))}
          {series.map((s, k) => (
            <g key={s.name} className={kind === 'bars' ? s.tone : `line ${s.tone}`} data-series={s.name}>
              {categories.map((c, i) => {
                const v = s.values[i] ?? null;
                if (v === null) return null;
                const tip = <title>{`${c} · ${s.name}: ${format(v)}`}</title>;
                const label = labelled ? (
                  <text x={xOf(i, k)} y={y(v) - 5} textAnchor="middle" className="point-label">
                    {format(v)}
                  </text>
                ) : null;
                if (kind === 'points') {
                  return (
                    <g key={c}>
                      <circle cx={xOf(i, k)} cy={y(v)} r={4.5}>
                        {tip}
                      </circle>
                      {label}
                    </g>
                  );
                }
                if (v <= 0) return label;
                const w = Math.min(48, Math.max(1, slot * 0.9));
                return (
                  <g key={c}>
                    <rect x={xOf(i, k) - w / 2} y={y(v)} width={w} height={Math.max(0.5, y(0) - y(v))} className={`bar ${s.tone}`}>
                      {tip}
                    </rect>
                    {label}
                  </g>
                );
              })}
            </g>
          ))}
          {empty ? (
            <text x={pad.left + plotW / 2} y={pad.top + plotH / 2} textAnchor="middle" className="empty-text">
              No data in this window
            </text>
          ) : null}
        </svg>
      </div>
    </figure>
  );
}

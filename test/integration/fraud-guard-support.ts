import assert from 'node:assert/strict';
import type { TestApp } from '../helpers/app.js';

/**
 * Shared by the fraud-guard suites: sends, codes, metrics, and thresholds that keep every
 * tripwire out of the way except the one a test is about (the defaults are tuned by the
 * simulation in bench/, so no test relies on them).
 */

/** Every tripwire set so high (or so narrow) that it never fires in a test. */
export const quiet = Object.freeze({
  country_day: { floor: 1_000_000, ratio: 0 },
  country_hour: { floor: 1_000_000, ratio: 0 },
  prefix_hour: { floor: 100_000, ratio: 0 },
  prefix_day: { floor: 1_000_000, ratio: 0 },
  prefix_velocity: { numbers: 100, span: 1, window_minutes: 10 },
  ip_countries: { max: 250 },
  ip_day: { floor: 1_000_000, ratio: 0 },
  number_day: { max: 1000 },
});

type Thresholds = { [K in keyof typeof quiet]?: Partial<(typeof quiet)[K]> };

/**
 * `fraud_guard` settings: the quiet thresholds with `only` overriding the rules under test;
 * prefix_digits 3 and block_minutes 15 unless `rest` says otherwise.
 */
export function guard(only: Thresholds = {}, rest: Record<string, unknown> = {}): Record<string, unknown> {
  const thresholds: Record<string, unknown> = {};
  for (const [rule, value] of Object.entries(quiet)) thresholds[rule] = { ...value, ...(only as Record<string, object>)[rule] };
  return { mode: 'enforce', prefix_digits: 3, block_minutes: 15, ...rest, thresholds };
}

/** UK mobile numbers of one 1,000-number range (prefix `+447400123` with prefix_digits 3). */
export const gb = (suffix: number, range = '123') => `+447400${range}${String(suffix).padStart(3, '0')}`;
/** German mobile numbers (prefix `+4915112345` with prefix_digits 3). */
export const de = (suffix: number) => `+4915112345${String(suffix).padStart(3, '0')}`;
/** French mobile numbers. */
export const fr = (suffix: number) => `+336123456${String(suffix).padStart(2, '0')}`;

export interface Problem {
  code: string;
  status: number;
  rule?: string;
  block_id?: string;
  blocked_until?: string;
  issues?: Array<{ path: string; message: string }>;
  [k: string]: unknown;
}

export async function send(t: TestApp, auth: string, phone: string, extra: Record<string, unknown> = {}) {
  return t.call('POST', '/v1/otp/send', { auth, body: { phone_number: phone, ...extra } });
}

/** Sends and asserts 202; answers the challenge and message ids. */
export async function accepted(t: TestApp, auth: string, phone: string, extra: Record<string, unknown> = {}): Promise<{ challenge_id: string; message_id: string }> {
  const r = await send(t, auth, phone, extra);
  assert.equal(r.statusCode, 202, `${phone}: ${r.body}`);
  return r.json();
}

/** Sends and asserts the refusal; answers the problem body. */
export async function refused(t: TestApp, auth: string, phone: string, status: number, code: string, extra: Record<string, unknown> = {}): Promise<Problem> {
  const r = await send(t, auth, phone, extra);
  assert.equal(r.statusCode, status, `${phone}: ${r.body}`);
  const p = r.json<Problem>();
  assert.equal(p.code, code, r.body);
  return p;
}

/** Delivers the outbox and reads the code of the latest message to `phone` from the inbox. */
export async function codeFor(t: TestApp, auth: string, phone: string): Promise<string> {
  await t.drainOutbox();
  const inbox = await t.call('GET', `/v1/inbox?phone_number=${encodeURIComponent(phone)}`, { auth });
  const code = /(\d{6})/.exec(inbox.json<{ items: Array<{ body: string }> }>().items[0]?.body ?? '')?.[1];
  assert.ok(code, `no code in the inbox for ${phone}: ${inbox.body}`);
  return code;
}

/** Sends a code and verifies it. */
export async function sendAndVerify(t: TestApp, auth: string, phone: string, extra: Record<string, unknown> = {}): Promise<{ challenge_id: string; message_id: string; code: string }> {
  const s = await accepted(t, auth, phone, extra);
  const code = await codeFor(t, auth, phone);
  const v = await t.call('POST', '/v1/otp/verify', { auth, body: { challenge_id: s.challenge_id, code } });
  assert.equal(v.statusCode, 200, v.body);
  return { ...s, code };
}

export interface DecisionView {
  id: string;
  action: 'block' | 'would_block';
  kind: string;
  key: string;
  rule: string;
  reason: string;
  figures: Record<string, number>;
  level: number;
  hits: number;
  created_at: string;
  expires_at: string;
  lifted_at: string | null;
  lifted_by: string | null;
}

export async function blocks(t: TestApp, auth: string): Promise<DecisionView[]> {
  const r = await t.call('GET', '/v1/fraud-guard/blocks', { auth });
  assert.equal(r.statusCode, 200, r.body);
  return r.json<{ items: DecisionView[] }>().items;
}

export async function decisions(t: TestApp, auth: string, query = ''): Promise<DecisionView[]> {
  const r = await t.call('GET', `/v1/fraud-guard/decisions${query}`, { auth });
  assert.equal(r.statusCode, 200, r.body);
  return r.json<{ items: DecisionView[] }>().items;
}

/** Minutes a decision lasts. */
export function minutesOf(d: DecisionView): number {
  return (Date.parse(d.expires_at) - Date.parse(d.created_at)) / 60_000;
}

/** Rows of a table for one tenant (what a refused send must not add to). */
export async function rowsOf(t: TestApp, table: 'challenges' | 'messages' | 'fraud_counters' | 'fraud_budget_usage' | 'fraud_decisions', tenantId: string): Promise<number> {
  const r = await t.deps.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
  return Number(r.n);
}

// Metrics -------------------------------------------------------------------------------------

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function samples(page: string): Sample[] {
  const out: Sample[] = [];
  for (const line of page.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

export async function scrape(t: TestApp): Promise<string> {
  const r = await t.call('GET', '/metrics');
  assert.equal(r.statusCode, 200);
  return r.body;
}

/** The value of one sample (0 when absent). */
export function metric(page: string, name: string, labels: Record<string, string> = {}): number {
  const hits = samples(page).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(hits.length <= 1, `${name} ${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value ?? 0;
}

/** How much each sample of `name` moved between two scrapes, by its labels; samples that did not move are left out. */
export function moved(before: string, after: string, name: string): Record<string, number> {
  const key = (s: Sample) => Object.entries(s.labels).sort().map(([k, v]) => `${k}=${v}`).join(',');
  const b = new Map(samples(before).filter((s) => s.name === name).map((s) => [key(s), s.value]));
  const out: Record<string, number> = {};
  for (const s of samples(after).filter((x) => x.name === name)) {
    const d = s.value - (b.get(key(s)) ?? 0);
    if (d !== 0) out[key(s)] = d;
  }
  return out;
}

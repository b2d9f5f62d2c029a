import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { createManualClock } from '../../src/domain/clock.js';
import { isAppError } from '../../src/errors/app-error.js';
import { createLogger } from '../../src/observability/logger.js';
import type { ActiveTenant } from '../../src/services/tenant-service.js';
import { migrateToLatest } from '../../src/store/db.js';
import { findMessage } from '../../src/store/queries/messages.js';
import { attacks, createAttacker, kindOfRule, type Attacker, type Attempt, type ScenarioId } from './attacks.js';
import { emptyQueue, peek, pop, push, type EventQueue } from './heap.js';
import { DAY, DAYS, HOUR, MIN, planLegit, prices, SIM_START, WARMUP_DAYS, type LegitPlan } from './world.js';

/**
 * Runs one seed under one configuration: the 14 warm-up days once, then every scenario's 16
 * scored days from a copy of the warmed-up database, through the real services
 * (deps.otp.send / verify) with a manual clock. The dispatcher is never started.
 */

export type Configuration = 'guard' | 'caps';

export interface JobInput {
  seed: number;
  configuration: Configuration;
  volume: number;
  scenarios: ScenarioId[];
  /** fraud_guard settings for the `guard` configuration (mode enforce plus any overrides). */
  fraudGuard: Record<string, unknown>;
  /**
   * The guard's mode during the warm-up (`guard` configuration): `record_only`, as a tenant
   * turning the guard on would watch it first, or `enforce` from the first day (a cold start).
   */
  warmupMode: 'record_only' | 'enforce';
}

/** Refusal codes of the guard (what the targets count) and of the caps (reported apart). */
const guardCodes = new Set(['fraud.blocked', 'phone.number_type_blocked', 'phone.country_blocked', 'budget.exhausted']);
const capCodes = new Set(['otp.rate_limited', 'otp.resend_cooldown']);

export interface CountryLegit {
  users: number;
  refused: number;
  capped: number;
}

export interface LegitResult {
  users: number;
  refusedUsers: number;
  cappedUsers: number;
  sessions: number;
  refusedSessions: number;
  /** Refused sends by rule (guard) or code (caps and others). */
  refusalsBy: Record<string, number>;
  /** Refused sends by the blocked key (`c:GB`, `p:…`, `i:…`). */
  refusalsByKey: Record<string, number>;
  perCountry: Record<string, CountryLegit>;
  verified: number;
}

export interface FraudResult {
  attempts: number;
  accepted: number;
  acceptedCost: number;
  attemptCost: number;
  /** Minutes from the attack's start to its first `fraud.blocked`, null when none. */
  firstBlockMin: number | null;
  /** Minutes to its first refusal of any kind (the caps' too). */
  firstRefusalMin: number | null;
  refusalsBy: Record<string, number>;
  verified: number;
  countries: string[];
}

export interface ScenarioResult {
  scenario: ScenarioId;
  legit: LegitResult;
  fraud: FraudResult | null;
  /** Blocks made in the scored days, by rule. */
  blocksBy: Record<string, number>;
  /** Codes sent and verified per country in the scored days (guard configuration; attacks included). */
  conversion: Record<string, { sent: number; verified: number }>;
  seconds: number;
}

export interface JobResult {
  seed: number;
  configuration: Configuration;
  warmup: { legit: LegitResult; blocksBy: Record<string, number>; seconds: number };
  scenarios: ScenarioResult[];
}

interface SessionState {
  step: number;
  retried: boolean;
  challengeId: string | null;
  messageId: string | null;
}

/** Everything a run carries from the warm-up into each scenario, besides the database. */
interface SimState {
  queue: EventQueue;
  sessions: Record<number, SessionState>;
}

const ADMIN_KEY = 'adm_test_0123456789abcdefghijklmnop';
const SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

interface World {
  deps: Deps;
  clock: ReturnType<typeof createManualClock>;
  tenant: ActiveTenant;
}

async function openWorld(dbFile: string, dataDir: string, now: number, tenant: { settings: Record<string, unknown> } | { id: string; fraudGuard?: Record<string, unknown> }): Promise<World> {
  const config = loadConfig({
    OTPGATE_DATABASE_URL: `sqlite:${dbFile}`,
    OTPGATE_ADMIN_KEY: ADMIN_KEY,
    OTPGATE_SECRET_KEY: SECRET_KEY,
    OTPGATE_DATA_DIR: dataDir,
    OTPGATE_LOG_LEVEL: 'error',
  });
  const clock = createManualClock(now);
  const deps = createDeps(config, createLogger({ level: 'silent' }), { clock, processMetrics: false });
  await migrateToLatest(deps.store);
  let id: string;
  if ('settings' in tenant) id = (await deps.tenants.create({ name: 'Sim', settings: tenant.settings }, 'admin')).id;
  else {
    id = tenant.id;
    if (tenant.fraudGuard) await deps.tenants.update(id, { settings: { fraud_guard: tenant.fraudGuard } }, 'admin');
  }
  return { deps, clock, tenant: await deps.tenants.getActive(id) };
}

function emptyLegit(): LegitResult {
  return { users: 0, refusedUsers: 0, cappedUsers: 0, sessions: 0, refusedSessions: 0, refusalsBy: {}, refusalsByKey: {}, perCountry: {}, verified: 0 };
}

const inc = (r: Record<string, number>, k: string, by = 1) => {
  r[k] = (r[k] ?? 0) + by;
};

/** Collects what legitimate users saw from `from` on. */
function legitRecorder(plan: LegitPlan, from: number) {
  const users = new Map<number, { refused: boolean; capped: boolean }>();
  const sessions = new Map<number, boolean>();
  const result = emptyLegit();
  const blockIds: Record<string, number> = {};
  return {
    attempt(sessionId: number, userId: number, now: number) {
      if (now < from) return;
      if (!users.has(userId)) users.set(userId, { refused: false, capped: false });
      if (!sessions.has(sessionId)) sessions.set(sessionId, false);
    },
    refused(sessionId: number, userId: number, now: number, code: string, rule: string | undefined, blockId: string | undefined) {
      if (now < from) return;
      const u = users.get(userId)!;
      if (guardCodes.has(code)) {
        u.refused = true;
        sessions.set(sessionId, true);
        inc(result.refusalsBy, rule ?? code);
        if (blockId) inc(blockIds, blockId);
      } else if (capCodes.has(code)) {
        u.capped = true;
        inc(result.refusalsBy, code);
      } else {
        inc(result.refusalsBy, code);
      }
    },
    verified(now: number) {
      if (now >= from) result.verified++;
    },
    verifyFailed(now: number, code: string) {
      if (now >= from) inc(result.refusalsBy, `verify:${code}`);
    },
    async finish(deps: Deps): Promise<LegitResult> {
      for (const [id, u] of users) {
        const country = plan.users[id]!.country;
        const c = (result.perCountry[country] ??= { users: 0, refused: 0, capped: 0 });
        c.users++;
        result.users++;
        if (u.refused) {
          c.refused++;
          result.refusedUsers++;
        }
        if (u.capped) {
          c.capped++;
          result.cappedUsers++;
        }
      }
      result.sessions = sessions.size;
      for (const refused of sessions.values()) if (refused) result.refusedSessions++;
      const ids = Object.keys(blockIds);
      if (ids.length > 0) {
        const rows = await deps.store.db.selectFrom('fraud_decisions').select(['id', 'key']).where('id', 'in', ids).execute();
        for (const r of rows) inc(result.refusalsByKey, r.key, blockIds[r.id]);
      }
      return result;
    },
  };
}

type Recorder = ReturnType<typeof legitRecorder>;

function errorInfo(err: unknown): { code: string; rule: string | undefined; blockId: string | undefined; until: number | undefined; ipCap: boolean } {
  if (!isAppError(err)) throw err;
  const extra = err.extra ?? {};
  const until = typeof extra['blocked_until'] === 'string' ? Date.parse(extra['blocked_until']) : undefined;
  return {
    code: err.code,
    rule: typeof extra['rule'] === 'string' ? extra['rule'] : undefined,
    blockId: typeof extra['block_id'] === 'string' ? extra['block_id'] : undefined,
    until,
    ipCap: err.code === 'otp.rate_limited' && err.message.includes('client IP'),
  };
}

/** The passcode of a message, from its sealed body (what the phone would show). */
async function codeOf(deps: Deps, tenantId: string, messageId: string): Promise<string> {
  const m = await findMessage(deps.store.db, tenantId, messageId);
  if (!m || m.body_sealed === null) throw new Error(`message ${messageId} not found`);
  const text = deps.secretBox.open(m.body_sealed, m.id);
  const code = /\d{4,10}/.exec(text)?.[0];
  if (!code) throw new Error('no code in the message');
  return code;
}

/** Codes sent and verified per country from `from` on, as the guard counted them (guard configuration only). */
async function conversionSince(deps: Deps, tenantId: string, from: number): Promise<Record<string, { sent: number; verified: number }>> {
  const rows = await deps.store.db
    .selectFrom('fraud_counters')
    .select(['key', 'sent', 'verified'])
    .where('tenant_id', '=', tenantId)
    .where('key', 'like', 'c:%')
    .where('bucket', '>=', from)
    .execute();
  const out: Record<string, { sent: number; verified: number }> = {};
  for (const r of rows) {
    const c = (out[r.key.slice(2)] ??= { sent: 0, verified: 0 });
    c.sent += r.sent;
    c.verified += r.verified;
  }
  return out;
}

async function blocksSince(deps: Deps, tenantId: string, from: number, to: number): Promise<Record<string, number>> {
  const rows = await deps.store.db
    .selectFrom('fraud_decisions')
    .select(['rule'])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .execute();
  const out: Record<string, number> = {};
  for (const r of rows) inc(out, r.rule);
  return out;
}

/** FRAUD_SIM_DEBUG=n: the first n decisions of each scenario on stderr, with their reasons. */
async function printDecisions(deps: Deps, tenantId: string, from: number, n: number): Promise<void> {
  const rows = await deps.store.db
    .selectFrom('fraud_decisions')
    .select(['created_at', 'expires_at', 'rule', 'key', 'reason', 'level'])
    .where('tenant_id', '=', tenantId)
    .where('created_at', '>=', from)
    .orderBy('created_at')
    .limit(n)
    .execute();
  for (const r of rows) {
    const day = Math.floor((r.created_at - SIM_START) / DAY);
    const at = new Date(r.created_at).toISOString().slice(11, 16);
    process.stderr.write(`day ${day} ${at} ${r.rule} ${r.key} L${r.level} ${Math.round((r.expires_at - r.created_at) / MIN)} min: ${r.reason}\n`);
  }
}

/** Runs the events of `state` up to `until` (exclusive). */
async function runUntil(w: World, plan: LegitPlan, state: SimState, until: number, rec: Recorder, attack?: { attacker: Attacker; fraud: FraudResult }): Promise<void> {
  const { deps, clock, tenant } = w;
  const q = state.queue;
  for (;;) {
    const ev = peek(q);
    if (!ev || ev.at >= until) return;
    pop(q);
    clock.set(ev.at);
    if (ev.type === 'session') await sessionStep(ev.id, ev.at);
    else if (ev.type === 'attack' && attack) await attackStep(attack.attacker, attack.fraud, ev.at);
    else if (ev.type === 'attack_verify' && attack) {
      try {
        await deps.otp.verify(tenant, { challenge_id: ev.challengeId, code: await codeOf(deps, tenant.id, ev.messageId) });
        attack.fraud.verified++;
      } catch (err) {
        errorInfo(err);
      }
    }
  }

  async function sessionStep(id: number, now: number): Promise<void> {
    const p = plan.sessions[id]!;
    const st = (state.sessions[id] ??= { step: 0, retried: false, challengeId: null, messageId: null });
    const step = p.steps[st.step]!;
    if (step.action === 'verify') {
      if (st.challengeId && st.messageId) {
        try {
          await deps.otp.verify(tenant, { challenge_id: st.challengeId, code: await codeOf(deps, tenant.id, st.messageId) });
          rec.verified(now);
        } catch (err) {
          rec.verifyFailed(now, errorInfo(err).code);
        }
      }
      return advance();
    }
    const phone = step.action === 'send' ? p.phone : p.wrong!;
    rec.attempt(id, p.user, now);
    try {
      const r = await deps.otp.send(tenant, { phone_number: phone, client_ip: p.ip, purpose: 'login' });
      if (step.action === 'send') {
        st.challengeId = r.body.challenge_id;
        st.messageId = r.body.message_id;
      }
    } catch (err) {
      const e = errorInfo(err);
      rec.refused(id, p.user, now, e.code, e.rule, e.blockId);
      if (guardCodes.has(e.code)) {
        // A refused user tries once more ten minutes later, then gives up.
        if (!st.retried) {
          st.retried = true;
          push(q, { at: now + 10 * MIN, type: 'session', id });
        } else {
          delete state.sessions[id];
        }
        return;
      }
    }
    return advance();

    function advance(): void {
      st.step++;
      const next = p.steps[st.step];
      if (next) push(q, { at: now + next.delay, type: 'session', id });
      else delete state.sessions[id];
    }
  }

  async function attackStep(attacker: Attacker, fraud: FraudResult, now: number): Promise<void> {
    const a: Attempt = attacker.next(now);
    const price = prices[a.country] ?? prices['default']!;
    fraud.attempts++;
    fraud.attemptCost += price;
    if (!fraud.countries.includes(a.country)) fraud.countries.push(a.country);
    try {
      const r = await deps.otp.send(tenant, { phone_number: a.phone, client_ip: a.ip, purpose: 'login' });
      const m = await findMessage(deps.store.db, tenant.id, r.body.message_id!);
      const segments = m?.segments ?? 1;
      fraud.accepted++;
      fraud.acceptedCost += price * segments;
      // A multi-segment message would cost more than the one segment counted as attempted.
      fraud.attemptCost += price * (segments - 1);
      if (attacker.wantsVerify()) {
        push(q, { at: now + attacker.verifyDelay(), type: 'attack_verify', challengeId: r.body.challenge_id, messageId: r.body.message_id! });
      }
    } catch (err) {
      const e = errorInfo(err);
      inc(fraud.refusalsBy, e.rule ?? e.code);
      const minutes = (now - attacker.start) / MIN;
      if (fraud.firstRefusalMin === null) fraud.firstRefusalMin = minutes;
      if (e.code === 'fraud.blocked' && fraud.firstBlockMin === null) fraud.firstBlockMin = minutes;
      if (e.code === 'fraud.blocked') attacker.refused(a, kindOfRule(e.rule), e.until ?? now);
      else if (e.ipCap) attacker.refused(a, 'ip', now + 10 * MIN);
    }
  }
}

export async function runJob(input: JobInput): Promise<JobResult> {
  const plan = planLegit(input.seed, input.volume);
  const dir = mkdtempSync(join(tmpdir(), 'otpgate-fraud-sim-'));
  const scoredFrom = SIM_START + WARMUP_DAYS * DAY;
  const end = SIM_START + DAYS * DAY + HOUR;
  const scoredGuard = input.configuration === 'guard' ? { ...input.fraudGuard, mode: 'enforce' } : { mode: 'off' };
  const settings: Record<string, unknown> = {
    app_name: 'Sim',
    sms_prices: prices,
    fraud_guard: input.configuration === 'guard' ? { ...input.fraudGuard, mode: input.warmupMode } : { mode: 'off' },
  };
  try {
    const warmFile = join(dir, 'warm.db');
    let started = performance.now();
    const w = await openWorld(warmFile, dir, SIM_START, { settings });
    const tenantId = w.tenant.id;
    const state: SimState = { queue: emptyQueue(), sessions: {} };
    for (const s of plan.sessions) push(state.queue, { at: s.start, type: 'session', id: s.id });
    const warmRec = legitRecorder(plan, SIM_START);
    await runUntil(w, plan, state, scoredFrom, warmRec);
    const warmup = { legit: await warmRec.finish(w.deps), blocksBy: await blocksSince(w.deps, tenantId, SIM_START, scoredFrom), seconds: (performance.now() - started) / 1000 };
    await w.deps.store.close();
    if (existsSync(`${warmFile}-wal`)) throw new Error('the warm-up database was not checkpointed on close');

    const scenarios: ScenarioResult[] = [];
    for (const scenario of input.scenarios) {
      started = performance.now();
      const file = join(dir, `${scenario}.db`);
      copyFileSync(warmFile, file);
      const sw = await openWorld(file, dir, scoredFrom, { id: tenantId, fraudGuard: scoredGuard });
      const s: SimState = structuredClone(state);
      const rec = legitRecorder(plan, scoredFrom);
      let attack: { attacker: Attacker; fraud: FraudResult } | undefined;
      if (scenario !== 'none') {
        const attacker = createAttacker(attacks[scenario], input.seed, plan, sw.tenant.settings.fraud_guard.prefix_digits);
        attack = { attacker, fraud: { attempts: 0, accepted: 0, acceptedCost: 0, attemptCost: 0, firstBlockMin: null, firstRefusalMin: null, refusalsBy: {}, verified: 0, countries: [] } };
        attacker.times.forEach((at, index) => push(s.queue, { at, type: 'attack', index }));
      }
      await runUntil(sw, plan, s, end, rec, attack);
      scenarios.push({
        scenario,
        legit: await rec.finish(sw.deps),
        fraud: attack?.fraud ?? null,
        blocksBy: await blocksSince(sw.deps, tenantId, scoredFrom, end),
        conversion: await conversionSince(sw.deps, tenantId, scoredFrom),
        seconds: (performance.now() - started) / 1000,
      });
      if (process.env['FRAUD_SIM_DEBUG']) await printDecisions(sw.deps, tenantId, scoredFrom, Number(process.env['FRAUD_SIM_DEBUG']));
      await sw.deps.store.close();
      rmSync(file, { force: true });
      rmSync(`${file}-wal`, { force: true });
      rmSync(`${file}-shm`, { force: true });
    }
    return { seed: input.seed, configuration: input.configuration, warmup, scenarios };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

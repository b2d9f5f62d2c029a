import { hashPhone } from '../crypto/hmac.js';
import { normalizePhone } from '../domain/phone.js';
import { AppError } from '../errors/app-error.js';
import { emptyWriteAheadLog } from '../store/empty-log.js';
import {
  attemptsOfMessages,
  auditMentioning,
  challengesOfPhone,
  decisionsOfKeys,
  deleteIdempotencyKeys,
  deleteInboxItems,
  eraseAttempts,
  eraseChallenges,
  eraseMessages,
  eraseVerifications,
  eventDeliveriesMentioning,
  eventEndpointIds,
  idempotencyMentioning,
  inboxByIds,
  messagesByIds,
  phonesPage,
  rewriteAudit,
  rewriteEventDelivery,
  rewriteNumberDecision,
  verificationsOfPhone,
} from '../store/queries/phone-data.js';
import { findTenant } from '../store/queries/tenants.js';
import { phoneWindowKey, type SendLimiter } from '../store/send-limits.js';
import type { AuditService } from './audit-service.js';
import type { Actor, ServiceContext } from './context.js';
import { replaceNumber } from './phone-hashing.js';
import type { ActiveTenant, TenantService } from './tenant-service.js';
import { letRequestsIn } from '../store/let-requests-in.js';

/** What replaces the number where it stood inside text (audit details, block reasons). */
const ERASED_TEXT = '[erased]';
/** The audit actions of this service. */
const ownActions: ReadonlySet<string> = new Set(['phone.exported', 'phone.erased']);
/** Messages read per page of the walk for a number: a few milliseconds of SQLite each. */
const SCAN_PAGE = 5000;
/** Ids changed per write unit: one unit never holds the writer for long. */
const ERASE_BATCH = 500;

/** The tables an export reads and an erasure changes, in the order of the answers. */
export const phoneDataTables = [
  'challenges',
  'verifications',
  'messages',
  'message_attempts',
  'inbox_messages',
  'idempotency_keys',
  'audit_log',
  'fraud_decisions',
  'event_deliveries',
  'tenant_settings',
] as const;
export type PhoneDataTable = (typeof phoneDataTables)[number];

export interface PhoneExport {
  phone_number: string;
  tenant_id: string;
  generated_at: string;
  /** Rows per table; a table with nothing about the number has an empty list. */
  data: Record<PhoneDataTable, Array<Record<string, unknown>>>;
  total_rows: number;
}

export interface PhoneErasure {
  /** Rows deleted or anonymised per table (0 everywhere when there was nothing, or on a repeat). */
  erased: Record<PhoneDataTable, number>;
  total_rows: number;
}

/** Times (`*_at` ms columns) as ISO strings, JSON columns parsed; everything else as stored. */
function view(row: Record<string, unknown>, json: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (k.endsWith('_at') && v !== null && v !== undefined) out[k] = new Date(Number(v)).toISOString();
    else if (json.includes(k) && typeof v === 'string') out[k] = parseJson(v);
    else out[k] = v;
  }
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** True when `text` holds `e164` as a whole number (not the start of a longer one). */
function mentions(text: string | null, e164: string): boolean {
  return text !== null && replaceNumber(text, e164, '') !== text;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Per-number export (an access request) and erasure (docs/data-lifecycle.md), always within
 * one tenant. A number is matched in clear and as the keyed hash that replaces it after
 * OTPGATE_PHONE_RETENTION_DAYS (under every configured secret key, so rows hashed before a key
 * rotation are found too). Exports never hold a code, an HMAC, a sealed body or a secret.
 */
export function createPhoneDataService(
  ctx: ServiceContext & { phoneKeys: readonly Buffer[] },
  /** `limiter`: the hourly caps in Redis, whose window of the number's sends is keyed by it. */
  deps: { audit: AuditService; tenants: Pick<TenantService, 'update'>; limiter?: Pick<SendLimiter, 'forget'> },
) {
  function parse(input: unknown): string {
    const n = normalizePhone(input);
    if (!n.ok) throw new AppError('phone.invalid', n.reason, { issues: [{ path: 'phone_number', message: n.reason }] });
    return n.e164;
  }

  /** The number and its hashes under each key, the active one first. */
  const forms = (tenantId: string, e164: string): string[] => [e164, ...ctx.phoneKeys.map((k) => hashPhone(k, tenantId, e164))];

  /** Which of the tenant's own settings name the number (test numbers, the fraud guard's safe list). */
  async function settingsMentions(tenantId: string, e164: string) {
    const row = await findTenant(ctx.store.db, tenantId);
    const stored = (row ? JSON.parse(row.settings) : {}) as { test_numbers?: Array<{ phone_number: string; code: string }>; fraud_guard?: { safe_list?: string[] } & Record<string, unknown> };
    return {
      stored,
      testNumber: (stored.test_numbers ?? []).some((t) => t.phone_number === e164),
      safeList: (stored.fraud_guard?.safe_list ?? []).includes(e164),
    };
  }

  /** Ids of the tenant's messages (or Inbox items) to any of `phones`, oldest first: a paged walk (see phonesPage). */
  async function idsOfPhone(table: 'messages' | 'inbox_messages', tenantId: string, phones: readonly string[]): Promise<string[]> {
    const wanted = new Set(phones);
    const found = await inWindows(async (before) => {
      const page = await phonesPage(ctx.store.db, table, tenantId, before, SCAN_PAGE);
      return { rows: page.filter((m) => wanted.has(m.to_phone)).map((m) => m.id), last: page.length < SCAN_PAGE ? undefined : page[page.length - 1]!.id };
    });
    return found.reverse();
  }

  /**
   * Every row `read` finds, window after window of the table (each read looks at SCAN_PAGE rows
   * whatever it finds; `last` is where the next goes on, in the read's own order); requests get
   * in between, as on SQLite each read runs on this thread.
   */
  async function inWindows<R>(read: (after: string | undefined) => Promise<{ rows: R[]; last: string | undefined }>): Promise<R[]> {
    const out: R[] = [];
    let after: string | undefined;
    for (;;) {
      const { rows, last } = await read(after);
      out.push(...rows);
      if (last === undefined) return out;
      after = last;
      await letRequestsIn();
    }
  }

  /** Reads every row about the number (the erasure acts on exactly these). */
  async function collect(tenantId: string, e164: string) {
    const db = ctx.store.db;
    const phones = forms(tenantId, e164);
    const challenges = await challengesOfPhone(db, tenantId, phones);
    const verificationIds = [...new Set(challenges.map((c) => c.verification_id).filter((v): v is string => typeof v === 'string'))];
    const verifications = (await Promise.all(chunks(verificationIds, ERASE_BATCH).map((ids) => verificationsOfPhone(db, tenantId, phones, ids)))).flat();
    const messages = (await Promise.all(chunks(await idsOfPhone('messages', tenantId, phones), ERASE_BATCH).map((ids) => messagesByIds(db, tenantId, ids)))).flat();
    const attempts = (await Promise.all(chunks(messages.map((m) => m.id), ERASE_BATCH).map((ids) => attemptsOfMessages(db, tenantId, ids)))).flat();
    const inbox = (await Promise.all(chunks(await idsOfPhone('inbox_messages', tenantId, phones), ERASE_BATCH).map((ids) => inboxByIds(db, tenantId, ids)))).flat();
    const idempotency = (await inWindows((after) => idempotencyMentioning(db, tenantId, e164, after, SCAN_PAGE))).filter((r) => mentions(r.response, e164));
    const audit = (await inWindows((after) => auditMentioning(db, tenantId, phones, after, SCAN_PAGE))).filter((r) => phones.some((p) => mentions(r.details, p) || mentions(r.target, p)));
    const decisions = await decisionsOfKeys(db, tenantId, phones.map((p) => `n:${p}`));
    // Events name a number in a fraud.blocked key or a provider's error text (message.failed).
    const events: Awaited<ReturnType<typeof eventDeliveriesMentioning>>['rows'] = [];
    for (const endpointId of await eventEndpointIds(db, tenantId)) {
      events.push(...(await inWindows((after) => eventDeliveriesMentioning(db, tenantId, endpointId, e164, after, SCAN_PAGE))).filter((r) => mentions(r.payload, e164) || mentions(r.last_error, e164)));
    }
    events.sort((a, b) => (a.id < b.id ? -1 : 1));
    const settings = await settingsMentions(tenantId, e164);
    return { phones, challenges, verifications, messages, attempts, inbox, idempotency, audit, decisions, events, settings };
  }

  return {
    /** Normalises a number or throws 400 `phone.invalid`. */
    parse,

    /** Everything stored about the number in the tenant; audited (with the number's hash, never the number). */
    async export(tenant: ActiveTenant, phoneInput: unknown, actor: Actor): Promise<PhoneExport> {
      const e164 = parse(phoneInput);
      const c = await collect(tenant.id, e164);
      const settings: Array<Record<string, unknown>> = [];
      if (c.settings.testNumber) settings.push({ setting: 'test_numbers', phone_number: e164 });
      if (c.settings.safeList) settings.push({ setting: 'fraud_guard.safe_list', phone_number: e164 });
      const data: PhoneExport['data'] = {
        challenges: c.challenges.map((r) => view(r)),
        verifications: c.verifications.map((r) => view(r)),
        messages: c.messages.map((r) => view(r)),
        message_attempts: c.attempts.map((r) => view(r)),
        inbox_messages: c.inbox.map((r) => view(r)),
        idempotency_keys: c.idempotency.map((r) => view(r, ['response'])),
        audit_log: c.audit.map((r) => view(r, ['details'])),
        fraud_decisions: c.decisions.map((r) => view(r, ['figures'])),
        event_deliveries: c.events.map((r) => view(r, ['payload'])),
        tenant_settings: settings,
      };
      const total = Object.values(data).reduce((n, rows) => n + rows.length, 0);
      await ctx.store.writes.write((trx) =>
        deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'phone.exported', target: c.phones[1] ?? null, details: { rows: total } }),
      );
      return { phone_number: e164, tenant_id: tenant.id, generated_at: new Date(ctx.clock.now()).toISOString(), data, total_rows: total };
    },

    /**
     * Deletes or anonymises every row about the number in the tenant, in bounded write units:
     * rows that count in the stats keep their status, times and counts and lose the number,
     * bodies, IPs and provider error texts; inbox items and idempotent answers are deleted; the
     * number is taken out of the tenant's test numbers and safe list. Repeating it changes
     * nothing and reports 0 rows. Audited with the number's hash.
     */
    async erase(tenant: ActiveTenant, phoneInput: unknown, actor: Actor): Promise<PhoneErasure> {
      const e164 = parse(phoneInput);
      const c = await collect(tenant.id, e164);
      const erased: PhoneErasure['erased'] = Object.fromEntries(phoneDataTables.map((t) => [t, 0])) as PhoneErasure['erased'];
      const write = ctx.store.writes.write.bind(ctx.store.writes);
      const now = () => ctx.clock.now();

      // Settings first: their change is audited in clear-free form, and the older audit
      // entries that named the number are rewritten below.
      if (c.settings.testNumber || c.settings.safeList) {
        const patch: Record<string, unknown> = {};
        if (c.settings.testNumber) patch.test_numbers = (c.settings.stored.test_numbers ?? []).filter((t) => t.phone_number !== e164);
        if (c.settings.safeList) patch.fraud_guard = { ...c.settings.stored.fraud_guard, safe_list: (c.settings.stored.fraud_guard?.safe_list ?? []).filter((p) => p !== e164) };
        await deps.tenants.update(tenant.id, { settings: patch }, actor);
        erased.tenant_settings = Number(c.settings.testNumber) + Number(c.settings.safeList);
      }
      for (const ids of chunks(c.challenges.map((r) => r.id), ERASE_BATCH)) erased.challenges += await write((trx) => eraseChallenges(trx, tenant.id, ids));
      for (const ids of chunks(c.verifications.map((r) => r.id), ERASE_BATCH)) erased.verifications += await write((trx) => eraseVerifications(trx, tenant.id, ids));
      for (const ids of chunks(c.messages.map((r) => r.id), ERASE_BATCH)) {
        const [m, a] = await write(async (trx) => [await eraseMessages(trx, tenant.id, ids, now()), await eraseAttempts(trx, tenant.id, ids)]);
        erased.messages += m;
        erased.message_attempts += a;
      }
      for (const ids of chunks(c.inbox.map((r) => r.id), ERASE_BATCH)) erased.inbox_messages += await write((trx) => deleteInboxItems(trx, tenant.id, ids));
      for (const keys of chunks(c.idempotency.map((r) => r.key), ERASE_BATCH)) erased.idempotency_keys += await write((trx) => deleteIdempotencyKeys(trx, tenant.id, keys));
      // The entries of earlier exports and erasures name only the hash: they are the record
      // that the request was answered, and rewriting them would make a repeat count again.
      for (const batch of chunks(c.audit.filter((r) => !ownActions.has(r.action)), ERASE_BATCH)) {
        erased.audit_log += await write(async (trx) => {
          let n = 0;
          for (const r of batch) {
            let { target, details } = r;
            for (const p of c.phones) {
              details = replaceNumber(details, p, ERASED_TEXT);
              target = target === null ? null : replaceNumber(target, p, ERASED_TEXT);
            }
            n += await rewriteAudit(trx, tenant.id, r.id, { target, details });
          }
          return n;
        });
      }
      for (const batch of chunks(c.decisions, ERASE_BATCH)) {
        erased.fraud_decisions += await write(async (trx) => {
          let n = 0;
          for (const r of batch) {
            let { reason, figures } = r;
            for (const p of c.phones) {
              reason = replaceNumber(reason, p, ERASED_TEXT);
              figures = replaceNumber(figures, p, ERASED_TEXT);
            }
            // An erased number's blocks no longer match any send (the key names no number).
            n += await rewriteNumberDecision(trx, tenant.id, r.id, { key: `n:${ERASED_TEXT}`, reason, figures });
          }
          return n;
        });
      }
      for (const batch of chunks(c.events, ERASE_BATCH)) {
        erased.event_deliveries += await write(async (trx) => {
          let n = 0;
          for (const r of batch) {
            const payload = replaceNumber(r.payload, e164, ERASED_TEXT);
            const lastError = r.last_error === null ? null : replaceNumber(r.last_error, e164, ERASED_TEXT);
            n += await rewriteEventDelivery(trx, tenant.id, r.id, { payload, last_error: lastError });
          }
          return n;
        });
      }
      const total = Object.values(erased).reduce((n, v) => n + v, 0);
      await write((trx) => deps.audit.record(trx, { tenantId: tenant.id, actor, action: 'phone.erased', target: c.phones[1] ?? null, details: { rows: erased, total_rows: total } }));
      // Old copies of the changed pages stay in SQLite's log until it is emptied (a repeat,
      // which changes nothing, empties it too).
      await emptyWriteAheadLog(ctx.store, ctx.logger, 'erasure');
      if (deps.limiter && !(await deps.limiter.forget([phoneWindowKey(tenant.id, e164)]))) {
        ctx.logger.warn({ tenant_id: tenant.id }, 'Redis did not answer: the erased number’s hourly send window stays there until it expires within the hour');
      }
      return { erased, total_rows: total };
    },
  };
}

export type PhoneDataService = ReturnType<typeof createPhoneDataService>;

import { idFloor, newId } from '../domain/ids.js';
import { normalizePhone } from '../domain/phone.js';
import { analyzeSms } from '../domain/encoding.js';
import { validateTemplate } from '../domain/template.js';
import { AppError } from '../errors/app-error.js';
import { insertInboxMessage, listInboxMessages, listInboxMessagesOfPhone } from '../store/queries/inbox.js';
import { findMessage, insertMessage, listAttempts, listMessagesIn, messageIdRange, type MessageFilter } from '../store/queries/messages.js';
import type { InboxMessage, Message, MessageAttempt, NewMessage } from '../store/schema.js';
import type { InboxSink } from '../providers/types.js';
import type { Executor } from '../store/db.js';
import type { ServiceContext } from './context.js';
import type { ActiveTenant } from './tenant-service.js';
import { toPage, type Page } from './pagination.js';
import { letRequestsIn } from '../store/let-requests-in.js';

const msgFloor = (t: number) => idFloor('msg', t);

/** Event SMS (not passcodes) are tried for this long before they give up, ms. */
export const EVENT_MESSAGE_TTL_MS = 3_600_000;

export interface AttemptView {
  attempt: number;
  provider: string;
  slot: string;
  started_at: string;
  latency_ms: number;
  outcome: 'accepted' | 'failed';
  error_kind: string | null;
  provider_code: string | null;
  http_status: number | null;
  error_message: string | null;
  provider_message_id: string | null;
}

export interface MessageView {
  id: string;
  kind: Message['kind'];
  to: string;
  purpose: string | null;
  challenge_id: string | null;
  /** The text with any passcode replaced by `*`. */
  body: string;
  encoding: string;
  segments: number;
  status: Message['status'];
  attempts: number;
  provider: string | null;
  provider_message_id: string | null;
  error: { kind: string | null; code: string | null; message: string | null } | null;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
  delivered_at: string | null;
  next_attempt_at: string | null;
  attempt_log?: AttemptView[];
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function attemptView(a: MessageAttempt): AttemptView {
  return {
    attempt: a.attempt_no,
    provider: a.provider,
    slot: a.slot,
    started_at: new Date(a.started_at).toISOString(),
    latency_ms: a.latency_ms,
    outcome: a.outcome,
    error_kind: a.error_kind,
    provider_code: a.provider_code,
    http_status: a.http_status,
    error_message: a.error_message,
    provider_message_id: a.provider_message_id,
  };
}

export function messageView(m: Message, attempts?: MessageAttempt[]): MessageView {
  const v: MessageView = {
    id: m.id,
    kind: m.kind,
    to: m.to_phone,
    purpose: m.purpose,
    challenge_id: m.challenge_id,
    body: m.body_masked,
    encoding: m.encoding,
    segments: m.segments,
    status: m.status,
    attempts: m.attempts,
    provider: m.provider,
    provider_message_id: m.provider_message_id,
    error: m.error_kind || m.error_code || m.error_message ? { kind: m.error_kind, code: m.error_code, message: m.error_message } : null,
    created_at: new Date(m.created_at).toISOString(),
    updated_at: new Date(m.updated_at).toISOString(),
    sent_at: iso(m.sent_at),
    delivered_at: iso(m.delivered_at),
    next_attempt_at: m.status === 'queued' ? iso(m.next_attempt_at) : null,
  };
  if (attempts) v.attempt_log = attempts.map(attemptView);
  return v;
}

function groupAttempts(attempts: MessageAttempt[]): Map<string, MessageAttempt[]> {
  const byMessage = new Map<string, MessageAttempt[]>();
  for (const a of attempts) {
    const list = byMessage.get(a.message_id);
    if (list) list.push(a);
    else byMessage.set(a.message_id, [a]);
  }
  return byMessage;
}

/**
 * A message went through failover when its attempts used more than one provider or more than
 * one slot of the chain (a fallback of the same kind is still another account).
 */
export function isFailover(attempts: readonly Pick<MessageAttempt, 'provider' | 'slot'>[]): boolean {
  return new Set(attempts.map((a) => a.provider)).size > 1 || new Set(attempts.map((a) => a.slot)).size > 1;
}

const csvColumns = ['id', 'created_at', 'kind', 'purpose', 'to', 'status', 'provider', 'attempts', 'failover', 'providers_tried', 'segments', 'encoding', 'error_kind', 'error_code', 'error_message', 'sent_at', 'delivered_at', 'body'];

function csvRow(m: Message, attempts: MessageAttempt[]): (string | number | null)[] {
  return [
    m.id,
    iso(m.created_at),
    m.kind,
    m.purpose,
    m.to_phone,
    m.status,
    m.provider,
    m.attempts,
    isFailover(attempts) ? 'yes' : 'no',
    [...new Set(attempts.map((a) => a.provider))].join(' '),
    m.segments,
    m.encoding,
    m.error_kind,
    m.error_code,
    m.error_message,
    iso(m.sent_at),
    iso(m.delivered_at),
    m.body_masked,
  ];
}

/**
 * One CSV cell (RFC 4180). A cell a spreadsheet would read as a formula (starting with = + - @,
 * tab or CR) gets a leading `'`, so a crafted message text or error cannot run as one.
 */
export function csvCell(v: string | number | null): string {
  if (v === null) return '';
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csvLine(cells: readonly (string | number | null)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

/**
 * A new outbox row, queued and due now: the one place the dispatch state of a fresh message
 * is spelled out. `text` is sealed with the message id as AAD; `masked` goes to the log.
 */
export function newOutboxRow(
  secretBox: ServiceContext['secretBox'],
  m: { id: string; tenantId: string; kind: NewMessage['kind']; challengeId: string | null; purpose: string | null; to: string; text: string; masked: string; senderId: string | null; now: number; expiresAt: number },
): NewMessage {
  const analysis = analyzeSms(m.text);
  return {
    id: m.id,
    tenant_id: m.tenantId,
    kind: m.kind,
    challenge_id: m.challengeId,
    purpose: m.purpose,
    to_phone: m.to,
    body_sealed: secretBox.seal(m.text, m.id),
    body_masked: m.masked,
    sender_id: m.senderId,
    encoding: analysis.encoding,
    segments: analysis.segments,
    status: 'queued',
    attempts: 0,
    chain_index: 0,
    chain_attempts: 0,
    next_attempt_at: m.now,
    lease_until: null,
    lease_owner: null,
    expires_at: m.expiresAt,
    provider: null,
    provider_message_id: null,
    error_kind: null,
    error_code: null,
    error_message: null,
    created_at: m.now,
    updated_at: m.now,
    sent_at: null,
    delivered_at: null,
  };
}

/** `{{ name }}` in an event template; group 1 is the trimmed name (as src/domain/template.ts reads it). */
const eventPlaceholder = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Renders an event SMS template: each `{{name}}` is replaced by its value in `vars` (the
 * request's `variables` over the built-ins `app_name` and `ttl_minutes`). A name without a
 * value is refused (`template.invalid`, 422, its names in `unknown_variables`), never
 * rendered as an empty string: a misspelt variable would otherwise go out as a gap in the SMS.
 * The template's shape is checked as a passcode template's is, except that `{{code}}` is not
 * required (an event SMS carries no passcode, and `{{code}}` has no value unless given).
 */
function renderEventTemplate(template: string, vars: Readonly<Record<string, string>>): string {
  const has = (name: string) => Object.hasOwn(vars, name);
  const unknown = [...new Set([...template.matchAll(eventPlaceholder)].map((m) => m[1] ?? '').filter((name) => name !== '' && !has(name)))];
  // Shape problems only: which variables exist is decided here, against `vars`.
  const problems = validateTemplate(template).filter((p) => p !== 'template must contain {{code}}' && !p.startsWith('template uses unknown variable'));
  for (const name of unknown) problems.push(`template uses {{${name}}} but variables has no "${name}" (nor is it one of app_name, ttl_minutes)`);
  if (problems.length > 0) {
    throw new AppError('template.invalid', problems.join(' '), {
      issues: problems.map((message) => ({ path: 'template', message })),
      ...(unknown.length > 0 ? { extra: { unknown_variables: unknown } } : {}),
    });
  }
  return template.replace(eventPlaceholder, (_m, name: string) => vars[name] ?? '');
}

export function createMessageService(
  ctx: ServiceContext,
  deps: {
    onEnqueued: () => void;
    /** Charges a message to the tenant's budgets inside its transaction (src/services/fraud-guard.ts); throws `budget.exhausted`. */
    chargeBudgets?: (trx: Executor, tenant: ActiveTenant, country: string | undefined, segments: number) => Promise<number>;
  },
) {
  const { store, clock, secretBox } = ctx;

  /** Builds an outbox row for a non-passcode message. */
  function outboxRow(tenant: ActiveTenant, kind: 'event' | 'test', to: string, text: string, ttlMs: number): NewMessage {
    const now = clock.now();
    return newOutboxRow(secretBox, { id: newId('msg'), tenantId: tenant.id, kind, challengeId: null, purpose: null, to, text, masked: text, senderId: tenant.settings.sender_id, now, expiresAt: now + ttlMs });
  }

  const inbox: InboxSink = {
    async capture(m) {
      const id = newId('inb');
      await store.writes.write((trx) => insertInboxMessage(trx, {
        id,
        tenant_id: m.tenantId,
        message_id: m.messageId,
        to_phone: m.to,
        body_sealed: secretBox.seal(m.body, id),
        created_at: clock.now(),
      }));
      return id;
    },
  };

  return {
    inbox,

    /** An event SMS through the same outbox: a literal body, or a template with variables. */
    async createEvent(tenant: ActiveTenant, input: { to: string; body?: string; template?: string; variables?: Record<string, string> }): Promise<MessageView> {
      const phone = normalizePhone(input.to);
      if (!phone.ok) throw new AppError('phone.invalid', phone.reason, { issues: [{ path: 'to', message: phone.reason }] });
      const s = tenant.settings;
      if (s.allowed_countries.length > 0 && (!phone.country || !s.allowed_countries.includes(phone.country))) {
        throw new AppError('phone.country_blocked', `This tenant does not send to ${phone.country ?? 'this country'}.`);
      }
      let text: string;
      if (input.template !== undefined) {
        text = renderEventTemplate(input.template, { app_name: s.app_name ?? tenant.name, ttl_minutes: String(Math.ceil(s.otp_ttl_seconds / 60)), ...input.variables });
      } else {
        text = input.body ?? '';
      }
      if (text.trim() === '') throw new AppError('request.invalid', 'The message is empty.', { issues: [{ path: 'body', message: 'must not be empty' }] });
      const analysis = analyzeSms(text);
      if (analysis.segments > 10) throw new AppError('request.invalid', `The message is ${analysis.segments} segments long; at most 10 are sent.`, { issues: [{ path: 'body', message: 'too long' }] });
      const row = outboxRow(tenant, 'event', phone.e164, text, EVENT_MESSAGE_TTL_MS);
      // An event SMS costs what a passcode does: it counts in (and is refused by) the budgets.
      await store.writes.write(async (trx) => {
        await insertMessage(trx, row);
        await deps.chargeBudgets?.(trx, tenant, phone.country, analysis.segments);
      });
      deps.onEnqueued();
      return messageView(row as Message);
    },

    outboxRow,

    async get(tenantId: string, id: string): Promise<MessageView> {
      const m = await findMessage(store.db, tenantId, id);
      if (!m) throw new AppError('message.not_found', 'There is no such message for this tenant.');
      return messageView(m, await listAttempts(store.db, [m.id]));
    },

    /**
     * The filtered log as CSV, newest first, read in pages of 500 so a large log is never held
     * in memory. Where a read holds the request thread (SQLite) also in windows
     * (listMessagesIn), so that no read walks the whole log at once; on PostgreSQL a page is
     * one statement, which walked a filter that matches nothing 5–14 times as fast as the
     * windows (docs/performance.md). Bodies are the masked ones: a passcode never appears.
     */
    async *csv(tenantId: string, filter: MessageFilter): AsyncGenerator<string> {
      yield csvLine(csvColumns);
      const range = await messageIdRange(store.db, tenantId, filter, msgFloor);
      if (range === null) return;
      for (;;) {
        const { rows, low } = await listMessagesIn(store.db, tenantId, filter, range, 500, store.capabilities.blockingReads);
        if (rows.length > 0) {
          const attempts = await listAttempts(store.db, rows.map((m) => m.id));
          const byMessage = groupAttempts(attempts);
          yield rows.map((m) => csvLine(csvRow(m, byMessage.get(m.id) ?? []))).join('');
        }
        if (rows.length === 500) range.below = rows[rows.length - 1]!.id;
        else if (low !== undefined) range.below = low;
        else return;
        await letRequestsIn();
      }
    },

    /**
     * A page of the filtered log. A filter on anything but time reads a window of the log per
     * page: a page may hold fewer than `limit` messages and still have a next cursor
     * (docs/operations.md, "The message log").
     */
    async list(tenantId: string, filter: MessageFilter, limit: number): Promise<Page<MessageView>> {
      const range = await messageIdRange(store.db, tenantId, filter, msgFloor);
      if (range === null) return { items: [], next_cursor: null };
      const { rows, low } = await listMessagesIn(store.db, tenantId, filter, range, limit + 1);
      const byMessage = groupAttempts(await listAttempts(store.db, rows.slice(0, limit).map((m) => m.id)));
      const page = toPage(rows, limit, (m) => messageView(m, byMessage.get(m.id) ?? []));
      return page.next_cursor === null && low !== undefined ? { ...page, next_cursor: low } : page;
    },

    /** Messages the Inbox provider captured; with the code (this is the developer's own phone). */
    async listInbox(tenantId: string, phone: string | undefined, limit: number, cursor?: string) {
      const item = (r: InboxMessage) => ({
        id: r.id,
        message_id: r.message_id,
        to: r.to_phone,
        body: secretBox.open(r.body_sealed, r.id),
        created_at: new Date(r.created_at).toISOString(),
      });
      if (phone === undefined) return toPage(await listInboxMessages(store.db, tenantId, limit + 1, cursor), limit, item);
      const n = normalizePhone(phone);
      if (!n.ok) throw new AppError('phone.invalid', n.reason, { issues: [{ path: 'phone_number', message: n.reason }] });
      // A bounded window of the tenant's items per read: a page may hold fewer than `limit`
      // items and still have a next cursor (docs/providers.md, Inbox).
      const { rows, low } = await listInboxMessagesOfPhone(store.db, tenantId, n.e164, limit + 1, cursor);
      const page = toPage(rows, limit, item);
      return page.next_cursor === null && low !== undefined ? { ...page, next_cursor: low } : page;
    },
  };
}

export type MessageService = ReturnType<typeof createMessageService>;

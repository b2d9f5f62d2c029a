import { randomBytes } from 'node:crypto';
import { constantTimeEqual, sha256Hex } from '../crypto/hmac.js';
import { newId } from '../domain/ids.js';
import { DUMMY_PASSWORD_HASH, hashPassword, passwordProblem, verifyPassword } from '../domain/password.js';
import { isOperatorRole, OPERATOR_ROLES, type OperatorRole } from '../domain/roles.js';
import { matchTotp, newTotpSecret, otpauthUri } from '../domain/totp.js';
import { AppError } from '../errors/app-error.js';
import type { OperatorRow } from '../store/schema.js';
import {
  advanceTotpStep,
  clearThrottle,
  countActiveOwners,
  countOperators,
  deleteOperator,
  deleteSession,
  deleteSessionsOf,
  findOperator,
  findOperatorByEmail,
  findSession,
  findThrottle,
  insertOperator,
  insertSession,
  listOperators,
  purgeSessions,
  purgeThrottle,
  putThrottle,
  setOperatorTenants,
  tenantIdsOf,
  touchSession,
  updateOperator,
} from '../store/queries/operators.js';
import { findTenant } from '../store/queries/tenants.js';
import type { Executor } from '../store/db.js';
import type { AuditService } from './audit-service.js';
import type { Actor, OperatorActor, ServiceContext } from './context.js';
import { toPage, type Page } from './pagination.js';

/** Failed sign-ins allowed per account, and per client address, within THROTTLE_WINDOW_MS before a lock. */
export const THROTTLE_ACCOUNT_FAILURES = 5;
export const THROTTLE_IP_FAILURES = 20;
export const THROTTLE_WINDOW_MS = 15 * 60_000;
/** How long a lock lasts. */
export const THROTTLE_LOCK_MS = 15 * 60_000;
/** `last_seen_at` of a session is written at most this often: idle expiry is this precise. */
const SESSION_TOUCH_MS = 60_000;

export interface OperatorView {
  id: string;
  email: string;
  role: OperatorRole;
  /** The tenants of a `tenant_admin`; empty for every other role. */
  tenant_ids: string[];
  totp_enabled: boolean;
  has_password: boolean;
  disabled: boolean;
  created_at: string;
  updated_at: string;
  last_sign_in_at: string | null;
}

/** The operator behind a valid session cookie. */
export interface SessionPrincipal {
  sessionId: string;
  csrfToken: string;
  expiresAt: number;
  operator: OperatorView;
}

export interface OperatorInput {
  email: string;
  role: string;
  password?: string | undefined;
  tenant_ids?: string[] | undefined;
}

export interface OperatorPatch {
  role?: string | undefined;
  tenant_ids?: string[] | undefined;
  password?: string | undefined;
  disabled?: boolean | undefined;
  /** Turns the authenticator off (a lost phone); the operator sets it up again. */
  reset_totp?: boolean | undefined;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/;

export function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 254) throw new AppError('request.invalid', 'The email address is not valid.', { issues: [{ path: 'email', message: 'must be an email address' }] });
  return email;
}

function parseRole(raw: string): OperatorRole {
  if (!isOperatorRole(raw)) throw new AppError('operator.unknown_role', `Roles are ${OPERATOR_ROLES.join(', ')}.`, { extra: { roles: OPERATOR_ROLES } });
  return raw;
}

function checkPassword(password: string, email: string): void {
  const problem = passwordProblem(password, email);
  if (problem) throw new AppError('operator.weak_password', `The password ${problem}.`);
}

function toView(row: OperatorRow, tenantIds: readonly string[]): OperatorView {
  return {
    id: row.id,
    email: row.email,
    role: isOperatorRole(row.role) ? row.role : 'viewer',
    tenant_ids: row.role === 'tenant_admin' ? [...tenantIds] : [],
    totp_enabled: row.totp_secret_sealed !== null,
    has_password: row.password_hash !== null,
    disabled: row.disabled === 1,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
    last_sign_in_at: row.last_sign_in_at === null ? null : new Date(row.last_sign_in_at).toISOString(),
  };
}

export function createOperatorService(ctx: ServiceContext, deps: { audit: AuditService; sessionIdleMs: number; sessionMaxMs: number }) {
  const { audit, sessionIdleMs, sessionMaxMs } = deps;

  async function view(db: Executor, row: OperatorRow): Promise<OperatorView> {
    return toView(row, (await tenantIdsOf(db, [row.id])).get(row.id) ?? []);
  }

  async function mustFind(db: Executor, id: string): Promise<OperatorRow> {
    const row = await findOperator(db, id);
    if (!row) throw new AppError('operator.not_found', `There is no operator ${id}.`);
    return row;
  }

  /** Tenants fit the role: a tenant_admin has at least one (each existing), no other role has any. */
  async function checkTenants(db: Executor, role: OperatorRole, tenantIds: readonly string[]): Promise<string[]> {
    const ids = [...new Set(tenantIds)].sort();
    if (role === 'tenant_admin' && ids.length === 0) throw new AppError('operator.invalid_tenants', 'A tenant_admin needs at least one tenant in tenant_ids.');
    if (role !== 'tenant_admin' && ids.length > 0) throw new AppError('operator.invalid_tenants', `Only a tenant_admin has tenant_ids; a ${role} acts on every tenant.`);
    for (const id of ids) if (!(await findTenant(db, id))) throw new AppError('tenant.not_found', `There is no tenant ${id}.`);
    return ids;
  }

  async function recordFailure(key: string, limit: number, now: number): Promise<void> {
    const row = await findThrottle(ctx.store.db, key);
    const fresh = !row || row.window_start + THROTTLE_WINDOW_MS <= now;
    const failures = fresh ? 1 : row.failures + 1;
    const lockedUntil = failures >= limit ? now + THROTTLE_LOCK_MS : (row?.locked_until ?? null);
    await putThrottle(ctx.store.db, { key, failures, window_start: fresh ? now : row.window_start, locked_until: lockedUntil });
  }

  async function checkThrottle(keys: readonly string[], now: number): Promise<void> {
    for (const key of keys) {
      const row = await findThrottle(ctx.store.db, key);
      if (row?.locked_until && row.locked_until > now) {
        throw new AppError('auth.sign_in_throttled', 'Too many failed sign-ins; try again later.', { retryAfter: Math.ceil((row.locked_until - now) / 1000) });
      }
    }
  }

  function openTotp(row: OperatorRow, sealed: string): string {
    return ctx.secretBox.open(sealed, row.id);
  }

  /** A new session for `row`: the token is returned once, for the cookie; only its hash is kept. */
  async function openSession(trx: Executor, row: OperatorRow, now: number, details: Record<string, unknown>): Promise<{ token: string; session: SessionPrincipal }> {
    const token = randomBytes(32).toString('base64url');
    const sessionId = sha256Hex(token);
    const csrfToken = randomBytes(24).toString('base64url');
    const expiresAt = now + sessionMaxMs;
    const actor: OperatorActor = { type: 'operator', id: row.id, email: row.email };
    // Ended sessions and spent throttle rows go on each sign-in: both tables stay small.
    await purgeSessions(trx, now, sessionIdleMs);
    await purgeThrottle(trx, now, THROTTLE_WINDOW_MS);
    await insertSession(trx, { id: sessionId, operator_id: row.id, csrf_token: csrfToken, created_at: now, last_seen_at: now, expires_at: expiresAt });
    const updated = await updateOperator(trx, row.id, { last_sign_in_at: now });
    await audit.record(trx, { tenantId: null, actor, action: 'operator.signed_in', target: row.id, details });
    return { token, session: { sessionId, csrfToken, expiresAt, operator: await view(trx, updated!) } };
  }

  return {
    async count(): Promise<number> {
      return countOperators(ctx.store.db);
    },

    async create(input: OperatorInput, actor: Actor): Promise<OperatorView> {
      const email = normaliseEmail(input.email);
      const role = parseRole(input.role);
      if (input.password !== undefined) checkPassword(input.password, email);
      const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
      const now = ctx.clock.now();
      const row: OperatorRow = {
        id: newId('opr'),
        email,
        password_hash: passwordHash,
        role,
        totp_secret_sealed: null,
        totp_pending_sealed: null,
        totp_last_step: null,
        disabled: 0,
        created_at: now,
        updated_at: now,
        last_sign_in_at: null,
      };
      return ctx.store.db.transaction().execute(async (trx) => {
        const tenantIds = await checkTenants(trx, role, input.tenant_ids ?? []);
        if (await findOperatorByEmail(trx, email)) throw new AppError('operator.email_taken', `An operator with the email ${email} exists.`);
        await insertOperator(trx, row, tenantIds);
        await audit.record(trx, { tenantId: null, actor, action: 'operator.created', target: row.id, details: { email, role, tenant_ids: tenantIds } });
        return toView(row, tenantIds);
      });
    },

    async list(limit: number, cursor?: string): Promise<Page<OperatorView>> {
      const rows = await listOperators(ctx.store.db, limit + 1, cursor);
      const tenants = await tenantIdsOf(ctx.store.db, rows.map((r) => r.id));
      return toPage(rows, limit, (r) => toView(r, tenants.get(r.id) ?? []));
    },

    async get(id: string): Promise<OperatorView> {
      return view(ctx.store.db, await mustFind(ctx.store.db, id));
    },

    async getByEmail(rawEmail: string): Promise<OperatorView> {
      const email = normaliseEmail(rawEmail);
      const row = await findOperatorByEmail(ctx.store.db, email);
      if (!row) throw new AppError('operator.not_found', `There is no operator ${email}.`);
      return view(ctx.store.db, row);
    },

    async update(id: string, patch: OperatorPatch, actor: Actor): Promise<OperatorView> {
      const newRole = patch.role !== undefined ? parseRole(patch.role) : undefined;
      const current = await mustFind(ctx.store.db, id);
      if (patch.password !== undefined) checkPassword(patch.password, current.email);
      const passwordHash = patch.password !== undefined ? await hashPassword(patch.password) : undefined;
      return ctx.store.db.transaction().execute(async (trx) => {
        const row = await mustFind(trx, id);
        const role = newRole ?? (row.role as OperatorRole);
        const disabled = patch.disabled ?? row.disabled === 1;
        if (row.role === 'owner' && row.disabled === 0 && (role !== 'owner' || disabled) && (await countActiveOwners(trx, id)) === 0) {
          throw new AppError('operator.last_owner', 'This is the last active owner: make another operator owner first.');
        }
        const roleChanged = role !== row.role;
        let tenantIds = (await tenantIdsOf(trx, [id])).get(id) ?? [];
        if (patch.tenant_ids !== undefined || roleChanged) {
          tenantIds = await checkTenants(trx, role, patch.tenant_ids ?? (role === 'tenant_admin' ? tenantIds : []));
          await setOperatorTenants(trx, id, tenantIds);
        }
        const updated = await updateOperator(trx, id, {
          role,
          disabled: disabled ? 1 : 0,
          ...(passwordHash !== undefined ? { password_hash: passwordHash } : {}),
          ...(patch.reset_totp ? { totp_secret_sealed: null, totp_pending_sealed: null } : {}),
          updated_at: ctx.clock.now(),
        });
        // A new password, a lost authenticator or a disabled account: every open session ends.
        if (passwordHash !== undefined || patch.reset_totp || disabled) await deleteSessionsOf(trx, id);
        await audit.record(trx, {
          tenantId: null,
          actor,
          action: 'operator.updated',
          target: id,
          details: {
            ...(newRole !== undefined ? { role } : {}),
            ...(patch.tenant_ids !== undefined || roleChanged ? { tenant_ids: tenantIds } : {}),
            ...(patch.disabled !== undefined ? { disabled } : {}),
            ...(passwordHash !== undefined ? { password_changed: true } : {}),
            ...(patch.reset_totp ? { totp_reset: true } : {}),
          },
        });
        return toView(updated!, tenantIds);
      });
    },

    async remove(id: string, actor: Actor): Promise<void> {
      await ctx.store.db.transaction().execute(async (trx) => {
        const row = await mustFind(trx, id);
        if (row.role === 'owner' && row.disabled === 0 && (await countActiveOwners(trx, id)) === 0) {
          throw new AppError('operator.last_owner', 'This is the last active owner: make another operator owner first.');
        }
        await deleteSessionsOf(trx, id);
        await deleteOperator(trx, id);
        await audit.record(trx, { tenantId: null, actor, action: 'operator.deleted', target: id, details: { email: row.email } });
      });
    },

    /**
     * Checks email, password and (when the account has one) the authenticator code, under the
     * throttle; opens a session. The token is returned once, for the cookie; only its hash is kept.
     */
    async signIn(input: { email: string; password: string; totp?: string | undefined; ip: string }): Promise<{ token: string; session: SessionPrincipal }> {
      const now = ctx.clock.now();
      const email = input.email.trim().toLowerCase();
      const accountKey = `email:${email.slice(0, 254)}`;
      const ipKey = `ip:${input.ip}`;
      await checkThrottle([accountKey, ipKey], now);
      const fail = async (err: AppError): Promise<never> => {
        await recordFailure(accountKey, THROTTLE_ACCOUNT_FAILURES, now);
        await recordFailure(ipKey, THROTTLE_IP_FAILURES, now);
        throw err;
      };
      const row = await findOperatorByEmail(ctx.store.db, email);
      const passwordOk = await verifyPassword(input.password, row?.password_hash ?? DUMMY_PASSWORD_HASH);
      if (!row || !row.password_hash || !passwordOk || row.disabled === 1) return fail(new AppError('auth.invalid_credentials', 'The email or password is not correct.'));
      if (row.totp_secret_sealed !== null) {
        if (input.totp === undefined || input.totp === '') throw new AppError('auth.totp_required', 'Enter the 6-digit code from the authenticator app.');
        const step = matchTotp(openTotp(row, row.totp_secret_sealed), input.totp, now);
        if (step === undefined) return fail(new AppError('auth.totp_invalid'));
        if (!(await advanceTotpStep(ctx.store.db, row.id, step, now))) return fail(new AppError('auth.totp_reused'));
      }
      await clearThrottle(ctx.store.db, accountKey);
      return ctx.store.db.transaction().execute((trx) => openSession(trx, row, now, { ip: input.ip, second_factor: row.totp_secret_sealed !== null }));
    },

    /**
     * Single sign-on (src/services/sso-service.ts has checked the provider's answer): the
     * operator with this email, created with `newRole` when there is none, or given
     * `groupRole` when the provider's groups name one — except that the last active owner keeps
     * owner. A disabled operator is refused. Opens a session as `signIn` does.
     */
    async signInWithSso(input: { email: string; groupRole?: OperatorRole | undefined; newRole?: OperatorRole | undefined; ip: string; issuer: string }): Promise<{ token: string; session: SessionPrincipal }> {
      const email = normaliseEmail(input.email);
      const now = ctx.clock.now();
      const system = 'sso' as const;
      return ctx.store.db.transaction().execute(async (trx) => {
        let row = await findOperatorByEmail(trx, email);
        if (row?.disabled === 1) throw new AppError('auth.sso_not_allowed', 'This operator is disabled.');
        if (!row) {
          const role = input.groupRole ?? input.newRole;
          if (!role) throw new AppError('auth.sso_not_allowed', `There is no operator ${email}, and single sign-on gives no role to create one.`);
          row = { id: newId('opr'), email, password_hash: null, role, totp_secret_sealed: null, totp_pending_sealed: null, totp_last_step: null, disabled: 0, created_at: now, updated_at: now, last_sign_in_at: null };
          await insertOperator(trx, row, []);
          await audit.record(trx, { tenantId: null, actor: system, action: 'operator.created', target: row.id, details: { email, role, tenant_ids: [], via: 'sso', issuer: input.issuer } });
        } else if (input.groupRole && input.groupRole !== row.role) {
          const lastOwner = row.role === 'owner' && (await countActiveOwners(trx, row.id)) === 0;
          if (!lastOwner) {
            await setOperatorTenants(trx, row.id, []);
            row = (await updateOperator(trx, row.id, { role: input.groupRole, updated_at: now }))!;
            await audit.record(trx, { tenantId: null, actor: system, action: 'operator.updated', target: row.id, details: { role: input.groupRole, tenant_ids: [], via: 'sso' } });
          }
        }
        return openSession(trx, row, now, { ip: input.ip, second_factor: false, via: 'sso', issuer: input.issuer });
      });
    },

    /** The session a cookie's token names, or `auth.session_expired` when it has ended. */
    async authenticate(token: string): Promise<SessionPrincipal> {
      const now = ctx.clock.now();
      const id = sha256Hex(token);
      const s = await findSession(ctx.store.db, id);
      if (!s) throw new AppError('auth.session_expired', 'The session has ended; sign in again.');
      if (s.expires_at <= now || s.last_seen_at + sessionIdleMs <= now) {
        await deleteSession(ctx.store.db, id);
        throw new AppError('auth.session_expired', s.expires_at <= now ? 'The session reached its maximum length; sign in again.' : 'The session ended after a time without use; sign in again.');
      }
      const row = await findOperator(ctx.store.db, s.operator_id);
      if (!row || row.disabled === 1) throw new AppError('auth.session_expired', 'The operator is disabled; the session has ended.');
      if (now - s.last_seen_at >= SESSION_TOUCH_MS) await touchSession(ctx.store.db, id, now);
      return { sessionId: id, csrfToken: s.csrf_token, expiresAt: s.expires_at, operator: await view(ctx.store.db, row) };
    },

    /** True when `given` is the session's CSRF token. */
    csrfMatches(session: SessionPrincipal, given: string | undefined): boolean {
      return given !== undefined && constantTimeEqual(given, session.csrfToken);
    },

    async signOut(sessionId: string): Promise<void> {
      await deleteSession(ctx.store.db, sessionId);
    },

    /** Ends every session of the operator, on every device. */
    async signOutEverywhere(operatorId: string, actor: Actor): Promise<number> {
      return ctx.store.db.transaction().execute(async (trx) => {
        const n = await deleteSessionsOf(trx, operatorId);
        await audit.record(trx, { tenantId: null, actor, action: 'operator.signed_out_everywhere', target: operatorId, details: { sessions: n } });
        return n;
      });
    },

    /** A new authenticator secret, kept pending until `enableTotp` confirms a code from it. Returned once, for the QR code. */
    async setupTotp(operatorId: string): Promise<{ secret: string; otpauth_uri: string }> {
      const row = await mustFind(ctx.store.db, operatorId);
      if (row.totp_secret_sealed !== null) throw new AppError('auth.totp_already_enabled', 'Turn the authenticator off before setting up another.');
      const secret = newTotpSecret();
      await updateOperator(ctx.store.db, operatorId, { totp_pending_sealed: ctx.secretBox.seal(secret, operatorId), updated_at: ctx.clock.now() });
      return { secret, otpauth_uri: otpauthUri(secret, row.email) };
    },

    async enableTotp(operatorId: string, code: string, actor: Actor): Promise<OperatorView> {
      const now = ctx.clock.now();
      const row = await mustFind(ctx.store.db, operatorId);
      if (row.totp_secret_sealed !== null) throw new AppError('auth.totp_already_enabled');
      if (row.totp_pending_sealed === null) throw new AppError('auth.totp_not_set_up', 'Call POST /v1/auth/totp/setup first.');
      const step = matchTotp(openTotp(row, row.totp_pending_sealed), code, now);
      if (step === undefined) throw new AppError('auth.totp_invalid');
      return ctx.store.db.transaction().execute(async (trx) => {
        const updated = await updateOperator(trx, operatorId, { totp_secret_sealed: row.totp_pending_sealed, totp_pending_sealed: null, totp_last_step: step, updated_at: now });
        await audit.record(trx, { tenantId: null, actor, action: 'operator.totp_enabled', target: operatorId });
        return view(trx, updated!);
      });
    },

    async disableTotp(operatorId: string, code: string, actor: Actor): Promise<OperatorView> {
      const now = ctx.clock.now();
      const row = await mustFind(ctx.store.db, operatorId);
      if (row.totp_secret_sealed === null) throw new AppError('auth.totp_not_set_up', 'The authenticator is not turned on.');
      const step = matchTotp(openTotp(row, row.totp_secret_sealed), code, now);
      if (step === undefined) throw new AppError('auth.totp_invalid');
      return ctx.store.db.transaction().execute(async (trx) => {
        if (!(await advanceTotpStep(trx, operatorId, step, now))) throw new AppError('auth.totp_reused');
        const updated = await updateOperator(trx, operatorId, { totp_secret_sealed: null, totp_pending_sealed: null, updated_at: now });
        await audit.record(trx, { tenantId: null, actor, action: 'operator.totp_disabled', target: operatorId });
        return view(trx, updated!);
      });
    },
  };
}

export type OperatorService = ReturnType<typeof createOperatorService>;
